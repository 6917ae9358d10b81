"""The `partnerbot` command: run | sandbox | migrate | flows | schedules | export | audit | report |
keys | backup | restore | move-to-postgres | committees | champions | commitments | invite.

One module per command group, each with an `add_parsers(sub)` that registers its commands;
`common` holds what they share (settings, the database, plain text)."""

from __future__ import annotations

import argparse

from bot.cli import (
    backup,
    caucus,
    champions,
    commitments,
    committees,
    decisions,
    flows,
    invites,
    keys,
    records,
    report,
    run,
    schedules,
)
from bot.cli.run import log_secrets, tune_collector

__all__ = ["build_parser", "log_secrets", "main", "tune_collector"]

# In the order `partnerbot --help` lists them.
GROUPS = (
    run,
    flows,
    schedules,
    records,
    report,
    committees,
    champions,
    commitments,
    invites,
    keys,
    backup,
    caucus,
    decisions,
)


def build_parser() -> argparse.ArgumentParser:
    """The `partnerbot` parser, every command group registered."""
    parser = argparse.ArgumentParser(prog="partnerbot", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command `argv` (or the process's arguments) names; its exit status."""
    args = build_parser().parse_args(argv)
    return int(args.func(args))
