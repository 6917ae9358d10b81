"""Sessions: a session per update from the pool; on SQLite writers take turns for its one
connection, transaction by transaction; long reads take no write lock on either store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError

from bot.storage import migrate, repo
from bot.storage.db import SessionFactory, create_engine, create_reader, create_session_factory
from bot.storage.models import ProcessedUpdate

NOW = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


@dataclass
class Store:
    writes: SessionFactory
    reads: SessionFactory
    sqlite: bool


@pytest.fixture
async def store(database_url: str, database_schema: str | None) -> AsyncIterator[Store]:
    engine = create_engine(database_url, schema=database_schema)
    await migrate.upgrade(engine)
    reader = create_reader(engine)
    try:
        yield Store(
            create_session_factory(engine),
            create_session_factory(reader),
            engine.dialect.name == "sqlite",
        )
    finally:
        for each in (reader, engine):
            await each.dispose()


async def _claim(sessions: SessionFactory, update_id: int) -> None:
    async with sessions() as session:
        assert await repo.claim_update(session, update_id=update_id, now=NOW)
        await session.commit()


async def test_writers_take_turns_only_on_sqlite(store: Store) -> None:
    async with store.writes() as first:
        await repo.claim_update(first, update_id=1, now=NOW)
        second = asyncio.create_task(_claim(store.writes, 2))
        if store.sqlite:
            # It waits for the one writer connection, held until the first commits.
            for _ in range(20):
                await asyncio.sleep(0)
            assert not second.done()
        else:
            await asyncio.wait_for(asyncio.shield(second), timeout=10)
        await first.commit()
    await asyncio.wait_for(second, timeout=10)
    assert await _count(store.reads) == 2


async def _count(sessions: SessionFactory) -> int:
    async with sessions() as session:
        return await repo.count_rows(session, ProcessedUpdate)


async def test_a_long_read_keeps_no_writer_waiting_and_sees_one_snapshot(store: Store) -> None:
    await _claim(store.writes, 1)
    async with store.reads() as reading:
        assert await repo.count_rows(reading, ProcessedUpdate) == 1
        # The read is still open (on SQLite a BEGIN IMMEDIATE would hold the write lock now).
        await asyncio.wait_for(_claim(store.writes, 2), timeout=10)
        assert await repo.count_rows(reading, ProcessedUpdate) == 1
    assert await _count(store.reads) == 2


async def test_a_read_session_cannot_write(store: Store) -> None:
    async with store.reads() as session:
        with pytest.raises(DBAPIError):
            await repo.claim_update(session, update_id=1, now=NOW)
    assert await _count(store.reads) == 0
