"""`partnerbot report`: the coordinators' k-anonymous reports as tables, charts as PNG files."""

from __future__ import annotations

import argparse
import asyncio
from datetime import datetime
from pathlib import Path

from bot.cli.common import database, load_settings, plain, say, since_option
from bot.config import Settings


async def report_lines(
    settings: Settings, *, since: datetime | None, out: Path | None
) -> list[str]:
    """Every report as a table, charts written to `out` as PNG files."""
    from bot.content import load_content
    from bot.services.reports import Reports

    catalogs, flows = load_content(settings)
    reports = Reports(flows=flows, min_group=settings.report_min_group)
    async with database(settings) as db:
        parts = await reports.build(
            db.reads, since=since, words=catalogs.translator(catalogs.default)
        )
    lines: list[str] = []
    for part in parts:
        lines += [*part.lines, *(plain(line) for line in part.text.splitlines()[1:])]
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            path = out / f"report-{part.kind}.png"
            path.write_bytes(part.png)
            lines.append(f"-> {path}")
        lines.append("")
    return lines


def cmd_report(args: argparse.Namespace) -> int:
    """Print the k-anonymous reports as tables and write their charts as PNG files."""
    from bot.logs import configure_logging

    settings = load_settings()
    configure_logging("WARNING")
    since = since_option(args.since)
    out = Path(args.out) if args.out else None
    say("\n".join(asyncio.run(report_lines(settings, since=since, out=out))))
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `report`."""
    report = sub.add_parser("report", help=cmd_report.__doc__)
    report.add_argument("--since", metavar="DAY", help="only answers from this day, YYYY-MM-DD")
    report.add_argument("--out", metavar="DIR", help="write the charts here as PNG files")
    report.set_defaults(func=cmd_report)
