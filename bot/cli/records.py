"""`partnerbot export` and `partnerbot audit`: the answers as a file, and the audit log."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from bot.cli.common import database, load_settings, since_option
from bot.config import Settings


async def _export(settings: Settings, args: argparse.Namespace) -> tuple[bytes, str, int]:
    from bot.content import load_content
    from bot.services.export import Exports, Source, export_policy
    from bot.services.offload import Offload
    from bot.services.sealing import KeyProblem, unlock
    from bot.storage import audit

    _, flows = load_content(settings)
    if args.flow is not None and args.flow not in flows:
        raise SystemExit(f"partnerbot: no flow '{args.flow}'; known: {', '.join(flows.flows)}")
    since = since_option(args.since)
    async with database(settings) as db:
        async with db.sessions() as session:
            try:
                sealer = await unlock(session, settings, now=datetime.now(UTC))
            except KeyProblem as exc:
                raise SystemExit(f"partnerbot: {exc}") from None
            await session.commit()
        exports = Exports(
            policy=export_policy(settings),
            sealer=sealer,
            offload=Offload(in_process=True),
            source=Source.of(settings),
        )
        export = await exports.build(
            writes=db.sessions,
            file_format=args.format,
            flow_id=args.flow,
            since=since,
            actor=None,
            actor_label=audit.CLI_LABEL,
            now=datetime.now(UTC),
            longitudinal=args.longitudinal,
        )
    return export.data, export.filename, export.rows


def cmd_export(args: argparse.Namespace) -> int:
    """Export the answers (pseudonymous) as CSV or XLSX; the export is audited."""
    settings = load_settings()
    data, filename, rows = asyncio.run(_export(settings, args))
    if args.out is None and args.format == "csv":
        sys.stdout.write(data.decode("utf-8-sig"))
        return 0
    out = Path(args.out or filename)
    out.write_bytes(data)
    sys.stderr.write(f"{rows} answer(s) written to {out}\n")
    return 0


async def _audit_lines(settings: Settings, since: datetime | None) -> list[str]:
    from bot.storage import audit

    async with database(settings) as db, db.sessions() as session:
        entries = await audit.list_entries(session, since=since)
    return [audit.describe(e) for e in reversed(entries)]


def cmd_audit(args: argparse.Namespace) -> int:
    """Print the audit log, oldest first: who broadcast, exported, changed roles or schedules."""
    lines = asyncio.run(_audit_lines(load_settings(), since_option(args.since)))
    sys.stdout.write("\n".join(lines) + "\n" if lines else "the audit log is empty\n")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `export` and `audit` on the `partnerbot` parser."""
    export = sub.add_parser("export", help=cmd_export.__doc__)
    export.add_argument("--format", choices=("csv", "xlsx"), default="csv", help="default csv")
    export.add_argument("--flow", help="only this flow's answers, e.g. trust_pulse")
    export.add_argument("--since", help="only answers given on or after this day, YYYY-MM-DD")
    export.add_argument(
        "--out", help="file to write (default: CSV to standard output, XLSX to a dated file)"
    )
    export.add_argument(
        "--longitudinal",
        action="store_true",
        help="pseudonyms stable across exports (audited); new for each export otherwise",
    )
    export.set_defaults(func=cmd_export)
    audit = sub.add_parser("audit", help=cmd_audit.__doc__)
    audit.add_argument("--since", help="only entries on or after this day, YYYY-MM-DD")
    audit.set_defaults(func=cmd_audit)
