"""The running bot: wires settings, storage, flows, wording and the dispatcher together."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cluster.leader import Leadership
from bot.cluster.locks import ping, startup_lock
from bot.config import Settings
from bot.content import Content
from bot.delivery import leases
from bot.delivery.sender import Sender
from bot.domain.clock import Clock, SystemClock
from bot.domain.flows import FlowError, FlowProblem, FlowRegistry
from bot.i18n import Catalogs
from bot.ops.failures import FailureLog
from bot.ops.lag import LoopProbe
from bot.ops.metrics import Metrics, Snapshot
from bot.ops.server import OpsServer, Probes, build_ops_app
from bot.scheduling.scheduler import KEEP_UPDATE_IDS, CheckinScheduler
from bot.services.checkins import Checkins
from bot.services.conversations import ONBOARDING, Conversations
from bot.services.digests import Digests
from bot.services.runtime import Services
from bot.services.sealing import Sealer, unlock
from bot.storage import migrate, outbox_figures, repo
from bot.storage.db import (
    SessionFactory,
    check_reachable,
    create_reader,
    create_session_factory,
    engine_for,
)
from bot.storage.models import OutboxMessage
from bot.telegram.factory import (
    build_bot,
    build_dispatcher,
    publish_commands,
    publish_description,
)
from bot.telegram.middlewares import UpdateTracker
from bot.telegram.progress import BroadcastMonitor
from bot.telegram.retry import RetryInBackground
from bot.telegram.sending import build_transport
from bot.telegram.topics import ForumTopics, TopicTransport
from bot.telegram.webhook import WebhookReceiver

log = logging.getLogger(__name__)
HEALTH_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Runtime:
    """What `BotApp.prepare` builds once: the database, the features, the bot, its dispatcher."""

    engine: AsyncEngine
    sessions: SessionFactory
    # Long reads (reports, exports, health): no write lock, one snapshot (`create_reader`).
    reader: AsyncEngine
    reads: SessionFactory
    services: Services
    bot: Bot
    dispatcher: Dispatcher
    monitor: BroadcastMonitor
    topics: ForumTopics


@dataclass
class BotApp:
    """partnerbot, polling one Bot API server (or receiving by webhook when `webhook` is set);
    `start` and `stop` for tests and the sandbox.

    Every instance handles updates and runs an outbox sender that sends the replies its
    updates wrote (the fast path); only the leader (bot/cluster) has it claim due rows, and
    runs the check-in scheduler and the broadcast monitor. On SQLite the one instance always
    leads.
    """

    settings: Settings
    webhook: bool = False
    clock: Clock = field(default_factory=SystemClock)
    tracker: UpdateTracker = field(default_factory=UpdateTracker)
    # Built once by `prepare`; what follows changes as the instance starts, leads and stops.
    runtime: Runtime | None = None
    sender: Sender | None = None
    # This run's name on the outbox leases it takes (replies and claims alike).
    lease_owner: str = ""
    scheduler: CheckinScheduler | None = None
    leadership: Leadership | None = None
    ops: OpsServer | None = None
    metrics: Metrics = field(default_factory=Metrics)
    probe: LoopProbe | None = None
    retries: RetryInBackground = field(default_factory=RetryInBackground)
    _polling: asyncio.Task[None] | None = None
    _draining: bool = False
    _background: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _probe_failures: FailureLog = field(
        default_factory=lambda: FailureLog(log, "the health check's database probe")
    )
    _figure_failures: FailureLog = field(
        default_factory=lambda: FailureLog(log, "reading the outbox figures for /metrics")
    )

    @property
    def ready(self) -> Runtime:
        """What `prepare` built; RuntimeError before."""
        if self.runtime is None:
            raise RuntimeError("the bot is not prepared yet (BotApp.prepare)")
        return self.runtime

    # The parts tests, the sandbox and the benchmarks reach for, by their usual names.
    @property
    def engine(self) -> AsyncEngine:
        return self.ready.engine

    @property
    def session_factory(self) -> SessionFactory:
        return self.ready.sessions

    @property
    def read_sessions(self) -> SessionFactory:
        return self.ready.reads

    @property
    def bot(self) -> Bot:
        return self.ready.bot

    @property
    def dispatcher(self) -> Dispatcher:
        return self.ready.dispatcher

    @property
    def monitor(self) -> BroadcastMonitor:
        return self.ready.monitor

    @property
    def content(self) -> Content:
        return self.ready.services.content

    @property
    def catalogs(self) -> Catalogs:
        return self.content.catalogs

    @property
    def flows(self) -> FlowRegistry:
        return self.content.flows

    @property
    def sealer(self) -> Sealer:
        return self.ready.services.sealer

    @property
    def conversations(self) -> Conversations:
        return self.ready.services.conversations

    @property
    def checkins(self) -> Checkins:
        return self.ready.services.checkins

    @property
    def digests(self) -> Digests:
        return self.ready.services.digests

    def wake_sender(self) -> None:
        """Tell the outbox sender that new messages are waiting: called by every session
        whose transaction queued rows, once it commits (`create_session_factory`)."""
        if self.sender is not None:
            self.sender.wake()

    async def deliver_replies(self, rows: Sequence[OutboxMessage]) -> None:
        """Send the replies an update wrote leased to this instance (see `Sender.deliver_now`);
        without a sender (stopping), their leases end and the leader's sender takes them."""
        if self.sender is not None:
            await self.sender.deliver_now(rows, wait_s=self.settings.send_lease_s)

    async def prepare(self) -> None:
        """Migrate the database, load flows and wording, build the bot; no network yet."""
        content = Content.load(self.settings)
        engine = engine_for(self.settings)
        sessions = create_session_factory(engine, after_queueing=self.wake_sender)
        reader = create_reader(engine)
        try:
            sealer = await self._open_database(engine, sessions)
        except BaseException:
            # Nothing half-built stays open: the caller has no runtime to close.
            for each in (reader, engine):
                await each.dispose()
            raise
        services = Services.build(self.settings, content, sealer=sealer, clock=self.clock)
        self.lease_owner = leases.lease_owner(self.settings)
        bot = build_bot(self.settings, on_rate_limited=self.metrics.observe_reply_rate_limited)
        reads = create_session_factory(reader)
        topics = ForumTopics(bot=bot, catalogs=content.catalogs, sessions=sessions)
        dispatcher = build_dispatcher(
            sealer=sealer,
            broadcasts=services.broadcasts,
            checkins=services.checkins,
            conversations=services.conversations,
            catalogs=content.catalogs,
            sessions=sessions,
            reads=reads,
            clock=self.clock,
            tracker=self.tracker,
            redelivered=self.webhook,
            retry_s=self.settings.update_retry_s,
            deliver=self.deliver_replies,
            reply_lease_s=self.settings.send_lease_s,
            reply_lease_owner=self.lease_owner,
            chat_lock_namespace=self._namespace if engine.dialect.name == "postgresql" else None,
            services={
                "concerns": services.concerns,
                "committees": services.committees,
                "champions": services.champions,
                "invitations": services.invitations,
                "reports": services.reports,
                "exports": services.exports,
                "caucus": services.caucus,
                "parent_ties": services.parent_ties,
                "commitments": services.commitments,
                "objectives": services.objectives,
                "decisions": services.decisions,
                "committee_groups": services.committee_groups,
                "topics": topics,
            },
        )
        monitor = BroadcastMonitor(
            bot=bot,
            session_factory=sessions,
            broadcasts=services.broadcasts,
            catalogs=content.catalogs,
            interval=self.settings.progress_interval_s,
        )
        if self.metrics.observe_update not in self.tracker.observers:
            self.tracker.observers.append(self.metrics.observe_update)
        self.runtime = Runtime(
            engine=engine,
            sessions=sessions,
            reader=reader,
            reads=reads,
            services=services,
            bot=bot,
            dispatcher=dispatcher,
            monitor=monitor,
            topics=topics,
        )

    async def _open_database(self, engine: AsyncEngine, sessions: SessionFactory) -> Sealer:
        """Reach, migrate and tidy the database; the sealer its anonymity key opens."""
        await check_reachable(engine, connect_timeout_s=self.settings.database_connect_timeout_s)
        async with startup_lock(engine, namespace=self._namespace):
            await migrate.upgrade(engine)
            async with sessions() as session:
                now = self.clock.now()
                await repo.prune_processed_updates(session, before=now - KEEP_UPDATE_IDS)
                await repo.ensure_admins(
                    session, telegram_user_ids=self.settings.admin_ids, now=now
                )
                # Refuses (KeyProblem) a key other than the one the database was set up with.
                sealer = await unlock(session, self.settings, now=now)
                await session.commit()
        return sealer

    @property
    def _namespace(self) -> str:
        return self.settings.database_schema or "public"

    async def start(self) -> None:
        """Prepare, announce commands, campaign for leadership, then receive updates."""
        if self.probe is None:
            self.probe = LoopProbe(self.metrics.observe_loop_lag)
        self.probe.start()
        await self.prepare()
        ready = self.ready
        me = await ready.bot.get_me()
        log.info("partnerbot is @%s (id %s)", me.username, me.id)
        await self._publish_profile()
        self._draining = False
        self.start_sender()
        self.leadership = Leadership(
            ready.engine,
            namespace=self._namespace,
            poll_interval=self.settings.leader_poll_s,
            on_elected=self._lead,
            on_deposed=self._follow,
        )
        await self.leadership.start()
        if self.webhook:
            await self._receive_by_webhook()
            return
        # Should it fail, getUpdates is refused while a webhook is set, and polling retries.
        await self.retries.call(
            "deleteWebhook", lambda: ready.bot.delete_webhook(drop_pending_updates=False)
        )
        if self.settings.ops_port is not None:
            self.ops = OpsServer(build_ops_app(probes=self._probes(), metrics=self.metrics))
            await self.ops.start(self.settings.ops_host, self.settings.ops_port)
        self._polling = asyncio.create_task(
            ready.dispatcher.start_polling(
                ready.bot,
                handle_signals=False,
                close_bot_session=False,
                # Past this many updates in progress, the rest wait at Telegram (unconfirmed)
                # instead of queueing for a database connection inside the bot.
                tasks_concurrency_limit=self.settings.update_concurrency,
                allowed_updates=ready.dispatcher.resolve_used_update_types(),
            ),
            name="partnerbot-polling",
        )

    def start_sender(self) -> None:
        """Start the outbox sender (bot/delivery), with a Bot of its own that does not retry:
        it sends this instance's replies, and claims due rows while this instance leads."""
        services = self.ready.services
        self.sender = Sender(
            settings=self.settings,
            session_factory=self.ready.sessions,
            transport=TopicTransport(build_transport(self.settings), self.ready.topics),
            clock=self.clock,
            open_route=services.sealer.open_message,
            composer=services.checkins,
            claiming=False,
            on_reply_rate_limited=self.metrics.observe_reply_rate_limited,
            owner=self.lease_owner or None,
            # Typed answers compare with what this sender showed before its outcome commits.
            shown=services.conversations.shown,
        )
        self.sender.start()

    async def _receive_by_webhook(self) -> None:
        """Serve the webhook (with /healthz and /metrics), then tell Telegram where it is."""
        ready = self.ready
        url, secret = self.settings.webhook()
        receiver = WebhookReceiver(
            dispatcher=ready.dispatcher,
            bot=ready.bot,
            secret=secret,
            observe=self.metrics.observe_webhook,
        )
        path = urlsplit(url).path or "/"
        app = build_ops_app(
            probes=self._probes(), metrics=self.metrics, webhook=(path, receiver.handle)
        )
        self.ops = OpsServer(app)
        await self.ops.start(self.settings.webhook_host, self.settings.webhook_port)
        # Every instance registers the same public URL (a load balancer's); doing it again
        # is harmless, and the updates Telegram holds stay queued for us.
        await ready.bot.set_webhook(
            url,
            secret_token=secret,
            allowed_updates=ready.dispatcher.resolve_used_update_types(),
            drop_pending_updates=False,
        )
        log.info("receiving updates by webhook at %s", url)

    async def _publish_profile(self) -> None:
        """The command menu and the descriptions, in every language: the bot serves without
        them, so a failure is retried in the background."""
        bot, catalogs, flows = self.bot, self.catalogs, self.flows
        await self.retries.call("setMyCommands", lambda: publish_commands(bot, catalogs, flows))
        for method, short in (("setMyDescription", False), ("setMyShortDescription", True)):
            await self.retries.call(
                method, functools.partial(publish_description, bot, catalogs, short=short)
            )

    # -- leadership: what only one instance runs ----------------------------------------------

    async def _lead(self) -> None:
        """This instance leads: the outbox sender claims, the scheduler and the broadcast
        monitor run."""
        ready = self.ready
        services = ready.services
        assert self.sender is not None
        self._stopping = asyncio.Event()
        self.sender.lead()
        # Scheduled check-ins: defaults ensured, downtime caught up, jobs rebuilt from the DB.
        self.scheduler = CheckinScheduler(
            session_factory=ready.sessions,
            checkins=services.checkins,
            clock=self.clock,
            sweep_interval=self.settings.checkin_sweep_s,
            digests=services.digests,
            ballots=services.ballots,
            concerns=services.concerns,
            filing=services.filing,
            escalate_after=timedelta(hours=self.settings.urgent_escalation_h),
            alerts=services.alerts,
            champions=services.champions,
            parent_ties=services.parent_ties,
            commitments=services.commitment_checkins,
            decisions=services.decisions,
        )
        services.filing.when_sealed(self.scheduler.file_sealed_soon)
        await self.scheduler.start()
        self._background.append(
            asyncio.create_task(ready.monitor.run(self._stopping), name="broadcasts")
        )

    async def _follow(self) -> None:
        """Stop what only the leader runs; the sender stops claiming, its claimed rows go back."""
        self._stopping.set()
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.scheduler = None
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        if self.sender is not None:
            await self.sender.follow()

    # -- operations: /healthz and /metrics ----------------------------------------------------

    def _probes(self) -> Probes:
        return Probes(health=self.health, snapshot=self.snapshot)

    async def health(self) -> tuple[bool, Mapping[str, Any]]:
        """Healthy: the database answers and the instance is not shutting down."""
        database = True
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S):
                await ping(self.ready.reader)
        except Exception as exc:
            self._probe_failures.failed(exc)
            database = False
        else:
            self._probe_failures.succeeded()
        details = {
            "database": database,
            "leader": self.leadership is not None and self.leadership.is_leader,
            "mode": "webhook" if self.webhook else "polling",
            "draining": self._draining,
            "updates_in_flight": self.tracker.in_flight,
        }
        return database and not self._draining, details

    async def snapshot(self) -> Snapshot:
        """Figures for /metrics; the outbox's are read from the database."""
        figures: dict[str, Any] = {}
        if self.runtime is not None:
            try:
                async with asyncio.timeout(HEALTH_TIMEOUT_S), self.runtime.reads() as session:
                    now = self.clock.now()
                    oldest = await outbox_figures.oldest_due_at(session, now=now)
                    figures = {
                        "outbox_depth": await outbox_figures.outbox_depth(session),
                        "deliveries": await outbox_figures.delivery_counts(session),
                        "outbox_oldest_age_s": (
                            0.0 if oldest is None else max(0.0, (now - oldest).total_seconds())
                        ),
                    }
            except Exception as exc:
                self._figure_failures.failed(exc)
            else:
                self._figure_failures.succeeded()
        leadership = self.leadership
        return Snapshot(
            leader=leadership is not None and leadership.is_leader,
            leader_terms=leadership.terms if leadership is not None else 0,
            updates_in_flight=self.tracker.in_flight,
            scheduler_lag_s=self.scheduler.lag_s if self.scheduler is not None else None,
            **figures,
        )

    async def stop(self) -> None:
        """Stop receiving, let updates in progress finish, stop leading (releasing the lock),
        close connections.

        In webhook mode /healthz answers 503 for `shutdown_grace_s` before the listener closes,
        so that a load balancer stops sending updates here first; updates that still arrive
        meanwhile are handled.
        """
        self._draining = True
        if self.webhook and self.ops is not None and self.settings.shutdown_grace_s > 0:
            log.info(
                "shutting down: /healthz answers 503 for %ss before the webhook closes",
                self.settings.shutdown_grace_s,
            )
            await asyncio.sleep(self.settings.shutdown_grace_s)
        runtime = self.runtime
        if self._polling is not None and runtime is not None:
            with contextlib.suppress(RuntimeError):
                await runtime.dispatcher.stop_polling()
            # stop_polling() does nothing before polling has begun: cancel the task then.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._polling), timeout=5)
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        if self.ops is not None:
            # Stops accepting webhook requests; those in progress finish first.
            await self.ops.stop()
            self.ops = None
        with contextlib.suppress(TimeoutError):
            await self.tracker.wait_idle(timeout=10)
        if self.leadership is not None:
            await self.leadership.stop()
            self.leadership = None
        else:
            await self._follow()
        if self.sender is not None:
            # Sends in flight finish and claimed rows go back.
            await self.sender.stop()
            self.sender = None
        await self.retries.close()
        if runtime is not None:
            runtime.services.close()
            await runtime.bot.session.close()
            # On PostgreSQL the reader shares the engine's pool: disposing of both is harmless.
            for engine in (runtime.reader, runtime.engine):
                await engine.dispose()
        if self.probe is not None:
            await self.probe.stop()

    async def run_until_stopped(
        self, stop: asyncio.Event, *, on_started: Callable[[], None] | None = None
    ) -> None:
        """Run until `stop` is set (by a signal handler in the CLI)."""
        try:
            await self.start()
            if on_started is not None:
                on_started()
            waiting = asyncio.create_task(stop.wait())
            tasks: list[asyncio.Task[Any]] = [waiting]
            if self._polling is not None:
                tasks.append(self._polling)
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if self._polling is not None and self._polling in done:
                self._polling.result()
        finally:
            await self.stop()

    # -- hot reload (the sandbox's web simulator) -------------------------------------------

    async def reload_content(self) -> FlowError | None:
        """Reload flows and wording and swap them in; on a problem, keep the running version.

        Returns the error (file, flow and node of each problem) instead of raising it.
        """
        content = self.content  # RuntimeError before `prepare`
        try:
            loaded = await asyncio.to_thread(Content.load, self.settings)
        except FlowError as exc:
            return exc
        except (OSError, ValueError) as exc:  # no catalogs, or no default locale among them
            return FlowError([FlowProblem(str(self.settings.locales_dir), str(exc))])
        if ONBOARDING not in loaded.flows:
            message = f"the flows directory must define the '{ONBOARDING}' flow"
            return FlowError([FlowProblem(str(self.settings.flows_dir), message)])
        content.swap(loaded)
        if self._polling is not None:
            await self._publish_profile()
        log.info("flows and wording reloaded: %s", ", ".join(content.flows.flows))
        return None

    # -- end of hot reload ------------------------------------------------------------------
