"""Update sessions: on SQLite one shared session serves the units one at a time, each clean."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError
from sqlmodel import select

from bot.storage import migrate, repo
from bot.storage.db import UpdateSessions, create_engine, create_session_factory
from bot.storage.models import Member, ProcessedUpdate

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str, database_schema: str | None) -> AsyncIterator[UpdateSessions]:
    engine = create_engine(database_url, schema=database_schema)
    await migrate.upgrade(engine)
    sessions = UpdateSessions(create_session_factory(engine))
    try:
        yield sessions
    finally:
        await sessions.close()
        assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        await engine.dispose()


async def test_each_unit_starts_clean(sessions: UpdateSessions) -> None:
    async with sessions.unit() as session:
        member = await repo.create_member(
            session, telegram_user_id=5, chat_id=5, display_name="Amina", language="en", now=NOW
        )
        session.info["left behind"] = True
        await session.commit()
    async with sessions.unit() as session:
        assert member not in session
        assert "left behind" not in session.info
        again = await repo.load_member(session, telegram_user_id=5)
        assert again is not None and again is not member and again.id == member.id


async def test_what_a_unit_leaves_uncommitted_is_rolled_back(sessions: UpdateSessions) -> None:
    with pytest.raises(RuntimeError):
        async with sessions.unit() as session:
            await repo.claim_update(session, update_id=1, now=NOW)
            raise RuntimeError("the handler failed")
    async with sessions.unit() as session:
        await repo.claim_update(session, update_id=2, now=NOW)  # returns before committing
    async with sessions.unit() as session:
        assert await repo.claim_update(session, update_id=3, now=NOW)
        await session.commit()
    async with sessions.unit() as session:
        assert (await session.exec(select(ProcessedUpdate.update_id))).all() == [3]
        assert (await session.exec(select(Member))).all() == []


async def test_units_run_one_at_a_time_only_on_sqlite(sessions: UpdateSessions) -> None:
    first_open = asyncio.Event()
    release = asyncio.Event()

    async def first() -> None:
        async with sessions.unit():
            first_open.set()
            await release.wait()

    holder = asyncio.create_task(first())
    await first_open.wait()
    second = asyncio.create_task(_open_and_close(sessions))
    if sessions.serialised:
        for _ in range(20):  # on the event loop's thread, it would be done by now
            await asyncio.sleep(0)
        assert not second.done()
    else:
        await asyncio.wait_for(asyncio.shield(second), timeout=10)
        assert not holder.done()
    release.set()
    await asyncio.wait_for(asyncio.gather(holder, second), timeout=10)


async def _open_and_close(sessions: UpdateSessions) -> None:
    async with sessions.unit() as session:
        await repo.claim_update(session, update_id=9, now=NOW)
        await session.commit()


async def test_the_next_unit_works_after_the_shared_connection_broke(
    sessions: UpdateSessions,
) -> None:
    if not sessions.serialised:
        pytest.skip("only SQLite shares one connection between units")
    with pytest.raises(DBAPIError):
        async with sessions.unit() as session:
            await repo.claim_update(session, update_id=1, now=NOW)
            raw = await (await session.connection()).get_raw_connection()
            assert raw.driver_connection is not None
            await raw.driver_connection.close()  # as if the file had gone away
            await repo.claim_update(session, update_id=2, now=NOW)
    async with sessions.unit() as session:
        assert await repo.claim_update(session, update_id=3, now=NOW)
        await session.commit()
    async with sessions.unit() as session:
        assert (await session.exec(select(ProcessedUpdate.update_id))).all() == [3]
