"""`partnerbot commitments add|list|import FILE.csv`: the commitments register from the shell.

Prints in the default locale's wording (tags stripped); invalid input exits 1 with the reason.
A CSV has a header `owner,what,due,for,source` (and optionally `person`, a Telegram user id);
an import takes every line or none. Every change is audited as the command line's.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
from pathlib import Path

from bot.cli.common import database, load_settings, plain, say
from bot.config import Settings


class Refused(Exception):
    """Input the register refuses: the lines saying why."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


async def run(settings: Settings, args: argparse.Namespace) -> list[str]:
    """Do what the arguments ask; the lines to print. Raises Refused on bad input."""
    from bot.content import Content
    from bot.domain.clock import SystemClock
    from bot.domain.commitments import CommitmentError, CommitmentSpec
    from bot.services.commitments import Commitments, describe
    from bot.storage import commitments as store

    content = Content.load(settings)
    t = content.catalogs.translator(settings.default_locale)
    commitments = Commitments(clock=SystemClock(), content=content)
    async with database(settings) as db, db.sessions() as session:
        command = args.commitments_command
        if command == "add":
            try:
                due = date.fromisoformat(args.due)
                spec = CommitmentSpec(
                    args.owner,
                    args.what,
                    due,
                    getattr(args, "for"),
                    args.source or "",
                    args.person,
                )
                made = await commitments.create(session, spec=spec, actor=None)
            except ValueError as exc:
                key = exc.key if isinstance(exc, CommitmentError) else "commitments.error.date"
                params = exc.params if isinstance(exc, CommitmentError) else {"value": args.due}
                raise Refused([t(key, **params)]) from None
            lines = [t("commitments.new.saved", id=made.id)]
        elif command == "import":
            text = Path(args.file).read_text(encoding="utf-8")
            rows, problems = await commitments.import_csv(session, text, actor=None)
            if problems:
                raise Refused(
                    [
                        t("commitments.csv.line", line=p.line, problem=t(p.key, **p.params))
                        for p in problems
                    ]
                )
            lines = [t("commitments.csv.imported", count=len(rows))]
        else:
            found = await store.list_commitments(session)
            lines = [describe(c, t).replace("\n", " ") + f" [{c.owner_org}]" for c in found]
            lines = lines or [t("commitments.none")]
        await session.commit()
    return [plain(line) for line in lines]


def cmd_commitments(args: argparse.Namespace) -> int:
    """Add, list or import commitments; exit 1 on invalid input."""
    from bot.logs import configure_logging

    settings = load_settings()
    configure_logging("WARNING")
    try:
        lines = asyncio.run(run(settings, args))
    except Refused as exc:
        say("\n".join(f"partnerbot: {plain(line)}" for line in exc.lines), error=True)
        return 1
    say("\n".join(lines))
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `partnerbot commitments …`."""
    parser = sub.add_parser("commitments", help=cmd_commitments.__doc__)
    commands = parser.add_subparsers(dest="commitments_command", required=True)
    add = commands.add_parser("add", help="record a commitment")
    add.add_argument("owner", help="the partner organisation that commits")
    add.add_argument("what", help="what it commits to")
    add.add_argument("due", help="by when, YYYY-MM-DD")
    add.add_argument("for", help="the partner it is for")
    add.add_argument("--source", help="the agreement or clause it comes from")
    add.add_argument("--person", type=int, help="the Telegram user id of the person who owns it")
    commands.add_parser("list", help="every commitment and where it stands")
    imported = commands.add_parser("import", help="record the commitments of a CSV file")
    imported.add_argument("file", help="CSV with a header owner,what,due,for,source[,person]")
    parser.set_defaults(func=cmd_commitments)
