"""Scheduled check-ins: schedules as data, and the one object the rest of the bot holds.

`Checkins` sets schedules up (validation, defaults, pause and resume, the coordinator's
draft); running them is `CheckinRunner`'s (`bot/services/checkin_runs.py`), who is due is
`bot/domain/due.py`'s rule, what members read is `bot/services/checkin_messages.py` and what
coordinators read `bot/services/schedule_wording.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.transport import Composed
from bot.domain import engine
from bot.domain.audiences import Audience
from bot.domain.due import DueRule
from bot.domain.flows import Flow, FlowRegistry
from bot.domain.parent_ties import PARENT_FLOW, partner_audience
from bot.domain.schedules import (
    Recurrence,
    ScheduleError,
    ScheduleSpec,
    next_occurrences,
    validate,
)
from bot.i18n import Catalogs, Translator
from bot.services.checkin_messages import CheckinMessages
from bot.services.checkin_runs import CheckinRunner, Checkpoint, TickReport, spec_of
from bot.services.conversations import ONBOARDING, TIME_ZONE
from bot.services.schedule_wording import Figures, ScheduleWording, span
from bot.storage import checkins as checkin_store
from bot.storage import committees as committee_store
from bot.storage import schedules as store
from bot.storage.models import (
    Member,
    OccurrenceStatus,
    OutboxMessage,
    Schedule,
    ScheduleKind,
    ScheduleStatus,
)

# `span`, `spec_of` and `TickReport` are imported from here by the schedules router and the
# scheduler.
__all__ = ["Checkins", "DefaultSchedule", "TickReport", "default_schedules", "span", "spec_of"]

log = logging.getLogger(__name__)


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


class Checkins:
    """Manages schedules; runs what they make due through its `runner`."""

    def __init__(
        self,
        *,
        flows: FlowRegistry,
        catalogs: Catalogs,
        partnership_timezone: str,
        quiet_start: time,
        quiet_end: time,
    ) -> None:
        self.partnership_timezone = partnership_timezone
        self.rule = DueRule(partnership_timezone, quiet_start, quiet_end)
        self.tz = self.rule.partnership
        self.messages = CheckinMessages(flows, catalogs)
        self.runner = CheckinRunner(messages=self.messages, rule=self.rule)
        self.wording = ScheduleWording(flows, partnership_timezone=partnership_timezone)
        # The coordinators' screens reach the wording through this object.
        self.describe = self.wording.describe
        self.describe_audience = self.wording.describe_audience
        self.describe_reminders = self.wording.describe_reminders
        self.flow_title = self.wording.flow_title
        self.format_moment = self.wording.format_moment
        self.use(flows, catalogs)

    def use(self, flows: FlowRegistry, catalogs: Catalogs) -> None:
        """Work with these flows and this wording from now on (the sandbox reloads them)."""
        self.flows = flows
        self.catalogs = catalogs
        self.locales = catalogs.locales
        self.groups = flows.options_for("stakeholder_group")
        self.messages.use(flows, catalogs)
        self.wording.flows = flows

    # -- schedules --------------------------------------------------------------------------

    @property
    def schedulable(self) -> tuple[Flow, ...]:
        """Flows a schedule may start (onboarding is for newcomers, the time zone a setting, and
        a flow given answers by the code, a caucus round's, starts from there)."""
        return tuple(
            f
            for f in self.flows.flows.values()
            if f.id not in (ONBOARDING, TIME_ZONE) and not f.given
        )

    def validate(self, spec: ScheduleSpec, *, now: datetime) -> ScheduleSpec:
        """Raise ScheduleError when the schedule cannot work (unknown flow, 25:00, …)."""
        for group in spec.audience.groups:
            if group not in self.groups:
                raise ScheduleError("group", value=group, known=", ".join(self.groups))
        for language in spec.audience.languages:
            if language not in self.locales:
                raise ScheduleError("language", value=language, known=", ".join(self.locales))
        if spec.flow_id == PARENT_FLOW and partner_audience(spec.audience, self.groups) is None:
            raise ScheduleError("parent_audience")
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
        kind = ScheduleKind.PARENT_CHECK if spec.flow_id == PARENT_FLOW else ScheduleKind.CHECKIN
        audience = self.audience_of(spec)
        return await store.create_schedule(
            session,
            flow_id=spec.flow_id,
            recurrence=rec.to_json(),
            basis=spec.basis,
            audience=audience.to_json(),
            kind=kind,
            window_minutes=int(spec.window.total_seconds() // 60),
            reminder_minutes=[int(r.total_seconds() // 60) for r in spec.reminders],
            created_by=created_by,
            default_key=default_key,
            now=now,
        )

    def audience_of(self, spec: ScheduleSpec) -> Audience:
        """Who the schedule goes to: the parent check only ever to partners' representatives
        (bot/domain/parent_ties.py), any other flow to its audience as chosen."""
        if spec.flow_id != PARENT_FLOW:
            return spec.audience
        return partner_audience(spec.audience, self.groups) or spec.audience

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
        return await checkin_store.checkin_counts(session, schedule_id=schedule_id)

    # -- wording ----------------------------------------------------------------------------

    async def summary(
        self, session: AsyncSession, schedule: Schedule, *, now: datetime, t: Translator
    ) -> str:
        """A schedule in a few lines: what, when, to whom, its next send and its figures."""
        figures = Figures(
            counts=await self.counts(session, schedule_id=_id(schedule)),
            upcoming=self.next_send(schedule, now=now),
            title=await self.schedule_title(session, schedule, t),
        )
        return self.wording.summary(schedule, spec_of(schedule), figures, t)

    async def schedule_title(self, session: AsyncSession, schedule: Schedule, t: Translator) -> str:
        """A check-in's flow, or what a digest schedule sends (and to which committee), as HTML."""
        committee = None
        if schedule.committee_id is not None:
            committee = await committee_store.get_committee(
                session, committee_id=schedule.committee_id
            )
        return self.wording.schedule_title(schedule, committee.name if committee else None, t)

    # -- running ----------------------------------------------------------------------------

    async def run_due(
        self, session: AsyncSession, now: datetime, *, checkpoint: Checkpoint | None = None
    ) -> TickReport:
        """Do everything due at `now` (see `CheckinRunner.run_due`)."""
        return await self.runner.run_due(session, now, checkpoint=checkpoint)

    async def next_fire_times(self, session: AsyncSession, now: datetime) -> dict[int, datetime]:
        """For each active calendar schedule, the next moment one of its members is due."""
        return await self.runner.next_fire_times(session, now)

    async def compose(
        self, session: AsyncSession, messages: Sequence[OutboxMessage]
    ) -> dict[int, Composed | None]:
        """The sender's composer: check-in messages written as they are sent."""
        return await self.messages.compose(session, messages)


def _id(row: Member | Schedule) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id
