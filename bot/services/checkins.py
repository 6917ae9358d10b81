"""Scheduled check-ins: schedules as data, and `run_due`, which does whatever is due at `now`.

A check-in starts the schedule's flow for a member: the run, the check-in row (unique per
schedule, occurrence and member) and the first message in the outbox are written in the
caller's transaction, so a check-in is sent once or not at all, whatever restarts happen.
Members in a conversation are never interrupted: they get the check-in once it ends, if the
window is still open. Quiet hours hold check-ins and reminders back in each member's zone.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.transport import Composed
from bot.domain import engine
from bot.domain.broadcasts import Audience
from bot.domain.engine import Reply, RunState
from bot.domain.flows import AskNode, Flow, FlowRegistry
from bot.domain.guides.schedule import span as span_label
from bot.domain.schedules import (
    DAY_CODES,
    NTH_CODES,
    Recurrence,
    ScheduleError,
    ScheduleSpec,
    local_moment,
    next_occurrences,
    occurrence_bounds,
    plan_occurrences,
    relative_day,
    validate,
)
from bot.domain.text import split_html
from bot.domain.timing import in_quiet_hours, zone
from bot.i18n import Catalogs, Translator
from bot.services import proxy
from bot.services.ballots import Ballots, day_of
from bot.services.conversations import ONBOARDING, TIME_ZONE, Message
from bot.services.rendering import Keyboard, render, render_keyboard, render_text
from bot.storage import committees as committee_store
from bot.storage import outbox, repo
from bot.storage import schedules as store
from bot.storage.models import (
    CheckInStatus,
    Member,
    MemberStatus,
    OccurrenceStatus,
    OutboxMessage,
    RunStatus,
    Schedule,
    ScheduleKind,
    ScheduleOccurrence,
    ScheduleStatus,
)

log = logging.getLogger(__name__)
# Stands for the member's name while a flow's first step is written once per language: as
# long as the longest name (200 characters of up to two UTF-16 units each), so the text splits
# into the same messages whatever the reader's name. A private-use character, never in wording.
NAME_ROOM = 400
NAME_SLOT = "\ue000" * NAME_ROOM
# Members whose check-in is opened per transaction: a large occurrence is committed in batches,
# so that (on SQLite) members' answers never wait long for the write lock.
OPEN_BATCH = 1000
Checkpoint = Callable[[], Awaitable[None]]
# A member's own date is read in their zone, at most a day and a bit from UTC: look this far
# around the window for events that may be due.
EVENT_SLACK = timedelta(days=2)
# An open run no check-in window closes (a flow begun by command, onboarding, a concern being
# written) is closed when untouched this long, so that it no longer holds check-ins back.
STALE_AFTER = timedelta(days=7)


@dataclass(frozen=True)
class FirstStep:
    """A flow's first step in one language: the node it waits at, its messages, its question."""

    node_id: str | None
    parts: tuple[str, ...]
    question: Reply | None


@dataclass(frozen=True)
class DefaultSchedule:
    """A schedule created on first start; its key keeps restarts from creating it again."""

    key: str
    spec: ScheduleSpec


def default_schedules(today: date) -> tuple[DefaultSchedule, ...]:
    """The weekly trust pulse and the quarterly partnership review (January, April, …)."""
    return (
        DefaultSchedule(
            "trust_pulse_weekly",
            ScheduleSpec(
                flow_id="trust_pulse",
                recurrence=Recurrence(kind="weekly", at=time(10, 0), days=(0,), anchor=today),
                window=timedelta(hours=72),
                reminders=(timedelta(hours=24), timedelta(hours=48)),
            ),
        ),
        DefaultSchedule(
            "partnership_review_quarterly",
            ScheduleSpec(
                flow_id="partnership_review",
                recurrence=Recurrence(
                    kind="monthly",
                    at=time(10, 0),
                    nth=1,
                    weekday=1,
                    every=3,
                    anchor=date(today.year, 1, 1),
                ),
                window=timedelta(days=14),
                reminders=(timedelta(days=3), timedelta(days=7)),
            ),
        ),
    )


@dataclass
class TickReport:
    """What one `run_due` did."""

    sent: int = 0
    reminded: int = 0
    expired: int = 0
    abandoned: int = 0
    missed: int = 0
    settled: int = 0
    occurrences: int = 0
    # Digest and pulse-result messages queued by `Digests.run_due` in the same pass.
    digests: int = 0
    results: int = 0

    @property
    def enqueued(self) -> bool:
        return bool(self.sent or self.reminded or self.digests or self.results or self.abandoned)


def spec_of(schedule: Schedule) -> ScheduleSpec:
    """The pure description of a stored schedule."""
    return ScheduleSpec(
        flow_id=schedule.flow_id,
        recurrence=Recurrence.from_json(schedule.recurrence),
        basis="partnership" if schedule.basis == "partnership" else "member",
        window=timedelta(minutes=schedule.window_minutes),
        reminders=tuple(timedelta(minutes=m) for m in schedule.reminder_minutes),
        audience=Audience.from_json(schedule.audience),
    )


class Checkins:
    """Manages schedules and sends what they make due."""

    def __init__(
        self,
        *,
        flows: FlowRegistry,
        catalogs: Catalogs,
        partnership_timezone: str,
        quiet_start: time,
        quiet_end: time,
    ) -> None:
        self.use(flows, catalogs)
        self.open_batch = OPEN_BATCH
        self.partnership_timezone = partnership_timezone
        self.tz = zone(None, partnership_timezone)
        self.quiet_start = quiet_start
        self.quiet_end = quiet_end

    def use(self, flows: FlowRegistry, catalogs: Catalogs) -> None:
        """Work with these flows and this wording from now on (the sandbox reloads them)."""
        self.flows = flows
        self.catalogs = catalogs
        self.locales = catalogs.locales
        self._first_steps: dict[tuple[str, int, str], FirstStep] = {}
        self.groups = flows.options_for("stakeholder_group")

    # -- schedules --------------------------------------------------------------------------

    @property
    def schedulable(self) -> tuple[Flow, ...]:
        """Flows a schedule may start (onboarding is for newcomers, the time zone a setting)."""
        return tuple(f for f in self.flows.flows.values() if f.id not in (ONBOARDING, TIME_ZONE))

    def validate(self, spec: ScheduleSpec, *, now: datetime) -> ScheduleSpec:
        """Raise ScheduleError when the schedule cannot work (unknown flow, 25:00, …)."""
        for group in spec.audience.groups:
            if group not in self.groups:
                raise ScheduleError("group", value=group, known=", ".join(self.groups))
        for language in spec.audience.languages:
            if language not in self.locales:
                raise ScheduleError("language", value=language, known=", ".join(self.locales))
        flow = self.flows.get(spec.flow_id)
        if flow is not None and engine.start(flow).finished:
            raise ScheduleError("flow", value=spec.flow_id)
        return validate(spec, flows={f.id for f in self.schedulable}, now=now, partnership=self.tz)

    async def create(
        self,
        session: AsyncSession,
        spec: ScheduleSpec,
        *,
        now: datetime,
        created_by: int | None = None,
        default_key: str | None = None,
    ) -> Schedule | None:
        """Validate and store a schedule; None when the default `default_key` exists already."""
        self.validate(spec, now=now)
        rec = self.anchored(spec.recurrence, now=now)
        return await store.create_schedule(
            session,
            flow_id=spec.flow_id,
            recurrence=rec.to_json(),
            basis=spec.basis,
            audience=spec.audience.to_json(),
            window_minutes=int(spec.window.total_seconds() // 60),
            reminder_minutes=[int(r.total_seconds() // 60) for r in spec.reminders],
            created_by=created_by,
            default_key=default_key,
            now=now,
        )

    async def ensure_defaults(self, session: AsyncSession, *, now: datetime) -> list[Schedule]:
        """Create the default schedules that were never created (deleted ones stay deleted)."""
        created = []
        for default in default_schedules(self.local_today(now)):
            if default.spec.flow_id not in self.flows:
                log.warning(
                    "default schedule %s skipped: no flow %s", default.key, default.spec.flow_id
                )
                continue
            schedule = await self.create(session, default.spec, now=now, default_key=default.key)
            if schedule is not None:
                log.info("created the default schedule %s (#%s)", default.key, schedule.id)
                created.append(schedule)
        return created

    async def all(self, session: AsyncSession) -> list[Schedule]:
        """Active and paused schedules."""
        return await store.list_schedules(session)

    async def get(self, session: AsyncSession, *, schedule_id: int) -> Schedule | None:
        """A schedule that was not deleted."""
        schedule = await store.get_schedule(session, schedule_id=schedule_id)
        return None if schedule is None or schedule.status == ScheduleStatus.DELETED else schedule

    async def set_status(
        self, session: AsyncSession, *, schedule_id: int, status: ScheduleStatus, now: datetime
    ) -> Schedule | None:
        """Pause, resume or delete a schedule; None when there is no such schedule."""
        schedule = await self.get(session, schedule_id=schedule_id)
        if schedule is None:
            return None
        if status != ScheduleStatus.ACTIVE:
            # Nothing more goes out for its open occurrences; check-ins already sent still
            # expire when their window closes.
            for occurrence in await store.list_occurrences(
                session, schedule_id=schedule_id, status=OccurrenceStatus.OPEN
            ):
                await store.close_occurrence(session, occurrence=occurrence)
        return await store.set_schedule_status(session, schedule=schedule, status=status, now=now)

    def local_today(self, now: datetime) -> date:
        return now.astimezone(self.tz).date()

    def anchored(self, rec: Recurrence, *, now: datetime) -> Recurrence:
        """`every N` counts from the week or month a schedule is made in, unless told otherwise."""
        if rec.anchor is not None:
            return rec
        return Recurrence.from_json({**rec.to_json(), "anchor": self.local_today(now).isoformat()})

    def preview(self, spec: ScheduleSpec, *, now: datetime, n: int = 5) -> list[datetime]:
        """The next `n` send times, on the partnership's clocks (each member's, if local)."""
        rec = self.anchored(spec.recurrence, now=now)
        moments = next_occurrences(rec, after=now, tz=self.tz, n=n)
        return [m.astimezone(self.tz) for m in moments]

    def next_send(self, schedule: Schedule, *, now: datetime) -> datetime | None:
        """When the schedule next sends, on the partnership's clocks."""
        if schedule.status != ScheduleStatus.ACTIVE:
            return None
        upcoming = self.preview(spec_of(schedule), now=max(now, schedule.active_from), n=1)
        return upcoming[0] if upcoming else None

    async def counts(self, session: AsyncSession, *, schedule_id: int) -> dict[str, int]:
        """A schedule's check-ins by status."""
        return await store.checkin_counts(session, schedule_id=schedule_id)

    async def audience_size(self, session: AsyncSession, audience: Audience) -> int:
        """How many members the audience holds now."""
        return await repo.count_audience(
            session,
            groups=audience.groups,
            languages=audience.languages,
            committees=audience.committees,
        )

    async def committees(self, session: AsyncSession) -> list[tuple[int, str]]:
        """Active committees a check-in can go to: (id, name), oldest first."""
        return [(c.id or 0, c.name) for c in await committee_store.list_committees(session)]

    # -- wording ----------------------------------------------------------------------------

    def describe(self, spec: ScheduleSpec, t: Translator) -> str:
        """When a schedule sends, in words: `every week on Monday at 10:00 (…)`."""
        rec = spec.recurrence
        at = rec.at.strftime("%H:%M")
        if rec.kind == "weekly":
            days = ", ".join(t(f"schedules.day.{DAY_CODES[d]}") for d in rec.days)
            key = "schedules.rec.weekly" if rec.every == 1 else "schedules.rec.weekly_every"
            text = t(key, days=days, time=at, every=rec.every)
        elif rec.kind == "monthly":
            key = "schedules.rec.monthly" if rec.every == 1 else "schedules.rec.monthly_every"
            text = t(
                key,
                nth=t(f"schedules.nth.{NTH_CODES[rec.nth]}"),
                day=t(f"schedules.day.{DAY_CODES[rec.weekday]}"),
                time=at,
                every=rec.every,
            )
        elif rec.kind == "once":
            text = t("schedules.rec.once", date=rec.on.isoformat() if rec.on else "", time=at)
        elif rec.event_flow is None:
            text = t("schedules.rec.after_joining", days=rec.after_days, time=at)
        else:
            flow = self.flows.get(rec.event_flow)
            title = t(flow.title) if flow else rec.event_flow
            text = t("schedules.rec.after_flow", days=rec.after_days, flow=title, time=at)
        if spec.basis == "member":
            return f"{text} {t('schedules.basis.member_short')}"
        return f"{text} {t('schedules.basis.partnership_short', tz=self.partnership_timezone)}"

    async def summary(
        self, session: AsyncSession, schedule: Schedule, *, now: datetime, t: Translator
    ) -> str:
        """A schedule in a few lines: what, when, to whom, its next send and its figures."""
        spec = spec_of(schedule)
        counts = await self.counts(session, schedule_id=_id(schedule))
        sent = sum(n for status, n in counts.items() if status != CheckInStatus.MISSED)
        done = counts.get(CheckInStatus.DONE, 0)
        upcoming = self.next_send(schedule, now=now)
        if spec.recurrence.relative and schedule.status == ScheduleStatus.ACTIVE:
            following = t("schedules.next_relative", sent=sent, done=done)
        elif upcoming is None:
            following = t("schedules.next_none", sent=sent, done=done)
        else:
            when = self.format_moment(upcoming, t)
            following = t("schedules.next", when=when, sent=sent, done=done)
        return t(
            "schedules.line",
            id=schedule.id,
            flow=await self.schedule_title(session, schedule, t),
            status=t(f"schedules.status.{schedule.status}"),
            when=html.escape(self.describe(spec, t)),
            audience=html.escape(
                t("digest.audience.committee")
                if schedule.kind == ScheduleKind.VOICE_DIGEST
                else self.describe_audience(spec.audience, t)
            ),
            window=span(spec.window, t),
            reminders=self.describe_reminders(spec, t),
            next=following,
        )

    def describe_audience(self, audience: Audience, t: Translator) -> str:
        if audience.everyone:
            return t("schedules.everyone")
        names = [t(f"group.{g}") for g in audience.groups]
        names += [t(f"language.name.{code}") for code in audience.languages]
        names += [t("committee.number", id=c) for c in audience.committees]
        return ", ".join(names)

    def describe_reminders(self, spec: ScheduleSpec, t: Translator) -> str:
        if not spec.reminders:
            return t("schedules.no_reminders")
        return ", ".join(span(r, t) for r in spec.reminders)

    async def schedule_title(self, session: AsyncSession, schedule: Schedule, t: Translator) -> str:
        """A check-in's flow, or what a digest schedule sends (and to which committee), as HTML."""
        if schedule.kind == ScheduleKind.YOU_SAID_WE_DID:
            return t("digest.kind.you_said_we_did")
        if schedule.kind == ScheduleKind.VOICE_DIGEST:
            committee = None
            if schedule.committee_id is not None:
                committee = await committee_store.get_committee(
                    session, committee_id=schedule.committee_id
                )
            name = committee.name if committee else "?"
            return t("digest.kind.voice_digest", committee=html.escape(name))
        return html.escape(self.flow_title(schedule.flow_id, t))

    def flow_title(self, flow_id: str, t: Translator) -> str:
        flow = self.flows.get(flow_id)
        return t(flow.title) if flow else flow_id

    def format_moment(self, moment: datetime, t: Translator) -> str:
        """`Mon 2026-01-12 10:00` in the partnership's zone."""
        local = moment.astimezone(self.tz)
        day = t(f"schedules.day.{DAY_CODES[local.weekday()]}")
        return f"{day} {local:%Y-%m-%d %H:%M}"

    # -- running ----------------------------------------------------------------------------

    async def run_due(
        self, session: AsyncSession, now: datetime, *, checkpoint: Checkpoint | None = None
    ) -> TickReport:
        """Do everything due at `now`: settle, expire, close, remind, open and send.

        Works in the caller's transaction; commit it, then wake the sender. An occurrence of
        more than `OPEN_BATCH` members is opened in batches, with `checkpoint` (which commits
        the session) awaited between them; without one, everything stays in one transaction.
        """
        report = TickReport()
        report.settled = await store.settle_checkins(session)
        report.expired = await self._expire(session, now)
        report.abandoned = await self._abandon_stale(session, now)
        active = await store.list_schedules(session, statuses=[ScheduleStatus.ACTIVE])
        # Digest schedules fire digests (bot/services/digests.py), never check-ins.
        active = [s for s in active if s.kind == ScheduleKind.CHECKIN]
        specs = {_id(s): spec_of(s) for s in active}
        zones = await store.zones_in_use(session)
        for schedule in active:
            report.missed += await self._close(session, schedule, specs[_id(schedule)], now, zones)
        report.reminded = await self._remind(session, now, specs)
        for schedule in active:
            spec = specs[_id(schedule)]
            if spec.flow_id not in self.flows:
                log.error("schedule #%s starts unknown flow %r; skipped", schedule.id, spec.flow_id)
                continue
            if spec.recurrence.relative:
                sent, missed = await self._run_relative(session, schedule, spec, now, checkpoint)
            else:
                sent, missed = await self._run_calendar(
                    session, schedule, spec, now, zones, report, checkpoint
                )
            report.sent += sent
            report.missed += missed
        if report.sent or report.reminded or report.expired or report.missed:
            log.info(
                "check-ins at %s: %s sent, %s reminded, %s expired, %s missed",
                now.isoformat(timespec="minutes"),
                report.sent,
                report.reminded,
                report.expired,
                report.missed,
            )
        return report

    async def next_fire_times(self, session: AsyncSession, now: datetime) -> dict[int, datetime]:
        """For each active calendar schedule, the next moment one of its members is due."""
        zones = await store.zones_in_use(session)
        fire: dict[int, datetime] = {}
        for schedule in await store.list_schedules(session, statuses=[ScheduleStatus.ACTIVE]):
            spec = spec_of(schedule)
            if spec.recurrence.relative:
                continue
            send_zones = {self._send_tz(raw, spec) for raw in zones} or {self.tz}
            upcoming = [
                moment
                for tz in send_zones
                for moment in next_occurrences(spec.recurrence, after=now, tz=tz, n=1)
            ]
            if upcoming:
                fire[_id(schedule)] = min(upcoming)
        return fire

    # -- internals --------------------------------------------------------------------------

    def _send_tz(self, raw_zone: str | None, spec: ScheduleSpec) -> ZoneInfo:
        return zone(raw_zone, self.partnership_timezone) if spec.basis == "member" else self.tz

    def _quiet(self, now: datetime, raw_zone: str | None) -> bool:
        local = now.astimezone(zone(raw_zone, self.partnership_timezone)).time()
        return in_quiet_hours(local, self.quiet_start, self.quiet_end)

    def _moments(
        self, spec: ScheduleSpec, day: date, raw_zone: str | None
    ) -> tuple[datetime, datetime]:
        due = local_moment(day, spec.recurrence.at, self._send_tz(raw_zone, spec))
        return due, due + spec.window

    async def _run_calendar(
        self,
        session: AsyncSession,
        schedule: Schedule,
        spec: ScheduleSpec,
        now: datetime,
        zones: Sequence[str | None],
        report: TickReport,
        checkpoint: Checkpoint | None,
    ) -> tuple[int, int]:
        schedule_id = _id(schedule)
        last = await store.last_occurrence(session, schedule_id=schedule_id)
        plan = plan_occurrences(
            spec.recurrence,
            after=date.fromisoformat(last.occurrence) if last else None,
            active_from=schedule.active_from,
            now=now,
            basis=spec.basis,
            partnership=self.tz,
            window=spec.window,
        )
        for day in plan.missed:
            await self._record_occurrence(
                session, schedule_id, spec, day, OccurrenceStatus.MISSED, now
            )
            log.warning(
                "schedule #%s: the occurrence of %s was missed (the bot was not running while "
                "it was due); nothing is sent for it",
                schedule_id,
                day.isoformat(),
            )
        if plan.opened is not None:
            await self._record_occurrence(
                session, schedule_id, spec, plan.opened, OccurrenceStatus.OPEN, now
            )
        report.occurrences += len(plan.missed) + (plan.opened is not None)
        sent = 0
        for occurrence in await store.list_occurrences(
            session, schedule_id=schedule_id, status=OccurrenceStatus.OPEN
        ):
            sent += await self._send_occurrence(
                session, schedule, spec, occurrence, now, zones, checkpoint
            )
        return sent, 0

    async def _record_occurrence(
        self,
        session: AsyncSession,
        schedule_id: int,
        spec: ScheduleSpec,
        day: date,
        status: OccurrenceStatus,
        now: datetime,
    ) -> ScheduleOccurrence:
        bounds = occurrence_bounds(
            spec.recurrence, day, basis=spec.basis, partnership=self.tz, window=spec.window
        )
        return await store.add_occurrence(
            session,
            schedule_id=schedule_id,
            occurrence=day.isoformat(),
            status=status,
            first_send_at=bounds.first_send,
            last_close_at=bounds.last_close,
            now=now,
        )

    def _zone_groups(
        self,
        spec: ScheduleSpec,
        day: date,
        zones: Sequence[str | None],
        keep: Callable[[str | None, datetime, datetime], bool],
    ) -> list[store.Group]:
        """Zones in use that `keep` accepts, grouped by the occurrence's moments there."""
        found: dict[tuple[datetime, datetime], list[str | None]] = {}
        for raw in zones:
            due, closes = self._moments(spec, day, raw)
            if keep(raw, due, closes):
                found.setdefault((due, closes), []).append(raw)
        return [store.Group(due, closes, zones=raws) for (due, closes), raws in found.items()]

    async def _send_occurrence(
        self,
        session: AsyncSession,
        schedule: Schedule,
        spec: ScheduleSpec,
        occurrence: ScheduleOccurrence,
        now: datetime,
        zones: Sequence[str | None],
        checkpoint: Checkpoint | None,
    ) -> int:
        day = date.fromisoformat(occurrence.occurrence)

        def due_now(raw: str | None, due: datetime, closes: datetime) -> bool:
            return schedule.active_from <= due <= now < closes and not self._quiet(now, raw)

        groups = self._zone_groups(spec, day, zones, due_now)
        return await self._open(
            session, schedule, spec, occurrence.occurrence, groups, now, checkpoint
        )

    async def _close(
        self,
        session: AsyncSession,
        schedule: Schedule,
        spec: ScheduleSpec,
        now: datetime,
        zones: Sequence[str | None],
    ) -> int:
        """Close occurrences whose last window ended; record who never got theirs as missed."""
        missed = 0
        for occurrence in await store.list_occurrences(
            session, schedule_id=_id(schedule), status=OccurrenceStatus.OPEN
        ):
            if occurrence.last_close_at > now:
                continue
            day = date.fromisoformat(occurrence.occurrence)

            def closed(raw: str | None, due: datetime, closes: datetime) -> bool:
                return schedule.active_from <= due and closes <= now

            missed += await store.record_missed(
                session,
                schedule_id=_id(schedule),
                occurrence=occurrence.occurrence,
                audience=_audience(spec),
                groups=self._zone_groups(spec, day, zones, closed),
            )
            await store.close_occurrence(session, occurrence=occurrence)
        return missed

    async def _run_relative(
        self,
        session: AsyncSession,
        schedule: Schedule,
        spec: ScheduleSpec,
        now: datetime,
        checkpoint: Checkpoint | None,
    ) -> tuple[int, int]:
        """Check-ins N days after each member's own date; the occurrence is that due date."""
        rec = spec.recurrence
        after = timedelta(days=rec.after_days)
        settled = schedule.settled_until or schedule.active_from
        candidates = await store.event_candidates(
            session,
            event_flow=rec.event_flow,
            selection=_audience(spec),
            events_from=settled - spec.window - after - EVENT_SLACK,
            events_until=now - after + EVENT_SLACK,
        )
        taken = await store.taken_occurrences(
            session, schedule_id=_id(schedule), member_ids=[c.member_id for c in candidates]
        )
        to_open: dict[str, dict[tuple[datetime, datetime], list[int]]] = {}
        to_miss: dict[str, dict[tuple[datetime, datetime], list[int]]] = {}
        for c in candidates:
            send_tz = self._send_tz(c.time_zone, spec)
            day = relative_day(c.event_at, rec.after_days, send_tz)
            due = local_moment(day, rec.at, send_tz)
            occurrence, moments = day.isoformat(), (due, due + spec.window)
            if (c.member_id, occurrence) in taken or not schedule.active_from <= due <= now:
                continue
            if moments[1] <= now:
                to_miss.setdefault(occurrence, {}).setdefault(moments, []).append(c.member_id)
            elif not c.busy and not self._quiet(now, c.time_zone):
                to_open.setdefault(occurrence, {}).setdefault(moments, []).append(c.member_id)
        missed = sent = 0
        for occurrence, by_moments in to_miss.items():
            missed += await store.record_missed(
                session,
                schedule_id=_id(schedule),
                occurrence=occurrence,
                audience=_audience(spec),
                groups=_listed(by_moments),
            )
        for occurrence, by_moments in to_open.items():
            groups = _listed(by_moments)
            sent += await self._open(session, schedule, spec, occurrence, groups, now, checkpoint)
        await store.mark_settled(session, schedule=schedule, until=now)
        return sent, missed

    async def _open(
        self,
        session: AsyncSession,
        schedule: Schedule,
        spec: ScheduleSpec,
        occurrence: str,
        groups: Sequence[store.Group],
        now: datetime,
        checkpoint: Checkpoint | None,
    ) -> int:
        """Start the flow for the groups' members and queue its first message, set-based."""
        if not groups:
            return 0
        flow = self.flows[spec.flow_id]
        step = engine.start(flow)
        if step.state.node_id is None:
            log.error("schedule #%s: flow %s asks nothing; skipped", schedule.id, flow.id)
            return 0
        schedule_id = _id(schedule)
        opening = store.Opening(
            schedule_id=schedule_id,
            occurrence=occurrence,
            flow_id=flow.id,
            flow_version=flow.version,
            node_id=step.state.node_id,
            next_reminder_at=now + spec.reminders[0] if spec.reminders else None,
            source=f"checkin:{schedule_id}",
            dedupe_prefix=f"checkin:{schedule_id}:{occurrence}:",
            parts={code: len(self.first_step(flow, code).parts) for code in self.locales},
            default_locale=self.catalogs.default,
        )
        opened = last_member = 0
        while True:
            batch = await store.open_checkins(
                session,
                opening,
                audience=_audience(spec),
                groups=groups,
                now=now,
                limit=self.open_batch if checkpoint is not None else None,
                after_member=last_member,
            )
            opened += batch.count
            if checkpoint is None or batch.count < self.open_batch:
                return opened
            last_member = batch.last_member
            await checkpoint()

    def first_step(self, flow: Flow, locale: str) -> FirstStep:
        """A flow's first step in one language, split into messages, with `NAME_SLOT` for the
        reader's name; written once per flow version and language."""
        key = (flow.id, flow.version, locale)
        found = self._first_steps.get(key)
        if found is None:
            step = engine.start(flow)
            t = self.catalogs.translator(locale)
            text = "\n\n".join(render_text(r, t, {"name": NAME_SLOT}) for r in step.replies)
            question = next((r for r in reversed(step.replies) if r.question is not None), None)
            found = FirstStep(step.state.node_id, tuple(split_html(text)), question)
            self._first_steps[key] = found
        return found

    async def compose(
        self, session: AsyncSession, messages: Sequence[OutboxMessage]
    ) -> dict[int, Composed | None]:
        """The text and buttons of check-in messages about to be sent, in each reader's
        language; None for one that can no longer be written (its flow is gone or changed)."""
        names = await store.run_readers(
            session, run_ids=[m.run_id for m in messages if m.run_id is not None]
        )
        composed: dict[int, Composed | None] = {}
        for message in messages:
            assert message.id is not None
            composed[message.id] = self._compose(message, names)
        return composed

    def _compose(self, message: OutboxMessage, names: Mapping[int, str]) -> Composed | None:
        flow = self.flows.get(message.flow_id or "")
        run_id, part = message.run_id, message.part
        if flow is None or run_id is None or part is None or run_id not in names:
            return None
        locale = message.language if message.language in self.locales else self.catalogs.default
        step = self.first_step(flow, locale)
        if step.node_id != message.node_id or part >= len(step.parts):
            log.warning(
                "check-in message %s: flow %s changed since it was queued", message.id, flow.id
            )
            return None
        text = step.parts[part].replace(NAME_SLOT, html.escape(names[run_id]))
        if step.question is None or part < len(step.parts) - 1:
            return Composed(text)
        keyboard = render_keyboard(Message(step.question, run_id), self.catalogs.translator(locale))
        return Composed(text, keyboard, asks=True)

    async def _expire(self, session: AsyncSession, now: datetime) -> int:
        """Runs of check-ins whose window closed become expired; the anonymous answers already
        given leave the run as a ballot, still sealed."""
        expiring = await store.expiring_checkins(session, now=now)
        kept: dict[int, Mapping[str, Any]] = {}
        for item in expiring:
            if item.run_id is None or not item.answers or item.flow_id is None:
                continue
            await Ballots.cast_sealed(
                session, flow_id=item.flow_id, stored=item.answers, day=day_of(item.closes_at)
            )
            flow = self.flows.get(item.flow_id)
            named = Ballots.named(item.answers)
            anonymous = _anonymous_keys(flow) if flow else set(named)
            remaining = {k: v for k, v in named.items() if k not in anonymous}
            if remaining != item.answers:
                kept[item.run_id] = remaining
        await store.expire_checkins(session, expiring=expiring, answers=kept, now=now)
        return len(expiring)

    async def _abandon_stale(self, session: AsyncSession, now: datetime) -> int:
        """Close runs left untouched for `STALE_AFTER` so they no longer hold check-ins back;
        an active member is told once (the run is closed once). A run of an anonymous flow
        (a concern being written) goes without a trace, as on /cancel."""
        stale = await store.stale_runs(session, before=now - STALE_AFTER)
        for item in stale:
            run = await repo.get_run(session, run_id=item.run_id)
            if run is None:
                continue
            flow = self.flows.get(item.flow_id)
            if flow is not None and flow.anonymous and run.proxy is None:
                await repo.delete_run(session, run=run)
            else:
                # As when a check-in expires: the anonymous answers given leave as a ballot.
                await Ballots.cast_sealed(
                    session, flow_id=item.flow_id, stored=item.answers, day=day_of(now)
                )
                named = Ballots.named(item.answers)
                anonymous = _anonymous_keys(flow) if flow else set(named)
                kept = {k: v for k, v in named.items() if k not in anonymous}
                await repo.end_run(
                    session, run=run, status=RunStatus.ABANDONED, now=now, answers=kept
                )
                facilitator = (
                    None if run.proxy is None else await session.get(Member, item.member_id)
                )
                if facilitator is not None:
                    # Every proxy session's end is audited, this one's too.
                    await proxy.record_session(
                        session, member=facilitator, run=run, event="abandoned", now=now
                    )
            if item.member_status != MemberStatus.ACTIVE:
                continue
            t = self.catalogs.translator(item.language)
            title = t(flow.title) if flow is not None else item.flow_id
            await outbox.enqueue(
                session,
                chat_id=item.chat_id,
                member_id=item.member_id,
                text=t("chat.stale_closed", flow=html.escape(title)),
                language=t.locale,
                source="runs:stale",
                dedupe_key=f"run:{item.run_id}:stale",
                now=now,
            )
        if stale:
            log.info("%s conversation(s) untouched for %s closed", len(stale), STALE_AFTER)
        return len(stale)

    async def _remind(
        self, session: AsyncSession, now: datetime, specs: Mapping[int, ScheduleSpec]
    ) -> int:
        """Nudge members who have not finished, with their open question again."""
        due = await store.due_reminders(session, now=now, schedule_ids=list(specs))
        sources: dict[str, list[store.QueuedMessage]] = {}
        updates: list[dict[str, Any]] = []
        reminded: set[int] = set()
        for item in due:
            spec = specs[item.schedule_id]
            flow = self.flows.get(item.flow_id)
            if flow is None or self._quiet(now, item.time_zone):
                continue
            state = RunState(
                flow_id=item.flow_id,
                flow_version=item.flow_version,
                node_id=item.node_id,
                answers=Ballots.named(item.answers),
                selected=tuple(item.selected or ()),
            )
            step = engine.prompt(flow, state)
            if step.closed:
                continue
            t = self.catalogs.translator(item.language)
            params = {"name": item.display_name}
            parts = [t("checkin.reminder", flow=html.escape(t(flow.title)))]
            keyboard: Keyboard | None = None
            for reply in step.replies:
                rendered = render(Message(reply, item.run_id), t, params)
                parts.append(rendered.text)
                keyboard = rendered.keyboard or keyboard
            number = item.reminders_sent + 1
            message = store.QueuedMessage(
                chat_id=item.chat_id,
                member_id=item.member_id,
                text="\n\n".join(parts),
                reply_markup=keyboard,
                language=t.locale,
                dedupe_key=f"checkin:{item.checkin_id}:reminder:{number}",
                asks_run=item.run_id,
            )
            source = f"checkin:{item.schedule_id}"
            if len(split_html(message.text)) == 1:
                sources.setdefault(source, []).append(message)
            else:
                await outbox.enqueue(
                    session,
                    chat_id=message.chat_id,
                    member_id=message.member_id,
                    text=message.text,
                    reply_markup=keyboard,
                    language=message.language,
                    source=source,
                    dedupe_key=message.dedupe_key,
                    asks_run=message.asks_run,
                    now=now,
                )
            following = spec.reminders[number] if number < len(spec.reminders) else None
            reminded.add(item.checkin_id)
            updates.append(
                {
                    "checkin_id": item.checkin_id,
                    "reminders_sent": number,
                    "next_reminder_at": item.sent_at + following if following else None,
                }
            )
        for source, messages in sources.items():
            await store.insert_messages(session, messages, source=source, now=now)
        await store.record_reminders(
            session, updates, run_ids=[item.run_id for item in due if item.checkin_id in reminded]
        )
        return len(updates)


def _audience(spec: ScheduleSpec) -> store.Selection:
    return store.Selection(
        groups=spec.audience.groups,
        languages=spec.audience.languages,
        committees=spec.audience.committees,
    )


def _listed(by_moments: Mapping[tuple[datetime, datetime], list[int]]) -> list[store.Group]:
    return [store.Group(due, closes, member_ids=ids) for (due, closes), ids in by_moments.items()]


def _anonymous_keys(flow: Flow) -> set[str]:
    return {
        n.key
        for n in flow.nodes.values()
        if isinstance(n, AskNode) and (n.anonymous or flow.anonymous)
    }


def span(duration: timedelta, t: Translator) -> str:
    """`72 h`, `3 d`, `90 min`: a duration in its largest whole unit."""
    said = span_label(duration)
    return t(said.key, **said.params)


def _id(row: Member | Schedule) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id
