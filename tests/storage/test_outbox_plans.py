"""The sender's claim walks its indexes and stops after a batch, on both stores.

A plan, not a timing: with 25,000 queued rows PostgreSQL used to hash-join and sort every due row
(tens of milliseconds with fresh statistics, seconds with stale ones), so each claim cost about
as much as the whole queue. docs/benchmarks.md has the measured plans.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, insert, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import migrate, outbox
from bot.storage.db import create_engine, create_session_factory
from bot.storage.models import Broadcast, OutboxMessage, OutboxStatus

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
QUEUED = 3000  # per kind: enough for PostgreSQL to plan as it does for a real queue
HISTORY = 2  # sent rows per chat, which the claim must not read


def _row(
    chat_id: int, *, broadcast_id: int | None, status: str, due: datetime, source: str = ""
) -> dict[str, Any]:
    return {
        "chat_id": chat_id,
        "broadcast_id": broadcast_id,
        "source": source,
        "kind": "text",
        "text": "hello",
        "status": status,
        "attempts": 0,
        "next_attempt_at": due,
        "created_at": due,
    }


@pytest.fixture(params=["fresh", "stale"])
async def queued(
    request: pytest.FixtureRequest, database_url: str, database_schema: str | None
) -> AsyncIterator[AsyncEngine]:
    """A migrated database with some history, a personal queue and a broadcast queue; on
    PostgreSQL analysed after the queue was added ("fresh") or before it, when every row was
    sent ("stale", an outbox's usual state when a burst arrives)."""
    engine = create_engine(database_url, schema=database_schema)
    await migrate.upgrade(engine)
    analyse = engine.dialect.name == "postgresql"
    history = [
        _row(chat, broadcast_id=None, status=OutboxStatus.SENT, due=NOW - timedelta(days=1))
        for chat in range(1, QUEUED + 1)
        for _ in range(HISTORY)
    ]
    async with engine.begin() as conn:
        await conn.execute(insert(OutboxMessage), history)
        if analyse:
            await conn.execute(text("ANALYZE outboxmessage"))
    # Two replies are due (one in an excluded chat), then ten other personal rows (three of
    # them in excluded chats), so the claim's three statements all run.
    rows = [
        _row(
            chat,
            broadcast_id=None,
            status=OutboxStatus.QUEUED,
            due=NOW - timedelta(seconds=5),
            source=outbox.REPLY,
        )
        for chat in (3, 2 * QUEUED + 1)
    ]
    rows += [
        _row(
            chat,
            broadcast_id=None,
            status=OutboxStatus.QUEUED,
            due=NOW + timedelta(hours=chat - 10),
        )
        for chat in range(1, QUEUED + 1)
    ]
    rows += [
        _row(chat, broadcast_id=1, status=OutboxStatus.QUEUED, due=NOW - timedelta(seconds=30))
        for chat in range(QUEUED + 1, 2 * QUEUED + 1)
    ]
    async with engine.begin() as conn:
        broadcast = {"id": 1, "status": "sending", "audience": {}, "texts": {}}
        await conn.execute(insert(Broadcast), [{**broadcast, "send_at": NOW, "created_at": NOW}])
        await conn.execute(insert(OutboxMessage), rows)
        if analyse and request.param == "fresh":
            await conn.execute(text("ANALYZE outboxmessage"))
    try:
        yield engine
    finally:
        await engine.dispose()


async def _claim_statements(engine: AsyncEngine) -> list[tuple[str, Any]]:
    """The claim's SELECTs exactly as SQLAlchemy sent them, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "FROM outboxmessage" in statement and statement.lstrip().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        async with create_session_factory(engine)() as session:
            claimed = await outbox.claim_due(
                session,
                now=NOW,
                lease_until=NOW + timedelta(minutes=1),
                limit=30,
                exclude_chats=[1, 2, 3],
            )
            assert len(claimed) == 30
            assert [row.chat_id for row in claimed[:1]] == [2 * QUEUED + 1]
            assert sum(row.broadcast_id is None for row in claimed) == 8
            await session.rollback()
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)
    return seen


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(node for child in plan.get("Plans", []) for node in _nodes(child))]


async def _plan(
    engine: AsyncEngine, statement: str, parameters: Any, *, sorted_ok: bool
) -> tuple[set[str], str]:
    """Which indexes the statement's plan uses, and the whole plan (for the failure message)."""
    async with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            found = (
                await conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters)
            ).scalar_one()
            plan = (json.loads(found) if isinstance(found, str) else found)[0]["Plan"]
            nodes = _nodes(plan)
            shown = json.dumps(plan, indent=1)
            kinds = {node["Node Type"] for node in nodes}
            # A join is planned from estimates: from stale ones it joined the queue to itself.
            assert not {"Seq Scan", "Hash Join", "Nested Loop", "Merge Join"} & kinds, shown
            # A sort reads every due row before the first is returned (linear, not quadratic,
            # so tolerated while the statistics say nothing is queued).
            assert sorted_ok or "Sort" not in kinds, shown
            return {node["Index Name"] for node in nodes if "Index Name" in node}, shown
        explained = await conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        details = [str(row[-1]) for row in explained.all()]
        shown = "\n".join(details)
        assert not any("TEMP B-TREE" in d or d.startswith("SCAN") for d in details), shown
        return {d.split("USING INDEX ")[1].split()[0] for d in details if "USING INDEX" in d}, shown


async def test_the_claim_walks_its_indexes(
    queued: AsyncEngine, request: pytest.FixtureRequest
) -> None:
    stale = "stale" in request.node.callspec.id
    reply, personal, broadcast = await _claim_statements(queued)
    for (statement, parameters), walks in (
        (reply, "ix_outbox_due_reply"),
        (personal, "ix_outbox_due_personal"),
        (broadcast, "ix_outbox_due_broadcast"),
    ):
        indexes, shown = await _plan(queued, statement, parameters, sorted_ok=stale)
        assert {walks, "ix_outbox_pending_chat"} <= indexes, shown
