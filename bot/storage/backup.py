"""Copies of the database: SQLite's `VACUUM INTO`, PostgreSQL's pg_dump and pg_restore, and a
row-for-row copy of every table from one database into another, verified by checksums."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import subprocess
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import SQLModel

import bot.storage.tables  # noqa: F401  (every table, in SQLModel.metadata)

BATCH = 500
# SQLite waits this long (ms) for the bot's write transaction to end before copying.
BUSY_TIMEOUT_MS = 15_000


class BackupError(RuntimeError):
    """A backup, restore or move that cannot go on; says why."""


def sqlite_file(database_url: str) -> Path | None:
    """The file of an SQLite database URL; None for PostgreSQL or an in-memory database."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database).expanduser()


def _private_file(path: Path) -> None:
    """Create `path` empty with mode 0600 (refusing to overwrite): backups hold personal data."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{path} exists already; choose another --out") from None


def vacuum_into(database: Path, out: Path) -> None:
    """A consistent copy of a live SQLite database, WAL included, in one file (0600)."""
    if not database.exists():
        raise BackupError(f"there is no database at {database}")
    _private_file(out)
    try:
        with contextlib.closing(sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000)) as db:
            db.execute("VACUUM INTO ?", (str(out),))
    except sqlite3.Error as exc:
        out.unlink(missing_ok=True)
        raise BackupError(f"the copy failed: {exc}") from None


def settle(database: Path) -> None:
    """Fold the WAL into the file and leave rollback-journal mode, so the file alone is the
    whole database (it can then be moved into place)."""
    with contextlib.closing(sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000)) as db:
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")


def replace_database(database: Path, restored: Path, *, now: datetime) -> Path | None:
    """Put `restored` in place of `database`; the file it replaces is kept beside it (the
    path returned), and the old WAL never meets the new file."""
    kept = None
    if database.exists():
        settle(database)
        kept = database.with_name(f"{database.name}.before-restore-{now:%Y%m%dT%H%M%S}")
        os.replace(database, kept)
    for suffix in ("-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    settle(restored)
    os.replace(restored, database)
    return kept


def pg_environment(database_url: str) -> dict[str, str]:
    """libpq's variables for pg_dump/pg_restore: the password stays off the command line."""
    url = make_url(database_url)
    found = {
        "PGHOST": url.host or "",
        "PGPORT": str(url.port or ""),
        "PGUSER": url.username or "",
        "PGPASSWORD": url.password if isinstance(url.password, str) else "",
        "PGDATABASE": url.database or "",
    }
    return {**os.environ, **{k: v for k, v in found.items() if v}}


def pg_dump_command(out: Path, schema: str | None) -> list[str]:
    """The documented recipe: one custom-format file, without owners, restorable anywhere."""
    command = ["pg_dump", "--format=custom", "--no-owner", f"--file={out}"]
    return [*command, f"--schema={schema}"] if schema else command


def pg_restore_command(path: Path, database_url: str) -> list[str]:
    """Replace the dump's tables in the database, all or nothing."""
    database = make_url(database_url).database or ""
    return ["pg_restore", "--clean", "--if-exists", "--no-owner", "--single-transaction",
            "--exit-on-error", f"--dbname={database}", str(path)]  # fmt: skip


def run_pg(command: Sequence[str], database_url: str) -> None:
    """Run pg_dump or pg_restore against the database; BackupError with its message."""
    try:
        done = subprocess.run(
            command, env=pg_environment(database_url), capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise BackupError(f"{command[0]} is not installed (PostgreSQL's client tools)") from None
    if done.returncode != 0:
        raise BackupError(f"{command[0]} failed: {done.stderr.strip()}")


def dump_fingerprint(path: Path) -> str | None:
    """The key fingerprint a pg_dump file's key ring holds (None without one), read before
    anything is restored."""
    command = ["pg_restore", "--data-only", "--table=keyring", "--file=-", str(path)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BackupError("pg_restore is not installed (PostgreSQL's client tools)") from None
    if done.returncode != 0:
        raise BackupError(f"pg_restore cannot read {path}: {done.stderr.strip()}")
    lines = done.stdout.splitlines()
    for at, line in enumerate(lines[:-1]):
        if line.startswith("COPY ") and "keyring" in line and lines[at + 1] != "\\.":
            columns = line[line.index("(") + 1 : line.index(")")].split(", ")
            return dict(zip(columns, lines[at + 1].split("\t"), strict=False)).get("fingerprint")
    return None


def _canonical(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return value


async def table_digests(connection: AsyncConnection) -> dict[str, tuple[int, str]]:
    """Per table: its row count and a SHA-256 of its rows in primary-key order."""
    digests = {}
    for table in SQLModel.metadata.sorted_tables:
        ordered = table.select().order_by(*table.primary_key.columns)
        digest = hashlib.sha256()
        count = 0
        for row in (await connection.execute(ordered)).all():
            values = {k: _canonical(v) for k, v in row._mapping.items()}
            digest.update(json.dumps(values, sort_keys=True, default=str).encode())
            count += 1
        digests[table.name] = (count, digest.hexdigest())
    return digests


async def copy_tables(source: AsyncConnection, target: AsyncConnection) -> Mapping[str, int]:
    """Copy every row of every table (parents first) into a target no bot has used yet; what
    its migrations seeded is replaced by the source's own rows."""
    for name in ("keyring", "member"):
        table = SQLModel.metadata.tables[name]
        if (await target.execute(select(func.count()).select_from(table))).scalar_one():
            raise BackupError(f"the target already holds a deployment ({table.name} has rows)")
    tables = SQLModel.metadata.sorted_tables
    for table in reversed(tables):
        await target.execute(table.delete())
    copied = {}
    for table in tables:
        rows = [dict(r._mapping) for r in (await source.execute(table.select())).all()]
        for start in range(0, len(rows), BATCH):
            await target.execute(table.insert(), rows[start : start + BATCH])
        copied[table.name] = len(rows)
    return copied


async def reset_sequences(target: AsyncConnection) -> None:
    """PostgreSQL: the next id of each table follows the copied ones."""
    for table in SQLModel.metadata.sorted_tables:
        column = table.columns.get("id")
        if column is None or not column.autoincrement or column.type.python_type is not int:
            continue
        if table.name == "keyring":
            continue
        await target.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                f"COALESCE((SELECT max(id) FROM {table.name}), 0) + 1, false)"
            )
        )
