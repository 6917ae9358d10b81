"""The engine's SQLite settings: a writer that finds the database locked waits for it in
aiosqlite's thread (the event loop goes on), up to the busy timeout; durable commits, deleted
rows overwritten, files only their owner can read."""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import Phone
from sqlalchemy.exc import OperationalError

from bot.app import BotApp
from bot.storage.db import create_engine, is_transient


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
            with pytest.raises(OperationalError, match="locked") as locked:
                async with second.begin() as connection:
                    await connection.exec_driver_sql("INSERT INTO note VALUES ('second')")
        # Worth trying again later (an update is); a missing table is not.
        assert is_transient(locked.value)
        with pytest.raises(OperationalError, match="no such table") as missing:
            async with second.begin() as connection:
                await connection.exec_driver_sql("SELECT * FROM nowhere")
        assert not is_transient(missing.value)
    finally:
        await first.dispose()
        await second.dispose()


@pytest.fixture
def umask() -> Iterator[None]:
    """The usual umask, under which files are created readable by everyone (0644)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_commits_are_durable_and_deleted_rows_overwritten(app: BotApp) -> None:
    assert app.engine is not None
    async with app.engine.connect() as connection:
        pragma = {
            name: (await connection.exec_driver_sql(f"PRAGMA {name}")).scalar_one()
            for name in ("journal_mode", "synchronous", "secure_delete", "foreign_keys")
        }
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": 2,
        "secure_delete": 1,
        "foreign_keys": 1,
    }


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_bots_files_are_its_own(umask: None, database_url: str, phone: Phone) -> None:
    await phone.send("/start")  # something written: the WAL and its index exist
    database = Path(database_url.removeprefix("sqlite:///"))
    files = [database, Path(f"{database}-wal"), Path(f"{database}-shm")]
    assert {f.name: stat.S_IMODE(f.stat().st_mode) for f in files} == {f.name: 0o600 for f in files}


async def test_a_database_file_others_could_read_is_narrowed(umask: None, tmp_path: Path) -> None:
    database = tmp_path / "old.db"
    database.touch(mode=0o644)
    engine = create_engine(f"sqlite:///{database}")
    try:
        assert stat.S_IMODE(database.stat().st_mode) == 0o600
    finally:
        await engine.dispose()
