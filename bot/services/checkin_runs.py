"""Running check-ins: `CheckinRunner.run_due` does whatever the active schedules make due at
`now`.

A check-in starts the schedule's flow for a member: the run, the check-in row (unique per
schedule, occurrence and member) and the first message in the outbox are written in the
caller's transaction, so a check-in is sent once or not at all, whatever restarts happen.
Who is due, and when, is `bot/domain/due.py`'s rule; what check-ins say is
`bot/services/checkin_messages.py`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import engine
from bot.domain.audiences import Audience
from bot.domain.due import DueRule, Verdict, Window
from bot.domain.engine import RunState
from bot.domain.flows import Flow, FlowRegistry
from bot.domain.schedules import (
    Recurrence,
    ScheduleSpec,
    next_occurrences,
)
from bot.domain.text import split_html
from bot.services import proxy
from bot.services.ballots import Ballots, day_of
from bot.services.checkin_messages import CheckinMessages
from bot.services.run_answers import anonymous_keys, without
from bot.storage import checkin_opening as opening_store
from bot.storage import checkins as checkin_store
from bot.storage import outbox, repo
from bot.storage import schedules as schedule_store
from bot.storage.models import (
    CHECKIN_KINDS,
    Member,
    MemberStatus,
    OccurrenceStatus,
    RunStatus,
    Schedule,
    ScheduleOccurrence,
    ScheduleStatus,
)

log = logging.getLogger(__name__)
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


class CheckinRunner:
    """Does what the active schedules make due: settles, expires, closes, reminds and opens."""

    def __init__(self, *, messages: CheckinMessages, rule: DueRule) -> None:
        self.messages = messages
        self.rule = rule
        self.open_batch = OPEN_BATCH

    @property
    def flows(self) -> FlowRegistry:
        return self.messages.flows

    async def run_due(
        self, session: AsyncSession, now: datetime, *, checkpoint: Checkpoint | None = None
    ) -> TickReport:
        """Do everything due at `now`: settle, expire, close, remind, open and send.

        Works in the caller's transaction; commit it, then wake the sender. An occurrence of
        more than `OPEN_BATCH` members is opened in batches, with `checkpoint` (which commits
        the session) awaited between them; without one, everything stays in one transaction.
        """
        report = TickReport()
        report.settled = await checkin_store.settle_checkins(session)
        report.expired = await self._expire(session, now)
        report.abandoned = await self._abandon_stale(session, now)
        active = await schedule_store.list_schedules(session, statuses=[ScheduleStatus.ACTIVE])
        # Digest schedules fire digests (bot/services/digests.py), never check-ins.
        active = [s for s in active if s.kind in CHECKIN_KINDS]
        specs = {_id(s): spec_of(s) for s in active}
        zones = await schedule_store.zones_in_use(session)
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
        zones = await schedule_store.zones_in_use(session)
        fire: dict[int, datetime] = {}
        for schedule in await schedule_store.list_schedules(
            session, statuses=[ScheduleStatus.ACTIVE]
        ):
            spec = spec_of(schedule)
            if spec.recurrence.relative:
                continue
            send_zones = {self.rule.send_zone(raw, spec) for raw in zones} or {
                self.rule.partnership
            }
            upcoming = [
                moment
                for tz in send_zones
                for moment in next_occurrences(spec.recurrence, after=now, tz=tz, n=1)
            ]
            if upcoming:
                fire[_id(schedule)] = min(upcoming)
        return fire

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
        caught = await schedule_store.catch_up(
            session,
            schedule=schedule,
            spec=spec,
            basis=spec.basis,
            partnership=self.rule.partnership,
            due=OccurrenceStatus.OPEN,
            now=now,
        )
        for day in caught.missed:
            log.warning(
                "schedule #%s: the occurrence of %s was missed (the bot was not running while "
                "it was due); nothing is sent for it",
                schedule_id,
                day.isoformat(),
            )
        report.occurrences += len(caught.missed) + (caught.due is not None)
        sent = 0
        for occurrence in await schedule_store.list_occurrences(
            session, schedule_id=schedule_id, status=OccurrenceStatus.OPEN
        ):
            sent += await self._send_occurrence(
                session, schedule, spec, occurrence, now, zones, checkpoint
            )
        return sent, 0

    def _zone_groups(
        self,
        schedule: Schedule,
        spec: ScheduleSpec,
        day: date,
        zones: Sequence[str | None],
        *,
        now: datetime,
        wanted: Verdict,
    ) -> list[opening_store.Group]:
        """Zones in use whose members' verdict at `now` is `wanted`, grouped by the
        occurrence's window there."""
        found: dict[Window, list[str | None]] = {}
        for raw in zones:
            window = self.rule.window(spec, day, raw)
            verdict = self.rule.verdict(
                window, now=now, active_from=schedule.active_from, raw_zone=raw
            )
            if verdict == wanted:
                found.setdefault(window, []).append(raw)
        return [opening_store.Group(w.due_at, w.closes_at, zones=raws) for w, raws in found.items()]

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
        groups = self._zone_groups(schedule, spec, day, zones, now=now, wanted=Verdict.DUE)
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
        for occurrence in await schedule_store.list_occurrences(
            session, schedule_id=_id(schedule), status=OccurrenceStatus.OPEN
        ):
            if occurrence.last_close_at > now:
                continue
            day = date.fromisoformat(occurrence.occurrence)
            missed += await opening_store.record_missed(
                session,
                schedule_id=_id(schedule),
                occurrence=occurrence.occurrence,
                audience=spec.audience,
                groups=self._zone_groups(
                    schedule, spec, day, zones, now=now, wanted=Verdict.MISSED
                ),
            )
            await schedule_store.close_occurrence(session, occurrence=occurrence)
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
        candidates = await opening_store.event_candidates(
            session,
            event_flow=rec.event_flow,
            audience=spec.audience,
            events_from=settled - spec.window - after - EVENT_SLACK,
            events_until=now - after + EVENT_SLACK,
        )
        taken = await opening_store.taken_occurrences(
            session, schedule_id=_id(schedule), member_ids=[c.member_id for c in candidates]
        )
        to_open: dict[str, dict[Window, list[int]]] = {}
        to_miss: dict[str, dict[Window, list[int]]] = {}
        for c in candidates:
            day, window = self.rule.relative_window(spec, c.event_at, c.time_zone)
            occurrence = day.isoformat()
            if (c.member_id, occurrence) in taken:
                continue
            verdict = self.rule.verdict(
                window,
                now=now,
                active_from=schedule.active_from,
                raw_zone=c.time_zone,
                busy=c.busy,
            )
            if verdict == Verdict.MISSED:
                to_miss.setdefault(occurrence, {}).setdefault(window, []).append(c.member_id)
            elif verdict == Verdict.DUE:
                to_open.setdefault(occurrence, {}).setdefault(window, []).append(c.member_id)
        missed = sent = 0
        for occurrence, by_moments in to_miss.items():
            missed += await opening_store.record_missed(
                session,
                schedule_id=_id(schedule),
                occurrence=occurrence,
                audience=spec.audience,
                groups=_listed(by_moments),
            )
        for occurrence, by_moments in to_open.items():
            groups = _listed(by_moments)
            sent += await self._open(session, schedule, spec, occurrence, groups, now, checkpoint)
        await schedule_store.mark_settled(session, schedule=schedule, until=now)
        return sent, missed

    async def _open(
        self,
        session: AsyncSession,
        schedule: Schedule,
        spec: ScheduleSpec,
        occurrence: str,
        groups: Sequence[opening_store.Group],
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
        opening = opening_store.Opening(
            schedule_id=schedule_id,
            occurrence=occurrence,
            flow_id=flow.id,
            flow_version=flow.version,
            node_id=step.state.node_id,
            next_reminder_at=now + spec.reminders[0] if spec.reminders else None,
            source=f"checkin:{schedule_id}",
            dedupe_prefix=f"checkin:{schedule_id}:{occurrence}:",
            parts=self.messages.parts(flow),
            default_locale=self.messages.catalogs.default,
        )
        opened = last_member = 0
        while True:
            batch = await opening_store.open_checkins(
                session,
                opening,
                audience=spec.audience,
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

    async def _expire(self, session: AsyncSession, now: datetime) -> int:
        """Runs of check-ins whose window closed become expired; the anonymous answers already
        given leave the run as a ballot, still sealed."""
        expiring = await checkin_store.expiring_checkins(session, now=now)
        kept: dict[int, Mapping[str, Any]] = {}
        for item in expiring:
            if item.run_id is None or not item.answers or item.flow_id is None:
                continue
            await Ballots.cast_sealed(
                session, flow_id=item.flow_id, stored=item.answers, day=day_of(item.closes_at)
            )
            remaining = _named_only(self.flows.get(item.flow_id), item.answers)
            if remaining != item.answers:
                kept[item.run_id] = remaining
        await checkin_store.expire_checkins(session, expiring=expiring, answers=kept, now=now)
        return len(expiring)

    async def _abandon_stale(self, session: AsyncSession, now: datetime) -> int:
        """Close runs left untouched for `STALE_AFTER` so they no longer hold check-ins back;
        an active member is told once (the run is closed once). A run of an anonymous flow
        (a concern being written) goes without a trace, as on /cancel."""
        stale = await checkin_store.stale_runs(session, before=now - STALE_AFTER)
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
                kept = _named_only(flow, item.answers)
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
            text, language = self.messages.stale_closed(item, flow)
            await outbox.enqueue(
                session,
                chat_id=item.chat_id,
                member_id=item.member_id,
                text=text,
                language=language,
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
        due = await checkin_store.due_reminders(session, now=now, schedule_ids=list(specs))
        sources: dict[str, list[checkin_store.QueuedMessage]] = {}
        updates: list[dict[str, Any]] = []
        reminded: set[int] = set()
        for item in due:
            spec = specs[item.schedule_id]
            flow = self.flows.get(item.flow_id)
            if flow is None or self.rule.quiet(now, item.time_zone):
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
            number = item.reminders_sent + 1
            message = self.messages.reminder(item, flow, step, number=number)
            source = f"checkin:{item.schedule_id}"
            if len(split_html(message.text)) == 1:
                sources.setdefault(source, []).append(message)
            else:
                await outbox.enqueue(
                    session,
                    chat_id=message.chat_id,
                    member_id=message.member_id,
                    text=message.text,
                    reply_markup=message.reply_markup,
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
            await checkin_store.insert_messages(session, messages, source=source, now=now)
        await checkin_store.record_reminders(
            session, updates, run_ids=[item.run_id for item in due if item.checkin_id in reminded]
        )
        return len(updates)


def _listed(by_window: Mapping[Window, list[int]]) -> list[opening_store.Group]:
    return [
        opening_store.Group(w.due_at, w.closes_at, member_ids=ids) for w, ids in by_window.items()
    ]


def _named_only(flow: Flow | None, stored: Mapping[str, Any] | None) -> dict[str, Any]:
    """A run's named answers without the anonymous questions' (those leave it as a ballot)."""
    named = Ballots.named(stored)
    return without(named, anonymous_keys(flow) if flow else set(named))


def _id(row: Member | Schedule) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id
