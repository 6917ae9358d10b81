"""`partnerbot keys new|rotate`: a fresh anonymity key file, and moving the database to it."""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.common import database, load_settings, say
from bot.config import Settings


def cmd_keys_new(args: argparse.Namespace) -> int:
    """Write a new random anonymity key to PATH (mode 0600); never prints the key."""
    from bot.services.sealing import beside_database, new_key, write_key_file

    settings = load_settings()
    path = Path(args.path)
    directory = beside_database(path, settings.database_url)
    if directory is not None:
        say(f"partnerbot: {path} is in the database's directory {directory}", error=True)
        return 2
    if not write_key_file(path, new_key()):
        say(f"partnerbot: {path} exists already; it was left as it is", error=True)
        return 2
    say(f"new anonymity key written to {path}; keep a copy apart from the database's backups")
    return 0


async def _rotate(settings: Settings, old_key_file: Path) -> int:
    from bot.services.sealing import KeyProblem, Sealer, configured_key, rotate
    from bot.storage import audit

    new_key = configured_key(settings)
    if new_key is None:
        raise KeyProblem(
            "set the new key in ANONYMITY_KEY or ANONYMITY_KEY_FILE (`partnerbot keys new PATH` "
            "writes one)"
        )
    try:
        old, new = Sealer(old_key_file.read_bytes().strip()), Sealer(new_key)
    except (OSError, ValueError) as exc:
        raise KeyProblem(str(exc)) from None
    # Running instances (on PostgreSQL) wait at their start-up until the keys are moved.
    async with database(settings, locked=True) as db, db.sessions() as session:
        now = datetime.now(UTC)
        resealed = await rotate(session, old=old, new=new, now=now)
        await audit.record(
            session,
            actor=None,
            actor_label=audit.CLI_LABEL,
            action="keys.rotated",
            detail={"resealed": resealed, "fingerprint": new.fingerprint()[:8]},
            now=now,
        )
        await session.commit()
    return resealed


def cmd_keys_rotate(args: argparse.Namespace) -> int:
    """Re-seal every sealed route and tag from the old key to the configured one (stop every
    instance first); one transaction, audited."""
    from bot.logs import configure_logging
    from bot.services.sealing import KeyProblem

    configure_logging("WARNING")
    try:
        resealed = asyncio.run(_rotate(load_settings(), Path(args.old_key_file)))
    except KeyProblem as exc:
        say(f"partnerbot: {exc}; nothing was changed", error=True)
        return 2
    say(
        f"{resealed} sealed value(s) re-sealed; the database now expects the new key. Start every "
        "instance with it, and keep the old key until no backup made with it is needed."
    )
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `keys` on the `partnerbot` parser."""
    commands = sub.add_parser("keys", help="the anonymity key").add_subparsers(
        dest="keys_command", required=True
    )
    new = commands.add_parser("new", help=cmd_keys_new.__doc__)
    new.add_argument("path", help="file to create, outside the database's directory")
    new.set_defaults(func=cmd_keys_new)
    rotate = commands.add_parser("rotate", help=cmd_keys_rotate.__doc__)
    rotate.add_argument(
        "--old-key-file", required=True, help="file holding the key the database uses now"
    )
    rotate.set_defaults(func=cmd_keys_rotate)
