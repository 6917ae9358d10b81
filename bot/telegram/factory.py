"""Building the aiogram Bot and Dispatcher from settings and services."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import cast

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import RequestMiddlewareType
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand, BotCommandScopeAllPrivateChats

from bot.config import Settings
from bot.domain.clock import Clock
from bot.domain.flows import FlowRegistry
from bot.i18n import Catalogs
from bot.services.broadcasts import Broadcasts
from bot.services.checkins import Checkins
from bot.services.conversations import Conversations
from bot.services.guides import build_guides
from bot.services.sealing import Sealer
from bot.storage.db import SessionFactory
from bot.telegram.attempts import UpdateAttempts
from bot.telegram.context import UpdateContext
from bot.telegram.group_chats import GroupChats
from bot.telegram.middlewares import (
    ChatOrder,
    DatabaseSession,
    MemberContext,
    MemberLocale,
    UpdateTracker,
)
from bot.telegram.render import Deliver
from bot.telegram.retry import RetryRequests
from bot.telegram.routers import get_routers
from bot.telegram.updates import SkipUnreadableUpdates

log = logging.getLogger(__name__)
# The menu: these first, then each flow's own command, then the rest.
MENU_FIRST = ("start", "help")
MENU_LAST = (
    "concerns",
    "commitments",
    "objectives",
    "language",
    "mydata",
    "forget",
    "cancel",
    "stop",
)
MEMBER_COMMANDS = MENU_FIRST + MENU_LAST


def build_bot(
    settings: Settings, *, retry: bool = True, on_rate_limited: Callable[[], None] | None = None
) -> Bot:
    """A Bot speaking HTML to the configured Bot API server, retrying transient failures
    (`on_rate_limited` is told of each 429).

    The outbox sender asks for `retry=False`: it schedules its own retries.
    """
    # aiogram's stock session: it sends url-encoded forms and builds a pydantic model of every
    # answer, a few hundred microseconds of CPU per reply (docs/benchmarks.md, issue 15); that
    # is upstream's to weigh (aiogram/aiogram#1177, pydantic/pydantic#11434).
    session = AiohttpSession(
        api=TelegramAPIServer.from_base(settings.telegram_api_url),
        timeout=settings.telegram_timeout,
    )
    # aiogram hands a request middleware the next call positionally (functools.partial); its
    # protocol's keyword name for that argument is the one issue 15's check keeps out of bot/.
    session.middleware(cast(RequestMiddlewareType, SkipUnreadableUpdates()))
    if retry:
        retrying = RetryRequests(attempts=settings.request_retries, on_rate_limited=on_rate_limited)
        session.middleware(cast(RequestMiddlewareType, retrying))
    return Bot(
        token=settings.token(),
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )


def build_dispatcher(
    *,
    broadcasts: Broadcasts,
    checkins: Checkins,
    conversations: Conversations,
    catalogs: Catalogs,
    sessions: SessionFactory,
    reads: SessionFactory,
    clock: Clock,
    tracker: UpdateTracker,
    sealer: Sealer,
    redelivered: bool = False,
    retry_s: float = 30.0,
    deliver: Deliver,
    reply_lease_s: float,
    reply_lease_owner: str | None = None,
    chat_lock_namespace: str | None = None,
    services: Mapping[str, object] | None = None,
) -> Dispatcher:
    """A dispatcher with our middlewares and routers; services reach handlers by name.

    `redelivered`: Telegram delivers an update again when its handling fails (webhook mode);
    otherwise an update failing for a passing reason is tried again for `retry_s`.
    """
    dispatcher = Dispatcher(
        # No handler keeps aiogram FSM state (conversation state lives in the database).
        disable_fsm=True,
        conversations=conversations,
        broadcasts=broadcasts,
        checkins=checkins,
        catalogs=catalogs,
        clock=clock,
        sealer=sealer,
        reads=reads,
        writes=sessions,
        # Read by the errors router: whether a failed update comes again.
        redelivered=redelivered,
    )
    for name, service in (services or {}).items():
        dispatcher[name] = service
    dispatcher["guides"] = build_guides(
        conversations=conversations,
        broadcasts=broadcasts,
        checkins=checkins,
        catalogs=catalogs,
        sealer=sealer,
        clock=clock,
        concerns=(services or {}).get("concerns"),
        caucus=(services or {}).get("caucus"),
        champions=(services or {}).get("champions"),
        reports=(services or {}).get("reports"),
        reads=reads,
        commitments=(services or {}).get("commitments"),
        decisions=(services or {}).get("decisions"),
    )
    dispatcher.update.outer_middleware(tracker)
    dispatcher.update.outer_middleware(ChatOrder())
    dispatcher.update.outer_middleware(UpdateAttempts(redelivered=redelivered, budget_s=retry_s))
    dispatcher.update.outer_middleware(
        DatabaseSession(
            sessions,
            clock,
            deliver=deliver,
            reply_lease_s=reply_lease_s,
            reply_lease_owner=reply_lease_owner,
            seal_route=sealer.seal_route,
            chat_lock_namespace=chat_lock_namespace,
        )
    )
    dispatcher.update.outer_middleware(MemberContext(conversations, catalogs))
    dispatcher.update.outer_middleware(MemberLocale(conversations, catalogs))
    dispatcher.update.outer_middleware(GroupChats())
    dispatcher.update.outer_middleware(UpdateContext())
    dispatcher.include_routers(*get_routers())
    return dispatcher


async def publish_commands(bot: Bot, catalogs: Catalogs, flows: FlowRegistry) -> None:
    """Tell Telegram our commands in every language; raises on the first failure."""
    flow_commands = [(f.command, f.title) for f in flows.flows.values() if f.command]
    for locale in catalogs.locales:
        t = catalogs.translator(locale)
        commands = [BotCommand(command=c, description=t(f"cmd.desc.{c}")) for c in MENU_FIRST]
        commands += [BotCommand(command=c, description=t(title)) for c, title in flow_commands]
        commands += [BotCommand(command=c, description=t(f"cmd.desc.{c}")) for c in MENU_LAST]
        language = None if locale == catalogs.default else locale
        await bot.set_my_commands(
            commands, scope=BotCommandScopeAllPrivateChats(), language_code=language
        )


async def publish_description(bot: Bot, catalogs: Catalogs, *, short: bool) -> None:
    """Tell Telegram the bot's description (shown before Start), or its short description
    (profile page, shared links), in every language; raises on the first failure."""
    for locale in catalogs.locales:
        t = catalogs.translator(locale)
        language = None if locale == catalogs.default else locale
        if short:
            await bot.set_my_short_description(t("bot.short_description"), language)
        else:
            await bot.set_my_description(t("bot.description"), language)
