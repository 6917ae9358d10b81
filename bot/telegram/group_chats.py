"""What the bot does with messages in groups: nothing personal is ever posted there.

In a group the bot reads only commands (to it), replies to its own messages and the service
messages of an upgrade to a supergroup; any other message is dropped here, before any router,
and nothing of it is stored (only its update id, as for every update). The group commands
(`/bind`, `/unbind`) go on to their router. Every other command is personal (`/mydata`,
`/concern`, `/start`, a coordinator's `/broadcast`...): the group is told "I have written to
you privately" and the command is handled as if sent in the private chat (`user` and
`responder` point there, so `PrivateChat` lets it through). Someone the bot cannot write to
privately (never started it, or blocked it) gets a link that starts it instead. A reply to
the bot's message is answered privately, in one line, and not kept.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import Message, TelegramObject, Update

from bot.domain.invites import link
from bot.services.conversations import UserRef
from bot.storage.models import Member, MemberStatus
from bot.telegram.render import Responder

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
GROUP_COMMANDS = frozenset({"bind", "unbind"})
# The start parameter of the link a group gives someone to start the bot privately.
FROM_GROUP = "from_group"


def command_of(message: Message, bot_username: str) -> str | None:
    """The command a message's text starts with, lower-cased, if it is addressed to this bot
    (`/cmd` or `/cmd@<this bot>`); None otherwise."""
    text = message.text or ""
    if not text.startswith("/"):
        return None
    name, _, addressee = text.split(maxsplit=1)[0][1:].partition("@")
    if addressee and addressee.lower() != bot_username.lower():
        return None
    return name.lower() or None


def reachable(member: Member | None) -> bool:
    """Whether the bot can write to this person privately (they started it, and did not block
    it since)."""
    return member is not None and member.status != MemberStatus.BLOCKED


def is_migration(message: Message) -> bool:
    return message.migrate_to_chat_id is not None or message.migrate_from_chat_id is not None


class GroupChats(BaseMiddleware):
    """Group privacy: what passes from a group to the routers, and where its answer goes."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        message = event.message or event.edited_message
        if message is None or message.chat.type == "private":
            return await handler(event, data)
        if event.message is None or message.from_user is None or message.from_user.is_bot:
            return None  # edits, and messages of other bots: never read
        if is_migration(message):
            return await handler(event, data)
        bot: Bot = data["bot"]
        me = await bot.me()
        name = command_of(message, me.username or "")
        if name in GROUP_COMMANDS:
            return await handler(event, data)
        member: Member | None = data.get("member")
        if name is None:
            replied = message.reply_to_message
            author = None if replied is None else replied.from_user
            if author is not None and author.id == me.id and reachable(member):
                self._private(data).text("group.reply_noted", locale=data["locale"])
            return None  # chatter: ignored, and nothing of it is kept
        responder: Responder = data["responder"]
        locale: str = data["locale"]
        if not reachable(member):
            start = link(me.username or "", FROM_GROUP)
            responder.text("group.start_privately", locale=locale, link=start)
            return None
        responder.text("group.written_privately", locale=locale)
        self._private(data)
        return await handler(event, data)

    def _private(self, data: dict[str, Any]) -> Responder:
        """Point the update's `user` and `responder` at the sender's private chat."""
        user: UserRef = data["user"]
        group: Responder = data["responder"]
        data["user"] = dataclasses.replace(user, chat_id=user.telegram_user_id)
        private = Responder(
            bot=group.bot,
            chat_id=user.telegram_user_id,
            catalogs=group.catalogs,
            outgoing=group.outgoing,
        )
        data["responder"] = private
        return private
