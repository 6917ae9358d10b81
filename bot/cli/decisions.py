"""`partnerbot decisions add|list|close`: proposals and their outcomes from the shell.

`add` puts a proposal to a committee (number or name) or to stakeholder groups, closing at a
local date and time (the partnership's zone); `close` stops the votes now, and with
`--statement` writes the outcome, which goes to everyone asked. Audited as `cli`; prints in the
default locale's wording (tags stripped); invalid input exits 1 with the reason.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from bot.cli.common import database, load_settings, plain, print_lines
from bot.config import Settings


async def run(settings: Settings, args: argparse.Namespace) -> list[str]:
    """Do what the arguments ask; the lines to print. Raises DecisionError on bad input."""
    from bot.content import Content
    from bot.domain.audiences import Audience
    from bot.domain.clock import SystemClock
    from bot.domain.decisions import DecisionError, custom_options
    from bot.domain.due import DueRule
    from bot.domain.timing import BadDateTime, parse_local_datetime, zone
    from bot.services.committees import Committees
    from bot.services.decisions import Decisions
    from bot.services.sealing import unlock
    from bot.storage import audit

    content = Content.load(settings)
    t = content.catalogs.translator(settings.default_locale)
    clock, cli = SystemClock(), audit.CLI_LABEL
    rule = DueRule(
        settings.partnership_timezone, settings.quiet_hours_start, settings.quiet_hours_end
    )
    async with database(settings) as db, db.sessions() as session:
        decisions = Decisions(
            clock=clock,
            content=content,
            sealer=await unlock(session, settings, now=datetime.now(UTC)),
            committees=Committees(clock=clock),
            rule=rule,
            min_group=settings.report_min_group,
        )
        command = args.decisions_command
        if command == "add":
            try:
                closes = parse_local_datetime(
                    args.closes, zone(None, rule.partnership_timezone), clock.now()
                )
            except BadDateTime:
                raise DecisionError("closes_past") from None
            decision, in_group = await decisions.propose(
                session,
                question=args.question,
                closes_at=closes,
                anonymous=args.anonymous,
                options=custom_options(";".join(args.option)) if args.option else (),
                committee=args.committee,
                audience=Audience(groups=tuple(args.group)) if args.group else None,
                actor_label=cli,
            )
            key = "decisions.proposed_poll" if in_group else "decisions.proposed"
            lines = [t(key, id=decision.id, count=decision.asked)]
        elif command == "close":
            decision = await decisions.get(session, args.decision)
            if decision.status == "open":
                await decisions.close(session, decision)
            lines = [t("decisions.closed_now", id=decision.id)]
            if args.statement:
                decision, told = await decisions.decide(
                    session, ref=args.decision, statement=args.statement, actor_label=cli
                )
                lines.append(t("decisions.decided", id=decision.id, count=told))
        else:
            lines = [await decisions.log(session, t)]
        await session.commit()
    return [plain(line) for line in lines]


def cmd_decisions(args: argparse.Namespace) -> int:
    """Put a proposal, list the decision log, close a proposal; exit 1 on bad input."""
    from bot.domain.decisions import DecisionError

    settings = load_settings()
    return print_lines(
        settings,
        run(settings, args),
        refused=DecisionError,
        reason=lambda t, exc: plain(t(f"decisions.error.{exc.code}")),
    )


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `partnerbot decisions …`."""
    parser = sub.add_parser("decisions", help=cmd_decisions.__doc__)
    commands = parser.add_subparsers(dest="decisions_command", required=True)
    add = commands.add_parser("add", help="put a proposal to a committee or to groups")
    add.add_argument("question", help="what is proposed")
    add.add_argument("--closes", required=True, help='when votes close, e.g. "2026-12-20 18:00"')
    add.add_argument("--committee", help="committee number or name")
    add.add_argument("--group", action="append", default=[], help="a stakeholder group")
    add.add_argument("--option", action="append", default=[], help="an option of your own")
    add.add_argument("--anonymous", action="store_true", help="nobody learns who voted what")
    commands.add_parser("list", help="the decision log and the proposals still open")
    close = commands.add_parser("close", help="stop the votes now")
    close.add_argument("decision", help="decision number")
    close.add_argument("--statement", help="the outcome statement: the outcome goes out")
    parser.set_defaults(func=cmd_decisions)
