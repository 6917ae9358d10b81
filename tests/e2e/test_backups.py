"""Backups that hold while the bot runs, restores that keep every /forget, and an SQLite
deployment moved into PostgreSQL, verified row for row."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from conftest import ADMIN, ROOT, Database, Phone, onboard, running_app
from sqlalchemy import inspect, text
from test_data_rights import everything

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import audit, migrate
from bot.storage.db import create_engine
from bot.storage.models import Erasure

LEAVER = 7_700_003
LATECOMER = 7_700_004


async def cli(*args: str) -> int:
    return await asyncio.to_thread(main, list(args))


async def test_a_restore_erases_again_who_used_forget_since_the_backup(
    admin: Phone,
    emulator: BotAPIEmulator,
    app: BotApp,
    cli_env: Settings,
    clock: ManualClock,
    db: Database,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    leaver = Phone(emulator, app, user_id=LEAVER, first_name="Zainab")
    await onboard(leaver)
    out = tmp_path_factory.mktemp("backups") / "partnerbot.backup"
    assert await cli("backup", "--out", str(out)) == 0  # while the bot runs
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    if cli_env.database_url.startswith("sqlite"):
        # One file holds it all (a plain copy of a live database misses what is in the WAL).
        assert not Path(f"{out}-wal").exists()
        with contextlib.closing(sqlite3.connect(out)) as copy:
            assert copy.execute("SELECT count(*) FROM member").fetchone() == (2,)

    await leaver.send("/forget")
    await leaver.send("yes")
    assert await db.member(LEAVER) is None
    await onboard(Phone(emulator, app, user_id=LATECOMER, first_name="Yusuf"))
    await app.stop()

    # With another key the backup does not open, and the database is left as it was.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ANONYMITY_KEY", "another-anonymity-key-0123456789abcdef")
        assert await cli("restore", str(out)) == 2
    async with running_app(cli_env, clock) as untouched:
        assert await Database(untouched).member(LATECOMER) is not None

    assert await cli("restore", str(out)) == 0
    async with running_app(cli_env, clock) as restored:
        again = Database(restored)
        assert await again.member(LEAVER) is None  # forgotten, though the backup had them
        assert await again.member(ADMIN) is not None
        assert await again.member(LATECOMER) is None  # joined after the backup
        assert len(await again.rows(Erasure)) == 1
        rows = await everything(restored)
        assert "Zainab" not in repr(rows)
        async with again.session_factory() as session:
            entries = await audit.list_entries(session)
        assert [(e.action, e.detail) for e in entries[:2]] == [
            ("backup.restored", {"erased_again": 1, "erasures_since": 1}),
            ("member.forgotten", {"again": "after a restore"}),
        ]
        # Coming back, they start from the welcome, as a newcomer.
        back = Phone(emulator, restored, user_id=LEAVER, first_name="Zainab")
        back.seen = len(back.messages)
        await back.send("/start")
        assert "Do you agree?" in back.new_text()

    # A second restore of the same backup erases them again: the log came along.
    assert await cli("restore", str(out)) == 0
    async with running_app(cli_env, clock) as twice:
        assert await Database(twice).member(LEAVER) is None


async def test_restore_refuses_a_missing_backup(cli_env: Settings, tmp_path: Path) -> None:
    assert await cli("restore", str(tmp_path / "nothing.db")) == 2


async def test_move_to_postgres_copies_every_row_and_the_bot_goes_on(
    admin: Phone,
    emulator: BotAPIEmulator,
    app: BotApp,
    cli_env: Settings,
    clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    target = os.environ.get("TEST_DATABASE_URL")
    if not cli_env.database_url.startswith("sqlite") or not target:
        pytest.skip("moves an SQLite deployment into PostgreSQL (TEST_DATABASE_URL)")
    member = Phone(emulator, app, user_id=LEAVER, first_name="Zainab")
    await onboard(member)
    before = await everything(app)
    await app.stop()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(target)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        capsys.readouterr()
        assert await cli("move-to-postgres", "--to", target, "--schema", schema) == 0
        said = capsys.readouterr().out
        assert "member: 2 row(s), checksum" in said and "the same on both sides" in said
        # Into a database that already holds a deployment: refused, nothing changes.
        assert await cli("move-to-postgres", "--to", target, "--schema", schema) == 1

        moved = cli_env.model_copy(update={"database_url": target, "database_schema": schema})
        async with running_app(moved, clock) as on_postgres:
            assert await everything(on_postgres) == before
            member = Phone(emulator, on_postgres, user_id=LEAVER, first_name="Zainab")
            member.seen = len(member.messages)
            await member.send("/start")
            assert "Welcome back" in member.new_text()
            # New rows get new ids after the copied ones.
            await onboard(Phone(emulator, on_postgres, user_id=LATECOMER, first_name="Yusuf"))
            assert await Database(on_postgres).member(LATECOMER) is not None
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


async def test_backups_and_moves_know_every_table_of_the_schema(tmp_path: Path) -> None:
    """What `backup`, `restore` and `move-to-postgres` copy is the metadata their own module
    registers: a table kept in a module of its own (caucus rounds, champions, commitments) that
    it did not import was silently left behind by a move. Read in a fresh interpreter, so that
    nothing this test process imported registers a table for it."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'schema.db'}")
    await migrate.upgrade(engine)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    await engine.dispose()
    known = "import bot.storage.backup as b, sqlmodel; print(*sqlmodel.SQLModel.metadata.tables)"
    done = subprocess.run(
        [sys.executable, "-c", known], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert set(done.stdout.split()) == names - {"alembic_version"}
