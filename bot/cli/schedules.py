"""`partnerbot schedules add|list|pause|resume|delete`: scheduled check-ins and digests.

Prints in the default locale's wording (tags stripped); invalid input exits 1 with the reason. A
running bot picks changes up at its next sweep (CHECKIN_SWEEP_S).
"""

from __future__ import annotations

import argparse
from argparse import Namespace
from datetime import UTC, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.cli.common import database, load_settings, plain, print_lines, say
from bot.config import Settings
from bot.content import Content
from bot.domain.audiences import Audience
from bot.domain.flows import FlowError
from bot.domain.parent_ties import PARENT_FLOW
from bot.domain.schedules import (
    DEFAULT_REMINDERS,
    DEFAULT_WINDOW,
    Recurrence,
    ScheduleError,
    ScheduleSpec,
    parse_count,
    parse_date,
    parse_days,
    parse_nth,
    parse_reminders,
    parse_span,
    parse_time,
)
from bot.i18n import Translator
from bot.services.checkins import Checkins, spec_of
from bot.services.digests import DEFAULT_DIGEST_WINDOW, DIGEST_KINDS
from bot.services.runtime import checkins_for, digests_for
from bot.storage import audit
from bot.storage.models import Schedule, ScheduleKind, ScheduleStatus

AUDITED = {
    "add": "schedule.created",
    "pause": "schedule.paused",
    "resume": "schedule.resumed",
    "delete": "schedule.deleted",
}
STATUS_OF = {
    "pause": ScheduleStatus.PAUSED,
    "resume": ScheduleStatus.ACTIVE,
    "delete": ScheduleStatus.DELETED,
}


def recurrence_from(args: Namespace) -> Recurrence:
    """The recurrence the options describe; exactly one of the `when` options is needed."""
    chosen = [
        name
        for name in ("weekly", "monthly", "once", "after_joining", "after_flow")
        if getattr(args, name) is not None
    ]
    if len(chosen) != 1:
        raise ScheduleError("choose_one")
    at = parse_time(args.at)
    every = parse_count(args.every, code="every", low=1, high=52)
    if args.weekly is not None:
        return Recurrence(kind="weekly", at=at, days=parse_days(args.weekly), every=every)
    if args.monthly is not None:
        nth, _, day = args.monthly.partition(":")
        weekday = parse_days(day or "?")
        if len(weekday) != 1:
            raise ScheduleError("day", value=day)
        return Recurrence(
            kind="monthly", at=at, nth=parse_nth(nth), weekday=weekday[0], every=every
        )
    if args.once is not None:
        return Recurrence(kind="once", at=at, on=parse_date(args.once))
    if args.after_joining is not None:
        days = parse_count(args.after_joining, code="after_days", low=0, high=3650)
        return Recurrence(kind="relative", at=at, after_days=days)
    flow, _, days_text = args.after_flow.partition(":")
    days = parse_count(days_text, code="after_days", low=0, high=3650)
    return Recurrence(kind="relative", at=at, after_days=days, event_flow=flow)


def kind_of(args: Namespace) -> ScheduleKind:
    """`--kind`: check-ins unless a digest is asked for."""
    return ScheduleKind(getattr(args, "kind", None) or ScheduleKind.CHECKIN)


def spec_from(args: Namespace) -> ScheduleSpec:
    """The schedule `schedules add` describes."""
    if kind_of(args) == ScheduleKind.PARENT_CHECK:
        # A check-in of the parent_check flow, whose audience creation keeps to partners.
        if args.flow not in (None, PARENT_FLOW):
            raise ScheduleError("flow", value=args.flow)
        args.flow = PARENT_FLOW
    if kind_of(args) in DIGEST_KINDS:
        # A digest goes out once at its time; the window is how late it may still go.
        return ScheduleSpec(
            flow_id=args.flow or "",
            recurrence=recurrence_from(args),
            basis="partnership",
            window=parse_span(args.window) if args.window else DEFAULT_DIGEST_WINDOW,
            reminders=parse_reminders(args.reminders) if args.reminders else (),
        )
    if not args.flow:
        raise ScheduleError("flow", value="")
    return ScheduleSpec(
        flow_id=args.flow,
        recurrence=recurrence_from(args),
        basis="partnership" if args.basis == "partnership" else "member",
        window=parse_span(args.window) if args.window else DEFAULT_WINDOW,
        reminders=parse_reminders(args.reminders) if args.reminders else DEFAULT_REMINDERS,
        audience=Audience(
            tuple(args.group or ()),
            tuple(args.language or ()),
            tuple(getattr(args, "to_committee", None) or ()),
        ),
    )


async def run(settings: Settings, args: Namespace) -> list[str]:
    """Carry out one `schedules` subcommand against the configured database."""
    content = Content.load(settings)
    checkins, digests = checkins_for(settings, content), digests_for(settings, content)
    t = content.catalogs.translator(content.default_locale)
    now = datetime.now(UTC)
    spec = spec_from(args) if args.schedules_command == "add" else None
    async with database(settings) as db, db.sessions() as session:
        if spec is not None and kind_of(args) in DIGEST_KINDS:
            schedule = await digests.create(
                session, spec, kind=kind_of(args), committee=args.committee, now=now
            )
            lines = await _describe(checkins, session, schedule, now, t)
        elif spec is not None:
            lines = await _add(checkins, session, spec, now, t)
        elif args.schedules_command == "list":
            schedules = await checkins.all(session)
            lines = [plain(await checkins.summary(session, s, now=now, t=t)) for s in schedules]
            lines = lines or [plain(t("schedules.none_yet"))]
        else:
            status = STATUS_OF[args.schedules_command]
            changed = await checkins.set_status(
                session, schedule_id=args.id, status=status, now=now
            )
            if changed is None:
                raise ScheduleError("unknown", value=args.id)
            label = t(f"schedules.status.{status}")
            lines = [plain(t("schedules.cli.changed", id=args.id, status=label))]
        if args.schedules_command in AUDITED:
            await audit.record(
                session,
                actor=None,
                actor_label=audit.CLI_LABEL,
                action=AUDITED[args.schedules_command],
                detail={
                    "schedule": getattr(args, "id", None),
                    "flow": getattr(args, "flow", None),
                },
                now=now,
            )
        await session.commit()
    return lines


async def _add(
    checkins: Checkins, session: AsyncSession, spec: ScheduleSpec, now: datetime, t: Translator
) -> list[str]:
    schedule = await checkins.create(session, spec, now=now)
    assert schedule is not None
    return await _describe(checkins, session, schedule, now, t)


async def _describe(
    checkins: Checkins, session: AsyncSession, schedule: Schedule, now: datetime, t: Translator
) -> list[str]:
    lines = [
        plain(t("schedules.cli.created", id=schedule.id)),
        plain(await checkins.summary(session, schedule, now=now, t=t)),
    ]
    upcoming = checkins.preview(spec_of(schedule), now=now)
    if upcoming:
        lines.append(plain(t("schedules.cli.next_times")))
        lines += [f"  {checkins.format_moment(m, t)}" for m in upcoming]
    return lines


def cmd_schedules(args: argparse.Namespace) -> int:
    """Add, list, pause, resume or delete scheduled check-ins; exit 1 on invalid input."""
    settings = load_settings()
    try:
        return print_lines(
            settings,
            run(settings, args),
            refused=ScheduleError,
            reason=lambda t, exc: plain(t(exc.key, **exc.params)),
        )
    except FlowError as exc:
        say(f"partnerbot: flows are broken:\n{exc}", error=True)
        return 1


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `schedules add|list|pause|resume|delete`."""
    commands = sub.add_parser("schedules", help=cmd_schedules.__doc__).add_subparsers(
        dest="schedules_command", required=True
    )
    add = commands.add_parser("add", help="create a schedule: FLOW and one of the when-options")
    add.add_argument(
        "flow", nargs="?", help="flow id, e.g. trust_pulse (a voice digest: its pulse flow)"
    )
    add.add_argument(
        "--kind",
        choices=("checkin", "voice_digest", "you_said_we_did", "parent_check"),
        default="checkin",
        help="check-ins (default), a committee's voice digest, 'you said, we did' for all, or "
        "the parent check of partners' representatives (its flow: parent_check)",
    )
    add.add_argument("--committee", metavar="NAME", help="the committee a voice digest goes to")
    when = add.add_argument_group("when (exactly one)")
    when.add_argument("--weekly", metavar="DAYS", help="days of the week, e.g. mon,thu")
    when.add_argument("--monthly", metavar="NTH:DAY", help="e.g. first:tue or last:fri")
    when.add_argument("--once", metavar="DATE", help="a date, YYYY-MM-DD")
    when.add_argument("--after-joining", metavar="DAYS", help="N days after a member joined")
    when.add_argument(
        "--after-flow", metavar="FLOW:DAYS", help="N days after a member last finished FLOW"
    )
    add.add_argument("--at", default="10:00", help="time of day, HH:MM (default 10:00)")
    add.add_argument("--every", default="1", help="every N weeks or months (default 1)")
    add.add_argument(
        "--basis",
        choices=("member", "partnership"),
        default="member",
        help="whose clock: each member's (default) or the partnership's",
    )
    add.add_argument("--window", help="how long members may answer, e.g. 72h (default)")
    add.add_argument("--reminders", help="e.g. 24h,48h (default), or none; at most two")
    add.add_argument("--group", action="append", help="a stakeholder group (repeatable)")
    add.add_argument("--language", action="append", help="a language code (repeatable)")
    add.add_argument(
        "--to-committee",
        action="append",
        type=int,
        metavar="NUMBER",
        help="check-ins: the members of a committee (repeatable)",
    )
    commands.add_parser("list", help="active and paused schedules")
    for name in ("pause", "resume", "delete"):
        change = commands.add_parser(name, help=f"{name} a schedule")
        change.add_argument("id", type=int, help="schedule number, as `schedules list` shows")
    sub.choices["schedules"].set_defaults(func=cmd_schedules)
