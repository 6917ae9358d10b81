"""Committee groups' forum topics: one per purpose (digests, tickets, decisions), created once
and kept in the binding. The outbox sender's transport (`TopicTransport`) puts each group post
in its purpose's topic, looked up when it is sent, and replaces a topic deleted or closed to
the bot by a new one when a post meets it, posting it again there rather than losing it."""

from __future__ import annotations

import dataclasses
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError

from bot.delivery.transport import Outcome, Outgoing, Rejected, ThreadGone, Transport
from bot.i18n import Catalogs
from bot.storage import groups
from bot.storage.db import SessionFactory
from bot.storage.group_models import CommitteeGroup, GroupPurpose

log = logging.getLogger(__name__)


class ForumTopics:
    """Creates, finds and replaces the topics of bound forum groups (`delivery.Topics`)."""

    def __init__(self, *, bot: Bot, catalogs: Catalogs, sessions: SessionFactory) -> None:
        self.bot = bot
        self.catalogs = catalogs
        self.sessions = sessions

    def name_of(self, purpose: GroupPurpose) -> str:
        """A topic's title, in the partnership's language."""
        return self.catalogs.translator(self.catalogs.default)(f"group.topic.{purpose.value}")

    async def open(self, chat_id: int, purpose: GroupPurpose) -> int:
        """A new topic for `purpose`; raises TelegramAPIError as Telegram refuses."""
        topic = await self.bot.create_forum_topic(chat_id, self.name_of(purpose))
        return topic.message_thread_id

    def missing(self, group: CommitteeGroup | None, *, forum: bool) -> list[GroupPurpose]:
        """The purposes a forum has no topic for yet, by its binding so far (none outside a
        forum)."""
        if not forum:
            return []
        return [p for p in GroupPurpose if group is None or group.thread_for(p) is None]

    async def thread_of(self, chat_id: int, source: str) -> int | None:
        """The topic an outbox row of `source` goes to in this chat (None: the chat itself)."""
        purpose = groups.purpose_of(source)
        if purpose is None:
            return None  # not a group post: no database read on the sending path
        async with self.sessions() as session:
            group = await groups.group_of_chat(session, chat_id=chat_id)
        return None if group is None else group.thread_for(purpose)

    async def renew(self, chat_id: int, source: str, gone: int) -> int | None:
        """A topic in place of `gone` for `source`'s purpose: a new one, or None (the chat)."""
        purpose = groups.purpose_of(source)
        if purpose is None:
            return None
        async with self.sessions() as session:
            group = await groups.group_of_chat(session, chat_id=chat_id)
        if group is None:
            return None
        current = group.thread_for(purpose)
        if current is not None and current != gone:
            return current  # another post already replaced it
        # No transaction is open while Telegram answers.
        try:
            thread_id: int | None = await self.open(chat_id, purpose)
        except TelegramAPIError as exc:
            # Not (or no longer) allowed to manage topics: the main chat, rather than nowhere.
            log.warning("chat %s: no new %s topic (%s)", chat_id, purpose, exc.message)
            thread_id = None
        async with self.sessions() as session:
            group = await groups.group_of_chat(session, chat_id=chat_id)
            if group is not None:
                await groups.set_thread(session, group=group, purpose=purpose, thread_id=thread_id)
                await session.commit()
        return thread_id


class TopicTransport:
    """The sender's transport, with committee group posts put in their forum topics."""

    def __init__(self, inner: Transport, topics: ForumTopics) -> None:
        self.inner = inner
        self.topics = topics

    async def send(self, message: Outgoing) -> Outcome:
        thread_id = await self.topics.thread_of(message.chat_id, message.source)
        if thread_id is None:
            return await self.inner.send(message)
        outcome = await self.inner.send(_in_topic(message, thread_id))
        if not isinstance(outcome, ThreadGone):
            return outcome
        log.warning(
            "chat %s: topic %s is gone (%s); posting anew",
            message.chat_id,
            thread_id,
            outcome.reason,
        )
        renewed = await self.topics.renew(message.chat_id, message.source, thread_id)
        outcome = await self.inner.send(_in_topic(message, renewed))
        return Rejected(outcome.reason) if isinstance(outcome, ThreadGone) else outcome

    async def close(self) -> None:
        await self.inner.close()


def _in_topic(message: Outgoing, thread_id: int | None) -> Outgoing:
    """`message` sent in the forum topic `thread_id` (None: the chat itself)."""
    options = {**(message.options or {}), "thread_id": thread_id}
    return dataclasses.replace(message, options=options)
