"""Filters checked on the event loop.

aiogram calls a filter that is not a coroutine function (a magic `F` filter, a lambda) through
`asyncio.to_thread`: a thread hand-off for every check, and each message is checked by a dozen
routers. These are the checks the routers need, as coroutines; `tests/unit/test_router_filters.py`
keeps sync filters and handlers out.
"""

from __future__ import annotations

from aiogram.filters import Command, Filter
from aiogram.types import ChatMemberUpdated, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.conversations import UserRef
from bot.storage import repo
from bot.storage.models import Member


def command(*names: str) -> Command:
    """A command filter that reads `/Help` as `/help`: phones capitalise the first letter."""
    return Command(*names, ignore_case=True)


def _is_command(message: Message) -> bool:
    return message.text is not None and message.text.startswith("/")


class PrivateChat(Filter):
    """The message was written in a private chat with the bot, or is a command from a group
    carried on in the private chat (`bot.telegram.group_chats`: `user` points there)."""

    async def __call__(self, message: Message, user: UserRef | None = None) -> bool:
        if user is not None:
            return user.chat_id == user.telegram_user_id
        return message.chat.type == "private"


class GroupChat(Filter):
    """The message (or membership change) is in a group or supergroup."""

    async def __call__(self, event: Message | ChatMemberUpdated) -> bool:
        return event.chat.type in ("group", "supergroup")


class HasText(Filter):
    """The message has text (commands included)."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text)


class IsCommand(Filter):
    """The message's text is a command, known or not."""

    async def __call__(self, message: Message) -> bool:
        return _is_command(message)


class NotCommand(Filter):
    """Anything but a command: text, or a photo, a document, a sticker."""

    async def __call__(self, message: Message) -> bool:
        return not _is_command(message)


class PlainText(Filter):
    """Text that is not a command."""

    async def __call__(self, message: Message) -> bool:
        return bool(message.text) and not _is_command(message)


class CommandOrTypedInput(Filter):
    """A command, or a message from someone a guided conversation waits on (a draft open).
    Anything else is an answer to a questionnaire."""

    async def __call__(
        self, message: Message, member: Member | None = None, session: AsyncSession | None = None
    ) -> bool:
        if _is_command(message):
            return True
        if member is None or member.id is None or session is None:
            return False
        return await repo.has_draft(session, member_id=member.id)
