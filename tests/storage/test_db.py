"""The engine's SQLite settings: a writer that finds the database locked waits for it in
aiosqlite's thread (the event loop goes on), up to the busy timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from bot.storage.db import create_engine


async def _table(url: str) -> None:
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.exec_driver_sql("CREATE TABLE note (body TEXT)")
    await engine.dispose()


async def test_a_second_writer_waits_for_the_first_while_the_loop_runs(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'wait.db'}"
    await _table(url)
    first, second = create_engine(url), create_engine(url)
    try:
        holder = await first.connect()
        await holder.begin()  # BEGIN IMMEDIATE: the write lock is taken here
        await holder.exec_driver_sql("INSERT INTO note VALUES ('first')")

        async def write_second() -> None:
            async with second.begin() as connection:
                await connection.exec_driver_sql("INSERT INTO note VALUES ('second')")

        waiting = asyncio.create_task(write_second())
        for _ in range(20):  # give the second writer turns: it cannot get the lock yet
            await asyncio.sleep(0)
        assert not waiting.done()
        # Had the second writer blocked the loop's thread in SQLite's busy handler, this line
        # would not run until it gave up; here the holder commits and the waiter goes on.
        await holder.commit()
        await holder.close()
        await asyncio.wait_for(waiting, timeout=10)

        async with first.connect() as connection:
            rows = (await connection.exec_driver_sql("SELECT body FROM note ORDER BY body")).all()
        assert [row[0] for row in rows] == ["first", "second"]
    finally:
        await first.dispose()
        await second.dispose()


async def test_a_writer_gives_up_after_the_busy_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'wait.db'}"
    await _table(url)
    monkeypatch.setattr("bot.storage.db.SQLITE_BUSY_TIMEOUT_MS", 50)
    first, second = create_engine(url), create_engine(url)
    try:
        async with first.begin() as holder:
            await holder.exec_driver_sql("INSERT INTO note VALUES ('first')")
            with pytest.raises(OperationalError, match="locked"):
                async with second.begin() as connection:
                    await connection.exec_driver_sql("INSERT INTO note VALUES ('second')")
    finally:
        await first.dispose()
        await second.dispose()
