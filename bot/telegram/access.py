"""Who may do what: the role filters, and the polite refusal for everyone else.

Roles are checked at every command, message and button press, so a button kept from before a
demotion grants nothing. A router registers its handler behind `Coordinator()` or `Admin()`,
then `refuse(key)` for the same command or buttons: whoever the filter turned away is told so.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.storage.models import Member, MemberRole
from bot.telegram.context import Context


def is_admin(member: Member | None) -> bool:
    return member is not None and member.role == MemberRole.ADMIN


def is_coordinator(member: Member | None) -> bool:
    """Coordinators and admins run the partnership's commands."""
    return member is not None and member.role in (MemberRole.COORDINATOR, MemberRole.ADMIN)


class Coordinator(Filter):
    """The update comes from a coordinator (or an admin)."""

    async def __call__(self, event: TelegramObject, member: Member | None = None) -> bool:
        return is_coordinator(member)


class Admin(Filter):
    """The update comes from an admin."""

    async def __call__(self, event: TelegramObject, member: Member | None = None) -> bool:
        return is_admin(member)


Refusal = Callable[[TelegramObject, Context], Awaitable[None]]


def refuse(key: str) -> Refusal:
    """A handler telling someone without the role why nothing happened: a reply to a command,
    an alert over a pressed button."""

    async def refusal(event: TelegramObject, ctx: Context) -> None:
        if isinstance(event, CallbackQuery):
            ctx.responder.answer_callback(event, ctx.t(key), alert=True)
        elif isinstance(event, Message):
            ctx.responder.text(key, locale=ctx.locale)

    return refusal
