"""`partnerbot report`: the coordinators' k-anonymous reports as tables, charts as PNG files."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path


def cmd_report(args: argparse.Namespace) -> int:
    """Print the k-anonymous reports as tables and write their charts as PNG files."""
    from bot.cli import _settings
    from bot.logs import configure_logging
    from bot.services.reports import parse_since, run_command

    settings = _settings()
    configure_logging("WARNING")
    since = None
    if args.since is not None:
        try:
            since = parse_since(args.since)
        except ValueError:
            raise SystemExit(
                f"partnerbot: --since takes a day, YYYY-MM-DD (not {args.since!r})"
            ) from None
    out = Path(args.out) if args.out else None
    print("\n".join(asyncio.run(run_command(settings, since=since, out=out))))  # noqa: T201
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `report` on the main parser."""
    report = sub.add_parser("report", help=cmd_report.__doc__)
    report.add_argument("--since", metavar="DAY", help="only answers from this day, YYYY-MM-DD")
    report.add_argument("--out", metavar="DIR", help="write the charts here as PNG files")
    report.set_defaults(func=cmd_report)
