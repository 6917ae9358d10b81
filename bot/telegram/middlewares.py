"""Update middlewares: tracking, per-chat ordering, one DB session per update, the member."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User

from bot.cluster.locks import lock_chat
from bot.domain.clock import Clock
from bot.domain.reading import clean
from bot.i18n import Catalogs
from bot.services.conversations import Conversations, UserRef
from bot.storage import repo
from bot.storage.db import SessionFactory
from bot.telegram.render import Deliver, Outgoing, Responder, SealRoute
from bot.telegram.updates import carries_nothing

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger(__name__)
# feed_update(..., handling_failures=[]) collects what failed while handling the update.
FAILURES = "handling_failures"
KEEP_HANDLED_IDS = 100_000


class UpdateTracker(BaseMiddleware):
    """Counts updates in flight and handled, so shutdown and tests can wait for them."""

    def __init__(self) -> None:
        self.in_flight = 0
        self.handled = 0
        # Called with each update's handling time in seconds (the /metrics histogram).
        self.observers: list[Callable[[float], None]] = []
        self._handled_ids: dict[int, int] = {}
        self._changed = asyncio.Condition()

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        self.in_flight += 1
        started = time.perf_counter()
        try:
            if carries_nothing(event):
                log.info("update %s holds nothing this bot reads; skipped", event.update_id)
                return None
            return await handler(event, data)
        except Exception as exc:
            # aiogram's errors router swallows the exception after us; a caller that must
            # know (the webhook answers 500 so Telegram tries again) passes a list to learn it.
            failures = data.get(FAILURES)
            if isinstance(failures, list):
                failures.append(exc)
            raise
        finally:
            self.in_flight -= 1
            self.handled += 1
            for observe in self.observers:
                observe(time.perf_counter() - started)
            self._handled_ids[event.update_id] = self._handled_ids.get(event.update_id, 0) + 1
            if len(self._handled_ids) > KEEP_HANDLED_IDS:
                # A long-running instance must not remember every update it ever saw.
                del self._handled_ids[next(iter(self._handled_ids))]
            async with self._changed:
                self._changed.notify_all()

    def times_handled(self, update_id: int) -> int:
        """How many deliveries of `update_id` went through the dispatcher."""
        return self._handled_ids.get(update_id, 0)

    async def wait_handled(self, update_id: int, *, times: int = 1, timeout: float = 10.0) -> None:
        """Return once `update_id` went through the dispatcher `times` times."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.times_handled(update_id) >= times)

    async def wait_idle(self, timeout: float = 30.0) -> None:
        """Return once no update is being handled."""
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.in_flight == 0)


def _chat_key(data: dict[str, Any]) -> int | None:
    """The chat an update belongs to (its sender's id when it has no chat)."""
    chat = data.get("event_chat")
    user: User | None = data.get("event_from_user")
    return chat.id if chat is not None else (user.id if user is not None else None)


class ChatOrder(BaseMiddleware):
    """Handles one chat's updates one at a time, in arrival order; other chats run in parallel."""

    def __init__(self) -> None:
        self._locks: dict[int, tuple[asyncio.Lock, int]] = {}

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        key = _chat_key(data)
        if key is None:
            return await handler(event, data)
        lock, users = self._locks.get(key, (asyncio.Lock(), 0))
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                return await handler(event, data)
        finally:
            lock, users = self._locks[key]
            if users == 1:
                del self._locks[key]
            else:
                self._locks[key] = (lock, users - 1)


class DatabaseSession(BaseMiddleware):
    """One session and transaction per update, claiming its id (a redelivery is ignored) and
    writing the replies to the outbox; they are sent, with the other Bot API calls and slow
    work (reports, exports) the handler asked for, after the commit, so the transaction holds
    the database (on SQLite, its one writer) only while it reads, decides and writes."""

    def __init__(
        self,
        sessions: SessionFactory,
        clock: Clock,
        *,
        deliver: Deliver,
        reply_lease_s: float,
        reply_lease_owner: str | None = None,
        seal_route: SealRoute | None = None,
        chat_lock_namespace: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.deliver = deliver
        self.reply_lease = timedelta(seconds=reply_lease_s)
        self.reply_lease_owner = reply_lease_owner
        self.seal_route = seal_route
        # On PostgreSQL several instances may receive one chat's updates: a transaction-level
        # advisory lock per chat (ChatOrder only orders this process) keeps them one at a time.
        self.chat_lock_namespace = chat_lock_namespace

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        outgoing = Outgoing(self._mark_blocked, self.deliver, seal_route=self.seal_route)
        data["outgoing"] = outgoing
        async with self.sessions() as session:
            chat_id = _chat_key(data)
            if self.chat_lock_namespace is not None and chat_id is not None:
                await lock_chat(session, namespace=self.chat_lock_namespace, chat_id=chat_id)
            if not await repo.claim_update(
                session, update_id=event.update_id, now=self.clock.now()
            ):
                log.info("update %s was already handled; ignoring the repeat", event.update_id)
                return None
            data["session"] = session
            result = await handler(event, data)
            now = self.clock.now()
            await outgoing.write(
                session,
                now=now,
                lease_until=now + self.reply_lease,
                lease_owner=self.reply_lease_owner,
            )
            await session.commit()
        await outgoing.flush()
        return result

    async def _mark_blocked(self, chat_id: int) -> None:
        async with self.sessions() as session:
            if await repo.mark_chat_blocked(session, chat_id=chat_id, now=self.clock.now()):
                log.info("the member of chat %s blocked the bot; marked blocked", chat_id)
            await session.commit()


class MemberContext(BaseMiddleware):
    """Who wrote: `user` (as Telegram tells), `member` (if they consented) and a `responder`."""

    def __init__(self, conversations: Conversations, catalogs: Catalogs) -> None:
        self.conversations = conversations
        self.catalogs = catalogs

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        tg_user: User | None = data.get("event_from_user")
        chat = data.get("event_chat")
        if tg_user is None or tg_user.is_bot:
            return await handler(event, data)
        session = data["session"]
        member = await repo.load_member(session, telegram_user_id=tg_user.id)
        user = UserRef(
            telegram_user_id=tg_user.id,
            chat_id=chat.id if chat is not None else tg_user.id,
            display_name=clean(tg_user.full_name),
            language_code=tg_user.language_code,
        )
        data["user"] = user
        data["member"] = member
        data["responder"] = Responder(
            bot=data["bot"], chat_id=user.chat_id, catalogs=self.catalogs, outgoing=data["outgoing"]
        )
        return await handler(event, data)


class MemberLocale(BaseMiddleware):
    """The language to answer in, as `locale` and its translator `t`: the member's, else their
    Telegram app's if we ship it, else the partnership's default (`DEFAULT_LOCALE`)."""

    def __init__(self, conversations: Conversations, catalogs: Catalogs) -> None:
        self.conversations = conversations
        self.catalogs = catalogs

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: UserRef | None = data.get("user")
        locale = (
            self.catalogs.default
            if user is None
            else self.conversations.locale_of(user, data.get("member"))
        )
        data["locale"] = locale
        data["t"] = self.catalogs.translator(locale)
        return await handler(event, data)
