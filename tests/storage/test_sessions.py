"""Sessions: a session per update from the pool; on SQLite writers take turns for its one
connection, transaction by transaction; long reads take no write lock on either store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from bot.config import Settings
from bot.storage import migrate, repo
from bot.storage.db import (
    SessionFactory,
    create_engine,
    create_reader,
    create_session_factory,
    engine_for,
)
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


async def test_an_instance_opens_at_most_its_connection_budget(
    database_url: str, database_schema: str | None
) -> None:
    if not database_url.startswith("postgres"):
        pytest.skip("SQLite's writer has one connection whatever the settings")
    settings = Settings(
        _env_file=None,
        database_url=database_url,
        database_schema=database_schema,
        database_pool_size=2,
        database_max_overflow=1,
    )
    configured = engine_for(settings)
    assert configured.pool.size() == 2  # type: ignore[attr-defined]
    await configured.dispose()
    engine = create_engine(
        database_url, schema=database_schema, pool_size=2, max_overflow=1, pool_timeout=0.2
    )
    held = [await engine.connect() for _ in range(3)]
    try:
        with pytest.raises(PoolTimeoutError):
            await engine.connect()
    finally:
        for connection in held:
            await connection.close()
        await engine.dispose()
