"""The running bot: wires settings, storage, flows, wording and the dispatcher together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from aiogram import Bot, Dispatcher
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import Settings
from bot.delivery.sender import Sender
from bot.domain.clock import Clock, SystemClock
from bot.domain.flows import FlowError, FlowProblem, FlowRegistry, load_flows
from bot.i18n import Catalogs
from bot.scheduling.scheduler import CheckinScheduler
from bot.services.broadcasts import Broadcasts
from bot.services.checkins import Checkins
from bot.services.conversations import ONBOARDING, Conversations
from bot.services.sealing import Sealer, load_sealer
from bot.storage import migrate, repo
from bot.storage.db import SessionFactory, create_engine, create_session_factory
from bot.telegram.factory import build_bot, build_dispatcher, publish_commands
from bot.telegram.middlewares import UpdateTracker
from bot.telegram.progress import BroadcastMonitor
from bot.telegram.sending import build_transport

log = logging.getLogger(__name__)
KEEP_UPDATE_IDS = timedelta(days=2)


def load_content(settings: Settings) -> tuple[Catalogs, FlowRegistry]:
    """Wording and flows, checked against each other; raises FlowError naming what is wrong."""
    catalogs = Catalogs.load(settings.locales_dir, default=settings.default_locale)
    flows = load_flows(settings.flows_dir, locale_keys=catalogs.keys())
    return catalogs, flows


@dataclass
class BotApp:
    """partnerbot, polling one Bot API server; `start` and `stop` for tests and the sandbox."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    tracker: UpdateTracker = field(default_factory=UpdateTracker)
    engine: AsyncEngine | None = None
    session_factory: SessionFactory | None = None
    bot: Bot | None = None
    dispatcher: Dispatcher | None = None
    conversations: Conversations | None = None
    catalogs: Catalogs | None = None
    flows: FlowRegistry | None = None
    broadcasts: Broadcasts | None = None
    monitor: BroadcastMonitor | None = None
    sender: Sender | None = None
    checkins: Checkins | None = None
    scheduler: CheckinScheduler | None = None
    sealer: Sealer | None = None
    _polling: asyncio.Task[None] | None = None
    _background: list[asyncio.Task[None]] = field(default_factory=list)
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    def wake_sender(self) -> None:
        """Tell the outbox sender that new messages are waiting."""
        if self.sender is not None:
            self.sender.wake()

    async def prepare(self) -> None:
        """Migrate the database, load flows and wording, build the bot; no network yet."""
        catalogs, flows = load_content(self.settings)
        self.engine = create_engine(
            self.settings.database_url, schema=self.settings.database_schema
        )
        await migrate.upgrade(self.engine)
        self.session_factory = create_session_factory(self.engine)
        async with self.session_factory() as session:
            now = self.clock.now()
            await repo.prune_processed_updates(session, before=now - KEEP_UPDATE_IDS)
            await repo.ensure_admins(session, telegram_user_ids=self.settings.admin_ids, now=now)
            await session.commit()
        self.conversations = Conversations(
            flows=flows,
            locales=catalogs.locales,
            default_locale=catalogs.default,
            clock=self.clock,
            label_for=lambda locale: catalogs.translator(locale),
            admin_ids=self.settings.admin_ids,
        )
        self.broadcasts = Broadcasts(
            clock=self.clock,
            locales=catalogs.locales,
            groups=flows.options_for("stakeholder_group"),
            partnership_timezone=self.settings.partnership_timezone,
            quiet_start=self.settings.quiet_hours_start,
            quiet_end=self.settings.quiet_hours_end,
            wake_sender=self.wake_sender,
        )
        self.checkins = Checkins(
            flows=flows,
            catalogs=catalogs,
            partnership_timezone=self.settings.partnership_timezone,
            quiet_start=self.settings.quiet_hours_start,
            quiet_end=self.settings.quiet_hours_end,
        )
        self.sealer = load_sealer(self.settings)
        self.bot = build_bot(self.settings)
        self.dispatcher = build_dispatcher(
            sealer=self.sealer,
            broadcasts=self.broadcasts,
            checkins=self.checkins,
            conversations=self.conversations,
            catalogs=catalogs,
            session_factory=self.session_factory,
            clock=self.clock,
            tracker=self.tracker,
            serialise_writes=self.engine.dialect.name == "sqlite",
        )
        self.catalogs, self.flows = catalogs, flows

    async def start(self) -> None:
        """Prepare, announce commands and start polling in the background."""
        await self.prepare()
        assert self.bot is not None and self.dispatcher is not None
        assert self.catalogs is not None and self.flows is not None
        me = await self.bot.get_me()
        log.info("partnerbot is @%s (id %s)", me.username, me.id)
        await publish_commands(self.bot, self.catalogs, self.flows)
        await self.bot.delete_webhook(drop_pending_updates=False)
        assert self.session_factory is not None and self.broadcasts is not None
        self.monitor = monitor = BroadcastMonitor(
            bot=self.bot,
            session_factory=self.session_factory,
            broadcasts=self.broadcasts,
            catalogs=self.catalogs,
            interval=self.settings.progress_interval_s,
            wake_sender=self.wake_sender,
        )
        self._stopping.clear()
        # The outbox sender (bot/delivery), with a Bot of its own that does not retry.
        self.sender = Sender(
            settings=self.settings,
            session_factory=self.session_factory,
            transport=build_transport(self.settings),
            clock=self.clock,
        )
        self.sender.start()
        # Scheduled check-ins: defaults ensured, downtime caught up, jobs rebuilt from the DB.
        assert self.checkins is not None
        self.scheduler = CheckinScheduler(
            session_factory=self.session_factory,
            checkins=self.checkins,
            clock=self.clock,
            sweep_interval=self.settings.checkin_sweep_s,
            wake_sender=self.wake_sender,
        )
        await self.scheduler.start()
        self._background.append(asyncio.create_task(monitor.run(self._stopping), name="broadcasts"))
        self._polling = asyncio.create_task(
            self.dispatcher.start_polling(
                self.bot,
                handle_signals=False,
                close_bot_session=False,
                # Past this many updates in progress, the rest wait at Telegram (unconfirmed)
                # instead of queueing for a database connection inside the bot.
                tasks_concurrency_limit=self.settings.update_concurrency,
                allowed_updates=self.dispatcher.resolve_used_update_types(),
            ),
            name="partnerbot-polling",
        )

    async def stop(self) -> None:
        """Stop polling, let updates in progress finish, close connections."""
        if self._polling is not None and self.dispatcher is not None:
            with contextlib.suppress(RuntimeError):
                await self.dispatcher.stop_polling()
            # stop_polling() does nothing before polling has begun: cancel the task then.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._polling), timeout=5)
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
            self._polling = None
        with contextlib.suppress(TimeoutError):
            await self.tracker.wait_idle(timeout=10)
        self._stopping.set()
        if self.scheduler is not None:
            await self.scheduler.stop()
            self.scheduler = None
        await asyncio.gather(*self._background, return_exceptions=True)
        self._background.clear()
        if self.sender is not None:
            await self.sender.stop()
            self.sender = None
        if self.bot is not None:
            await self.bot.session.close()
        if self.engine is not None:
            await self.engine.dispose()

    async def run_until_stopped(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set (by a signal handler in the CLI)."""
        try:
            await self.start()
            assert self._polling is not None
            done, _ = await asyncio.wait(
                [self._polling, asyncio.create_task(stop.wait())],
                return_when=asyncio.FIRST_COMPLETED,
            )
            if self._polling in done:
                self._polling.result()
        finally:
            await self.stop()

    # -- hot reload (the sandbox's web simulator) -------------------------------------------

    async def reload_content(self) -> FlowError | None:
        """Reload flows and wording and swap them in; on a problem, keep the running version.

        Returns the error (file, flow and node of each problem) instead of raising it.
        """
        if self.conversations is None or self.catalogs is None:
            raise RuntimeError("reload_content() needs a prepared BotApp")
        try:
            catalogs, flows = await asyncio.to_thread(load_content, self.settings)
        except FlowError as exc:
            return exc
        except (OSError, ValueError) as exc:  # no catalogs, or no default locale among them
            return FlowError([FlowProblem(str(self.settings.locales_dir), str(exc))])
        if ONBOARDING not in flows:
            message = f"the flows directory must define the '{ONBOARDING}' flow"
            return FlowError([FlowProblem(str(self.settings.flows_dir), message)])
        # Handlers, middlewares and the broadcast monitor share this one Catalogs object:
        # updating it in place hands all of them the new wording at once.
        self.catalogs.replace_with(catalogs)
        self.flows = flows
        self.conversations.flows = flows
        self.conversations.locales = catalogs.locales
        self.conversations.default_locale = catalogs.default
        if self.broadcasts is not None:
            self.broadcasts.locales = catalogs.locales
            self.broadcasts.groups = flows.options_for("stakeholder_group")
        if self.checkins is not None:
            self.checkins.use(flows, self.catalogs)
        if self.bot is not None and self._polling is not None:
            await publish_commands(self.bot, self.catalogs, flows)
        log.info("flows and wording reloaded: %s", ", ".join(flows.flows))
        return None

    # -- end of hot reload ------------------------------------------------------------------
