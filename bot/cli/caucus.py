"""`partnerbot caucus open|list|share|close|joint`: caucus rounds from the shell.

A round is opened for one stakeholder group and names the committee (number or name) its
brief goes to; `share` shows the group its own results, `close` sends the committee the brief,
`joint` sends a committee its closed rounds side by side. Every action is audited as `cli`.
Prints in the default locale's wording (tags stripped); invalid input exits 1 with the reason.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from bot.cli.common import database, load_settings, plain, print_lines
from bot.config import Settings

if TYPE_CHECKING:
    from bot.i18n import Translator
    from bot.storage.caucus_models import CaucusRound


async def run(settings: Settings, args: argparse.Namespace) -> list[str]:
    """Do what the arguments ask; the lines to print. Raises CaucusError on bad input."""
    from bot.content import Content
    from bot.domain.clock import SystemClock
    from bot.services.caucus import Caucus
    from bot.services.committees import Committees
    from bot.services.sealing import unlock
    from bot.storage import audit

    content = Content.load(settings)
    t = content.catalogs.translator(settings.default_locale)
    clock, cli = SystemClock(), audit.CLI_LABEL
    async with database(settings) as db, db.sessions() as session:
        caucus = Caucus(
            clock=clock,
            content=content,
            sealer=await unlock(session, settings, now=datetime.now(UTC)),
            committees=Committees(clock=clock),
            min_group=settings.report_min_group,
        )
        command = args.caucus_command
        if command == "open":
            found, count = await caucus.open(
                session,
                group=args.group,
                committee=args.committee,
                topic=args.topic,
                actor_label=cli,
            )
            lines = [t("caucus.opened", **_about(found, t), count=count)]
        elif command == "share":
            found, count = await caucus.share(session, ref=args.round, actor_label=cli)
            lines = [t("caucus.shared", **_about(found, t), count=count)]
        elif command == "close":
            found, forum, count = await caucus.close(session, ref=args.round, actor_label=cli)
            lines = [t("caucus.closed", **_about(found, t), committee=forum.name, count=count)]
        elif command == "joint":
            forum, rounds, count = await caucus.joint(
                session, committee=args.committee, actor_label=cli
            )
            lines = [t("caucus.joint_sent", committee=forum.name, rounds=len(rounds), count=count)]
        else:
            found_lines = await caucus.overview(session)
            lines = [t("caucus.list_header") if found_lines else t("caucus.none_yet")]
            for line in found_lines:
                lines.append(
                    t(
                        "caucus.list_line",
                        **_about(line.round, t),
                        status=t(f"caucus.status.{line.round.status}"),
                        committee=line.committee,
                        answered=line.answered,
                        invited=line.invited,
                    )
                )
        await session.commit()
    return [plain(line) for line in lines]


def _about(found: CaucusRound, t: Translator) -> dict[str, object]:
    return {"id": found.id, "group": t(f"group.{found.stakeholder_group}"), "topic": found.topic}


def cmd_caucus(args: argparse.Namespace) -> int:
    """Open, list, share, close caucus rounds, or send a joint brief; exit 1 on bad input."""
    from bot.domain.caucus import CaucusError

    settings = load_settings()
    return print_lines(
        settings,
        run(settings, args),
        refused=CaucusError,
        reason=lambda t, exc: plain(t(f"caucus.error.{exc.code}", **exc.params)),
    )


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `partnerbot caucus …`."""
    parser = sub.add_parser("caucus", help=cmd_caucus.__doc__)
    commands = parser.add_subparsers(dest="caucus_command", required=True)
    opened = commands.add_parser("open", help="open a round for one stakeholder group")
    opened.add_argument("group", help="the stakeholder group, e.g. community")
    opened.add_argument("committee", help="the committee (number or name) the brief goes to")
    opened.add_argument("topic", help='what the round is about, e.g. "Water services review"')
    commands.add_parser("list", help="rounds, their status and how many answered")
    for name, text in (
        ("share", "show the group its own results (k-anonymous), to react to"),
        ("close", "close a round: the brief goes to its committee"),
    ):
        change = commands.add_parser(name, help=text)
        change.add_argument("round", help="round number")
    joint = commands.add_parser("joint", help="a committee's closed rounds side by side")
    joint.add_argument("committee", help="committee number or name")
    parser.set_defaults(func=cmd_caucus)
