"""`partnerbot backup`, `restore` and `move-to-postgres`: copies that hold, restores that keep
every /forget, and an SQLite deployment moved into PostgreSQL, verified row for row."""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.common import database, load_settings, say
from bot.config import Settings
from bot.storage.models import KeyRing


def cmd_backup(args: argparse.Namespace) -> int:
    """Back the database up while the bot runs: SQLite by VACUUM INTO (one consistent file),
    PostgreSQL by pg_dump (--print shows the command instead)."""
    from bot.storage.backup import (
        BackupError,
        pg_dump_command,
        run_pg,
        sqlite_file,
        vacuum_into,
    )

    settings = load_settings()
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    try:
        sqlite = sqlite_file(settings.database_url)
        if sqlite is None and not settings.database_url.startswith("postgres"):
            raise BackupError("an in-memory database has nothing to back up")
        if sqlite is not None:
            out = Path(args.out or f"backups/partnerbot-{stamp}.db")
            vacuum_into(sqlite, out)
        else:
            out = Path(args.out or f"backups/partnerbot-{stamp}.dump")
            command = pg_dump_command(out, settings.database_schema)
            if args.print:
                say("PGHOST=… PGPORT=… PGUSER=… PGPASSWORD=… PGDATABASE=… " + " ".join(command))
                return 0
            out.parent.mkdir(parents=True, exist_ok=True)
            run_pg(command, settings.database_url)
            os.chmod(out, 0o600)
    except BackupError as exc:
        say(f"partnerbot: {exc}", error=True)
        return 1
    say(
        f"backup written to {out}. Keep it apart from the anonymity key; restore it with "
        f"`partnerbot restore {out}`"
    )
    return 0


async def _erasure_log(settings: Settings) -> tuple[Counter[str], KeyRing | None]:
    """The current database's erasure log and key ring (nothing when there is no database)."""
    from bot.storage import keys
    from bot.storage.backup import sqlite_file

    sqlite = sqlite_file(settings.database_url)
    if sqlite is not None and not sqlite.exists():
        return Counter(), None
    async with database(settings) as db, db.sessions() as session:
        ring = await keys.get_keyring(session)
        if ring is not None:
            session.expunge(ring)
        return await keys.erasure_tags(session), ring


async def _forget_again(
    settings: Settings, erased: Counter[str], ring: KeyRing | None, now: datetime
) -> int:
    """In the restored database: erase again whoever the log says was forgotten since."""
    from bot.services.data_rights import forget_again
    from bot.services.sealing import unlock
    from bot.storage import audit, keys

    async with database(settings) as db, db.sessions() as session:
        if ring is not None and await keys.get_keyring(session) is None:
            # A backup from before the key ring: it keeps the deployment's erasure key.
            session.add(KeyRing.model_validate(ring.model_dump()))
            await session.flush()
        sealer = await unlock(session, settings, now=now)
        since = erased - await keys.erasure_tags(session)
        applied = await forget_again(session, sealer=sealer, erased=since, now=now)
        await audit.record(
            session,
            actor=None,
            actor_label=audit.CLI_LABEL,
            action="backup.restored",
            detail={"erased_again": applied, "erasures_since": sum(since.values())},
            now=now,
        )
        await session.commit()
        return applied


async def _restore(settings: Settings, path: Path, carried: Path | None) -> str:
    from bot.services.sealing import KeyProblem, Sealer, configured_key
    from bot.storage.backup import (
        BackupError,
        dump_fingerprint,
        pg_restore_command,
        replace_database,
        run_pg,
        sqlite_file,
    )

    now = datetime.now(UTC)
    erased, ring = await _erasure_log(settings)
    if carried is not None:
        erased |= Counter(carried.read_text().split())
    sqlite = sqlite_file(settings.database_url)
    if sqlite is None:
        # pg_restore replaces the tables at once: the key is checked against the dump first.
        fingerprint = dump_fingerprint(path)
        key = configured_key(settings)
        if fingerprint and (key is None or Sealer(key).fingerprint() != fingerprint):
            raise KeyProblem(
                "it was made under another anonymity key: set ANONYMITY_KEY (or "
                "ANONYMITY_KEY_FILE) to that key; nothing was changed"
            )
        # The log as it was goes to a file first: pg_restore replaces it, and should the
        # erasures fail afterwards, a second run with --erasures still applies them.
        log = Path(f"erasures-{now:%Y%m%dT%H%M%SZ}.txt")
        log.write_text("".join(f"{tag}\n" for tag in sorted(erased.elements())))
        run_pg(pg_restore_command(path, settings.database_url), settings.database_url)
        try:
            applied = await _forget_again(settings, erased, ring, now)
        except Exception as exc:
            raise BackupError(
                f"the backup is restored but the erasures since were not applied ({exc}). Do "
                f"not start the bot: run `partnerbot restore {path} --erasures {log}`"
            ) from None
        log.unlink()
        return f"restored from {path}; {applied} member(s) forgotten since were erased again"
    staging = sqlite.with_name(f"{sqlite.name}.restoring")
    staging.unlink(missing_ok=True)
    shutil.copyfile(path, staging)
    os.chmod(staging, 0o600)
    try:
        staged = settings.model_copy(update={"database_url": f"sqlite:///{staging}"})
        applied = await _forget_again(staged, erased, ring, now)
        kept = replace_database(sqlite, staging, now=now)
    finally:
        staging.unlink(missing_ok=True)
    before = f"; the database it replaced is kept as {kept}" if kept else ""
    return f"restored from {path}; {applied} member(s) forgotten since were erased again{before}"


def cmd_restore(args: argparse.Namespace) -> int:
    """Replace the database with a backup (stop every instance first); members who used
    /forget since the backup are erased again, from the erasure log."""
    from bot.logs import configure_logging
    from bot.services.sealing import KeyProblem
    from bot.storage.backup import BackupError

    configure_logging("WARNING")
    path = Path(args.path)
    if not path.is_file():
        say(f"partnerbot: there is no backup at {path}", error=True)
        return 2
    try:
        carried = Path(args.erasures) if args.erasures else None
        say(asyncio.run(_restore(load_settings(), path, carried)))
    except KeyProblem as exc:
        say(f"partnerbot: the backup does not open with this key: {exc}", error=True)
        return 2
    except BackupError as exc:
        say(f"partnerbot: {exc}", error=True)
        return 1
    return 0


async def _move(settings: Settings, url: str, schema: str | None) -> dict[str, tuple[int, str]]:
    from bot.storage import migrate
    from bot.storage.backup import BackupError, copy_tables, reset_sequences, table_digests
    from bot.storage.db import create_engine

    source = create_engine(settings.database_url)
    target = create_engine(url, schema=schema)
    try:
        await migrate.upgrade(source)
        await migrate.upgrade(target)
        async with source.connect() as reading, target.begin() as writing:
            await copy_tables(reading, writing)
            await reset_sequences(writing)
            copied, expected = await table_digests(writing), await table_digests(reading)
            if copied != expected:
                wrong = sorted(t for t in expected if copied.get(t) != expected[t])
                # Leaving the block by an error rolls the whole copy back.
                raise BackupError(f"the copy differs in {', '.join(wrong)}; nothing was kept")
        return expected
    finally:
        await source.dispose()
        await target.dispose()


def cmd_move_to_postgres(args: argparse.Namespace) -> int:
    """Copy this SQLite deployment (DATABASE_URL) into an empty PostgreSQL database, in one
    transaction, checked table by table (row count and checksum); stop the bot first."""
    from bot.logs import configure_logging
    from bot.storage.backup import BackupError, sqlite_file

    configure_logging("WARNING")
    settings = load_settings()
    if sqlite_file(settings.database_url) is None:
        say("partnerbot: DATABASE_URL is not an SQLite database; nothing to move", error=True)
        return 2
    if not args.to.startswith("postgresql"):
        say("partnerbot: --to takes a postgresql://user@host/db URL", error=True)
        return 2
    try:
        digests = asyncio.run(_move(settings, args.to, args.schema))
    except BackupError as exc:
        say(f"partnerbot: {exc}", error=True)
        return 1
    for table, (rows, checksum) in digests.items():
        say(f"{table}: {rows} row(s), checksum {checksum[:12]} — the same on both sides")
    schema = f" DATABASE_SCHEMA={args.schema}" if args.schema else ""
    say(
        f"moved. Start the bot with DATABASE_URL={args.to}{schema} and the same anonymity key; "
        "the SQLite file is left as it was."
    )
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `backup`, `restore` and `move-to-postgres` on the `partnerbot` parser."""
    backup = sub.add_parser("backup", help=cmd_backup.__doc__)
    backup.add_argument("--out", help="file to write (default backups/partnerbot-<time>.db|.dump)")
    backup.add_argument("--print", action="store_true", help="PostgreSQL: show the pg_dump recipe")
    backup.set_defaults(func=cmd_backup)
    restore = sub.add_parser("restore", help=cmd_restore.__doc__)
    restore.add_argument("path", help="a file `partnerbot backup` wrote")
    restore.add_argument(
        "--erasures", help="PostgreSQL: the erasure log a failed restore wrote, to apply too"
    )
    restore.set_defaults(func=cmd_restore)
    move = sub.add_parser("move-to-postgres", help=cmd_move_to_postgres.__doc__)
    move.add_argument("--to", required=True, help="postgresql://user@host/db, empty")
    move.add_argument("--schema", help="PostgreSQL schema to put the tables in")
    move.set_defaults(func=cmd_move_to_postgres)
