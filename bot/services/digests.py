"""Digests: pulse results when a window closes, the voice digest before a committee meets, and
"you said, we did" for everyone.

Every message goes through the durable outbox, in the same transaction as the mark that keeps
it from going twice (`ScheduleOccurrence.results_sent_at`, the digest's occurrence row,
`Committee.last_digest_at`, `Ticket.reported_at`), and waits for the end of each reader's quiet
hours. Figures are k-anonymous (`Settings.report_min_group`); no digest names anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import partial

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.audiences import Audience
from bot.domain.concerns import CATEGORIES
from bot.domain.digests import (
    MAX_QUOTES,
    PulseResults,
    VoiceDigest,
    acted_on,
    pulse_results,
    voice_digest,
)
from bot.domain.figures import AnswerRow, in_periods
from bot.domain.flows import AskNode, FlowRegistry
from bot.domain.releases import Periods, releasable, round_since
from bot.domain.schedules import (
    ScheduleError,
    ScheduleSpec,
    validate,
)
from bot.domain.timing import quiet_hours_end, zone
from bot.i18n import Catalogs, Translator
from bot.services.ballots import day_of as day_start
from bot.services.checkins import TickReport, spec_of
from bot.services.committee_groups import GroupPosts
from bot.services.conversations import ONBOARDING
from bot.services.digest_wording import DigestWording
from bot.storage import committees as committee_store
from bot.storage import digests as queries
from bot.storage import schedules as store
from bot.storage.group_models import GroupPurpose
from bot.storage.groups import group_of_committee
from bot.storage.models import (
    Committee,
    OccurrenceStatus,
    Schedule,
    ScheduleKind,
    ScheduleOccurrence,
    ScheduleStatus,
)
from bot.storage.outbox_rows import Queued, enqueue_many
from bot.storage.reports import list_answer_rows, list_pulse_windows

log = logging.getLogger(__name__)
DIGEST_KINDS = (ScheduleKind.VOICE_DIGEST, ScheduleKind.YOU_SAID_WE_DID)
DEFAULT_PULSE = "trust_pulse"
# A digest may still go out this long after its time (the bot was down); later it is missed.
DEFAULT_DIGEST_WINDOW = timedelta(hours=24)
# What a first voice digest looks back on, when the committee never had one.
FIRST_DIGEST_SPAN = timedelta(days=28)
# Results of occurrences that closed longer ago than this are old news: never sent.
RESULTS_STALE = timedelta(days=7)


class DigestError(ScheduleError):
    """A digest schedule that cannot work; worded under `digest.error.<code>`."""

    @property
    def key(self) -> str:
        return f"digest.error.{self.code}"


@dataclass
class DigestReport:
    """What one pass sent."""

    digests: int = 0
    results: int = 0
    missed: int = 0


class Digests:
    """Builds digests from aggregate rows and queues them through the outbox."""

    def __init__(
        self,
        *,
        flows: FlowRegistry,
        catalogs: Catalogs,
        partnership_timezone: str,
        quiet_start: time,
        quiet_end: time,
        min_group: int,
        min_commenters: int = 10,
        posts: GroupPosts | None = None,
    ) -> None:
        # Committees' groups get each digest too (their members keep their private copies).
        self.posts = posts
        self.partnership_timezone = partnership_timezone
        self.tz = zone(None, partnership_timezone)
        self.quiet_start = quiet_start
        self.quiet_end = quiet_end
        self.k = min_group
        self.min_commenters = min_commenters
        self.use(flows, catalogs)

    def use(self, flows: FlowRegistry, catalogs: Catalogs) -> None:
        """Work with these flows and this wording from now on (the sandbox reloads them)."""
        self.flows = flows
        self.catalogs = catalogs
        self.groups = flows.options_for("stakeholder_group")
        self.wording = DigestWording(flows, k=self.k, tz=self.tz)

    # -- schedules --------------------------------------------------------------------------

    async def create(
        self,
        session: AsyncSession,
        spec: ScheduleSpec,
        *,
        kind: ScheduleKind,
        committee: str | None,
        now: datetime,
        created_by: int | None = None,
    ) -> Schedule:
        """Store a digest schedule: a voice digest names its committee, and its pulse flow."""
        if kind not in DIGEST_KINDS:
            raise DigestError("kind", value=str(kind))
        if spec.recurrence.relative:
            raise DigestError("relative")
        if spec.reminders:
            raise DigestError("reminders")
        committee_id = None
        flow_id: str = kind.value
        if kind == ScheduleKind.VOICE_DIGEST:
            if not committee:
                raise DigestError("committee_missing")
            found = await committee_store.find_committee(session, name=committee, active_only=True)
            if found is None:
                raise DigestError("committee", value=committee)
            committee_id = found.id
            flow_id = spec.flow_id or DEFAULT_PULSE
            if flow_id not in self.flows:
                raise ScheduleError("flow", value=flow_id)
        elif committee:
            raise DigestError("committee_unused")
        checked = ScheduleSpec(
            flow_id=flow_id,
            recurrence=spec.recurrence,
            basis="partnership",
            window=spec.window,
            reminders=(),
        )
        validate(checked, flows={flow_id}, now=now, partnership=self.tz)
        rec = spec.recurrence
        if rec.anchor is None:
            anchor = now.astimezone(self.tz).date().isoformat()
            rec = type(rec).from_json({**rec.to_json(), "anchor": anchor})
        schedule = await store.create_schedule(
            session,
            flow_id=flow_id,
            recurrence=rec.to_json(),
            basis="partnership",
            audience={},
            window_minutes=int(spec.window.total_seconds() // 60),
            reminder_minutes=[],
            created_by=created_by,
            now=now,
            kind=kind.value,
            committee_id=committee_id,
        )
        assert schedule is not None
        return schedule

    # -- running ----------------------------------------------------------------------------

    async def run_due(
        self, session: AsyncSession, now: datetime, report: TickReport | None = None
    ) -> DigestReport:
        """Send the results of closed pulses and every digest whose time has come.

        Works in the caller's transaction; commit it (the commit wakes the sender).
        """
        done = DigestReport()
        done.results = await self.send_results(session, now)
        schedules = await store.list_schedules(session, statuses=[ScheduleStatus.ACTIVE])
        for schedule in schedules:
            if schedule.kind in DIGEST_KINDS:
                sent, missed = await self._run_schedule(session, schedule, now)
                done.digests += sent
                done.missed += missed
        if report is not None:
            report.digests += done.digests
            report.results += done.results
            report.missed += done.missed
        if done.digests or done.results:
            log.info(
                "digests at %s: %s digest messages, %s result messages",
                now.isoformat(timespec="minutes"),
                done.digests,
                done.results,
            )
        return done

    async def _run_schedule(
        self, session: AsyncSession, schedule: Schedule, now: datetime
    ) -> tuple[int, int]:
        spec = spec_of(schedule)
        caught = await store.catch_up(
            session,
            schedule=schedule,
            spec=spec,
            basis="partnership",
            partnership=self.tz,
            due=OccurrenceStatus.CLOSED,
            now=now,
        )
        for day in caught.missed:
            log.warning(
                "digest schedule #%s: the digest of %s was missed (the bot was not running)",
                schedule.id,
                day.isoformat(),
            )
        occurrence = caught.due
        if occurrence is None:
            return 0, len(caught.missed)
        if schedule.kind == ScheduleKind.VOICE_DIGEST:
            sent = await self.send_voice_digest(session, schedule, occurrence, now)
        else:
            sent = await self.send_you_said_we_did(session, schedule, occurrence, now)
        await queries.mark_results_sent(session, occurrence=occurrence, now=now)
        return sent, len(caught.missed)

    # -- pulse results ----------------------------------------------------------------------

    def number_questions(self, flow_id: str) -> list[str]:
        """The keys of a flow's scale questions, in the flow's order."""
        flow = self.flows.get(flow_id)
        if flow is None:
            return []
        return [n.key for n in flow.nodes.values() if isinstance(n, AskNode) and n.ask == "scale"]

    async def pulse(
        self, session: AsyncSession, flow_id: str, *, since: datetime, until: datetime
    ) -> PulseResults:
        """A flow's answers in [since, until) by group, suppressed."""
        questions = self.number_questions(flow_id)
        rows = await self._rows(session, flow_id, questions, since=since, until=until)
        return pulse_results(rows, questions=questions, groups=self.groups, k=self.k)

    async def _rows(
        self,
        session: AsyncSession,
        flow_id: str,
        questions: Sequence[str],
        *,
        since: datetime,
        until: datetime,
    ) -> list[AnswerRow]:
        """Members' own answers (never a facilitator's proxy ones) to these questions in
        [since, until), without who gave them."""
        if not questions:
            return []
        return await list_answer_rows(
            session,
            flow_ids=[flow_id],
            question_keys=questions,
            since=since,
            until=until,
            own_only=True,
            named=False,
        )

    async def send_results(self, session: AsyncSession, now: datetime) -> int:
        """Every participant of each newly closed occurrence gets its aggregate results, once."""
        sent = 0
        due = await queries.occurrences_awaiting_results(
            session, now=now, closed_since=now - RESULTS_STALE
        )
        for occurrence, schedule in due:
            readers = await queries.participants(
                session, schedule_id=_id(schedule), occurrence=occurrence.occurrence
            )
            if readers and self.number_questions(schedule.flow_id):
                results = await self.pulse(
                    session,
                    schedule.flow_id,
                    since=day_start(occurrence.first_send_at),
                    until=occurrence.last_close_at,
                )
                day = date.fromisoformat(occurrence.occurrence)
                text_for = partial(self.wording.render_results, results, schedule.flow_id, day)
                sent += await self._share(
                    session,
                    readers,
                    text_for,
                    source=f"results:{schedule.id}",
                    dedupe=f"results:{occurrence.id}",
                    now=now,
                )
            await queries.mark_results_sent(session, occurrence=occurrence, now=now)
        return sent

    # -- the voice digest -------------------------------------------------------------------

    async def build_voice_digest(
        self, session: AsyncSession, *, pulse_flow: str, since: datetime, until: datetime
    ) -> VoiceDigest:
        """What members said from the start of the week of `since` until `until`, as figures a
        committee may see: whole periods over by `until`, each under k left out, like every
        other release; comments quoted only among at least `min_commenters` of them."""
        first_day = round_since(since)
        questions = self.number_questions(pulse_flow)
        windows = await list_pulse_windows(session, flow_ids=[pulse_flow])
        periods = Periods(windows.get(pulse_flow, ()))
        finished = releasable(
            [
                run
                for run in await queries.finished_runs(
                    session, since=first_day, until=until, exclude_flows=[ONBOARDING]
                )
                if periods.closed(run[1], until)
            ],
            figure_of=lambda run: run[0],
            period_of=lambda run: periods.of(run[1]),
            respondents=len,
            k=self.k,
        )
        responses: dict[str, int] = {}
        for group, _ in finished:
            responses[group] = responses.get(group, 0) + 1
        comments = await queries.count_comments(
            session, since=first_day, until=until, exclude_flows=[ONBOARDING], periods=periods
        )
        quotes = (
            await queries.quotable_comments(
                session, since=first_day, until=until, periods=periods, limit=MAX_QUOTES * 3
            )
            if comments >= self.min_commenters
            else []
        )
        return voice_digest(
            responses=responses,
            open_concerns=await queries.open_concerns_by_category(session),
            pulse_rows=in_periods(
                await self._rows(session, pulse_flow, questions, since=first_day, until=until),
                lambda _: periods,
                closed_by=until,
            ),
            pulse_questions=questions,
            quotes=quotes,
            groups=self.groups,
            categories=CATEGORIES,
            k=self.k,
        )

    async def send_voice_digest(
        self,
        session: AsyncSession,
        schedule: Schedule,
        occurrence: ScheduleOccurrence,
        now: datetime,
    ) -> int:
        """The committee's members get what was said since its last digest."""
        committee = (
            None
            if schedule.committee_id is None
            else await committee_store.get_committee(session, committee_id=schedule.committee_id)
        )
        if committee is None or committee.archived_at is not None:
            log.warning("digest schedule #%s: its committee is gone; nothing sent", schedule.id)
            return 0
        readers = await queries.recipients(session, Audience(committees=(_id(committee),)))
        if not readers and await group_of_committee(session, committee_id=_id(committee)) is None:
            return 0
        # Whole weeks, like every release: the digest says from which Monday.
        since = round_since(committee.last_digest_at or now - FIRST_DIGEST_SPAN)
        digest = await self.build_voice_digest(
            session, pulse_flow=schedule.flow_id, since=since, until=now
        )

        def text_for(t: Translator) -> str:
            return self.wording.render_voice_digest(digest, committee, schedule.flow_id, since, t)

        sent = await self._share(
            session,
            readers,
            text_for,
            source=f"digest:{schedule.id}",
            dedupe=f"digest:{schedule.id}:{occurrence.occurrence}",
            now=now,
            committee_id=_id(committee),
        )
        await queries.mark_committee_digest(session, committee=committee, now=now)
        return sent

    # -- you said, we did -------------------------------------------------------------------

    async def send_you_said_we_did(
        self,
        session: AsyncSession,
        schedule: Schedule,
        occurrence: ScheduleOccurrence,
        now: datetime,
    ) -> int:
        """Everyone hears what became of the concerns acted on since the last one."""
        tickets = await queries.tickets_to_report(session)
        if not tickets:
            return 0
        lines = acted_on(tickets, await queries.status_summaries(session, tickets=tickets))
        readers = await queries.recipients(session, Audience())

        def text_for(t: Translator) -> str:
            return self.wording.render_you_said_we_did(lines, t)

        sent = await self._share(
            session,
            readers,
            text_for,
            source=f"digest:{schedule.id}",
            dedupe=f"digest:{schedule.id}:{occurrence.occurrence}",
            now=now,
        )
        await queries.mark_reported(session, ticket_ids=[t.ticket_id for t in tickets], now=now)
        return sent

    # -- queueing ---------------------------------------------------------------------------

    async def _queue(
        self,
        session: AsyncSession,
        readers: Sequence[queries.Recipient],
        text_for: Callable[[Translator], str],
        *,
        source: str,
        dedupe: str,
        now: datetime,
    ) -> int:
        """One message per reader, worded once per language, held until their quiet hours end."""
        texts: dict[str, str] = {}
        queued = []
        for reader in readers:
            t = self.catalogs.translator(reader.language)
            if t.locale not in texts:
                texts[t.locale] = text_for(t)
            tz = zone(reader.time_zone, self.partnership_timezone)
            queued.append(
                Queued(
                    chat_id=reader.chat_id,
                    member_id=reader.member_id,
                    text=texts[t.locale],
                    language=t.locale,
                    source=source,
                    dedupe_key=f"{dedupe}:{reader.member_id}",
                    not_before=quiet_hours_end(now, tz, self.quiet_start, self.quiet_end),
                )
            )
        return await enqueue_many(session, queued, now=now)

    async def _share(
        self,
        session: AsyncSession,
        readers: Sequence[queries.Recipient],
        text_for: Callable[[Translator], str],
        *,
        source: str,
        dedupe: str,
        now: datetime,
        committee_id: int | None = None,
    ) -> int:
        """To every reader (`_queue`), and the same in committees' groups: one committee's, or
        every bound one."""
        sent = await self._queue(session, readers, text_for, source=source, dedupe=dedupe, now=now)
        if self.posts is None:
            return sent
        return sent + await self.posts.post(
            session,
            purpose=GroupPurpose.DIGESTS,
            text_for=text_for,
            committee_id=committee_id,
            dedupe=dedupe,
            now=now,
        )


def _id(row: Schedule | Committee) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id
