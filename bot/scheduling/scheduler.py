"""Fires scheduled check-ins with APScheduler 3 (AsyncIOScheduler).

The database is the source of truth. At start the default schedules are ensured, a first pass
catches up on whatever came due while the bot was down, and one job per active schedule
(`schedule:<id>`, `replace_existing=True`) is (re)built from the database; every pass rebuilds
them, so schedules added or paused from the CLI are picked up too. A periodic sweep
(`checkins:sweep`) handles reminders, window closing, members who finished a conversation and
relative events. Each job runs `tick`, which asks `Checkins.run_due` what is due at the
injected clock's `now` and commits it, releases the anonymous answers now due
(`Ballots.release_due`) and files the anonymous concerns, replies and votes members sealed
(`SealedFiling.file_sealed`), escalates urgent tickets left unanswered and tells coordinators of
trust drops (`TrustAlerts`), each in a transaction of its own, then lets `Digests.run_due` send the
results of pulses whose window closed and the digests of other schedules (`voice_digest`,
`you_said_we_did`) and `ParentTies.run_due` alert coordinators after a parent check closed,
before waking the sender. One more job (`updates:prune`)
forgets handled update ids once Telegram can no longer deliver them again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# APScheduler 3 ships no type information.
from apscheduler.events import EVENT_JOB_SUBMITTED  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.ops.failures import FailureLog
from bot.services.alerts import TrustAlerts
from bot.services.ballots import Ballots
from bot.services.champions import Champions
from bot.services.checkins import Checkins, TickReport
from bot.services.commitment_checkins import CommitmentCheckins
from bot.services.concerns import Concerns
from bot.services.conversations import CONSENT_SHOWN_FOR
from bot.services.decisions import Decisions
from bot.services.digests import Digests
from bot.services.filing import SealedFiling
from bot.services.parent_ties import ParentTies
from bot.storage import keys, repo
from bot.storage.db import SessionFactory

log = logging.getLogger(__name__)
# A scheduled pass's work over its own session.
Pass = Callable[[AsyncSession], Awaitable[object]]
SWEEP_JOB = "checkins:sweep"
JOB_PREFIX = "schedule:"
PRUNE_JOB = "updates:prune"
# Telegram redelivers an update for a day at most; its id is remembered twice as long.
KEEP_UPDATE_IDS = timedelta(days=2)
PRUNE_EVERY = timedelta(hours=6)


def job_id(schedule_id: int) -> str:
    """The APScheduler job id of a schedule: the same id replaces the same job."""
    return f"{JOB_PREFIX}{schedule_id}"


class CheckinScheduler:
    """Runs `Checkins.run_due` when a schedule fires and every `sweep_interval` seconds."""

    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        checkins: Checkins,
        clock: Clock,
        sweep_interval: float,
        digests: Digests | None = None,
        ballots: Ballots | None = None,
        concerns: Concerns | None = None,
        filing: SealedFiling | None = None,
        escalate_after: timedelta | None = None,
        alerts: TrustAlerts | None = None,
        champions: Champions | None = None,
        parent_ties: ParentTies | None = None,
        commitments: CommitmentCheckins | None = None,
        decisions: Decisions | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.decisions = decisions
        self.commitments = commitments
        self.checkins = checkins
        self.digests = digests
        self.ballots = ballots
        self.concerns = concerns
        self.filing = filing
        self.escalate_after = escalate_after
        self.alerts = alerts
        self.champions = champions
        self.parent_ties = parent_ties
        self._filing: set[asyncio.Task[None]] = set()
        self.clock = clock
        self.sweep_interval = sweep_interval
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        # How late (s) the last job started after its due time: a busy event loop shows here.
        self.lag_s: float | None = None
        self._failures = FailureLog(
            log, "scheduled check-ins", meanwhile="the next sweep tries again"
        )

    @property
    def jobs(self) -> dict[str, datetime | None]:
        """Job id -> next run time (wall clock), for tests and logs."""
        if self._scheduler is None:
            return {}
        return {job.id: job.next_run_time for job in self._scheduler.get_jobs()}

    async def start(self) -> None:
        """Ensure the default schedules, catch up, then start firing."""
        now = self.clock.now()
        async with self.session_factory() as session:
            await self.checkins.ensure_defaults(session, now=now)
            await session.commit()
        self._scheduler = AsyncIOScheduler(
            timezone=ZoneInfo("UTC"),
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        self._scheduler.add_job(
            self._fire,
            IntervalTrigger(seconds=self.sweep_interval),
            id=SWEEP_JOB,
            replace_existing=True,
        )
        self._scheduler.add_job(
            self._prune,
            IntervalTrigger(seconds=PRUNE_EVERY.total_seconds()),
            id=PRUNE_JOB,
            replace_existing=True,
        )
        self._scheduler.add_listener(self._on_submitted, EVENT_JOB_SUBMITTED)
        self._scheduler.start()
        # Members must still be answered when scheduling breaks; the sweep tries again.
        await self._fire()

    async def stop(self) -> None:
        """Stop firing; a pass in progress finishes first."""
        async with self._lock:
            if self._scheduler is not None:
                self._scheduler.shutdown(wait=False)
                self._scheduler = None

    async def tick(self) -> TickReport:
        """Do what is due now, commit it (which wakes the sender, see
        `bot.storage.db.create_session_factory`) and rebuild the schedules' jobs."""
        async with self._lock:
            now = self.clock.now()
            async with self.session_factory() as session:
                # A large occurrence commits batch by batch; the sender starts on each.
                report = await self.checkins.run_due(session, now, checkpoint=session.commit)
                await session.commit()
            await self._release_ballots()
            await self.file_sealed()
            await self._apart("alerts", self._alert)
            if self.champions is not None:
                await self._apart("watching champions", self.champions.alert_quiet)
            if (commitments := self.commitments) is not None:
                await self._apart("commitment check-ins", lambda s: commitments.run_due(s, now))
            if (decisions := self.decisions) is not None:
                await self._apart("decisions", lambda s: decisions.run_due(s, now))
            async with self.session_factory() as session:
                if (digests := self.digests) is not None:
                    await self._inside(
                        session, "digests", lambda s: digests.run_due(s, now, report)
                    )
                if (ties := self.parent_ties) is not None:
                    await self._inside(
                        session, "parent-check alerts", lambda s: ties.run_due(s, now)
                    )
                fire = await self.checkins.next_fire_times(session, now)
                await session.commit()
            self._sync_jobs(fire, now)
            return report

    async def prune_updates(self) -> int:
        """Forget handled update ids older than `KEEP_UPDATE_IDS`; how many were forgotten.

        Every update leaves its id behind: a bot that runs for months must not keep them all.
        """
        async with self.session_factory() as session:
            before = self.clock.now() - KEEP_UPDATE_IDS
            pruned = await repo.prune_processed_updates(session, before=before)
            # A consent question nobody answered leaves nothing behind either.
            await keys.prune_consent_prompts(session, before=self.clock.now() - CONSENT_SHOWN_FOR)
            await session.commit()
        if pruned:
            log.info("forgot %s handled update ids from before %s", pruned, before.isoformat())
        return pruned

    async def _prune(self) -> None:
        try:
            await self.prune_updates()
        except Exception:
            log.exception("forgetting old update ids failed; the next run tries again")

    def _on_submitted(self, event: Any) -> None:
        if event.scheduled_run_times:
            due: datetime = event.scheduled_run_times[-1]
            self.lag_s = max(0.0, (datetime.now(UTC) - due).total_seconds())

    async def _apart(self, what: str, work: Pass) -> None:
        """`work` in a transaction of its own: a failure there holds nothing else back."""
        try:
            async with self.session_factory() as session:
                await work(session)
                await session.commit()
        except Exception:
            log.exception("%s failed; the next pass tries again", what)

    async def _release_ballots(self) -> None:
        """Anonymous answers due for release (after the occurrences just closed, before their
        results are computed)."""
        if (ballots := self.ballots) is not None:
            await self._apart(
                "releasing ballots", lambda s: ballots.release_due(s, now=self.clock.now())
            )

    async def file_sealed(self) -> None:
        """File the anonymous concerns, replies and votes members sealed, in a transaction of
        their own."""
        if self.filing is not None:
            await self._apart("filing sealed concerns and votes", self.filing.file_sealed)

    async def _alert(self, session: AsyncSession) -> None:
        """Urgent tickets left unanswered, then trust drops, each told once."""
        if self.concerns is not None and self.escalate_after is not None:
            await self.concerns.escalate_overdue(session, after=self.escalate_after)
        if self.alerts is not None:
            await self.alerts.run_due(session)

    def file_sealed_soon(self) -> None:
        """File what was sealed now, apart from the update that sealed it (which is not kept
        waiting); the sweep catches up on any this misses."""
        if self._scheduler is None:
            return
        task = asyncio.get_running_loop().create_task(self.file_sealed())
        self._filing.add(task)
        task.add_done_callback(self._filing.discard)

    async def _inside(self, session: AsyncSession, what: str, work: Pass) -> None:
        """`work` in a savepoint of `session`: a failure there undoes it alone and holds the
        rest of the pass (the next fire times) not back."""
        try:
            async with session.begin_nested():
                await work(session)
        except Exception:
            log.exception("%s failed; the next pass tries again", what)

    async def _fire(self) -> None:
        try:
            await self.tick()
        except Exception as exc:
            self._failures.failed(exc)
        else:
            self._failures.succeeded()

    def _sync_jobs(self, fire: Mapping[int, datetime], now: datetime) -> None:
        """One date job per schedule, at its next send time on the wall clock."""
        if self._scheduler is None:
            return
        wanted = {job_id(schedule_id) for schedule_id in fire}
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
                job.remove()
        wall = datetime.now(UTC)
        for schedule_id, moment in fire.items():
            # The injected clock may run ahead of the wall clock (the sandbox's :advance).
            run_at = wall + max(moment - now, timedelta(0))
            self._scheduler.add_job(
                self._fire,
                DateTrigger(run_date=run_at),
                id=job_id(schedule_id),
                replace_existing=True,
            )
