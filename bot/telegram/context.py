"""What every handler of one update reads, as one argument: `ctx`.

aiogram hands a handler the middleware data it names; the six things nearly every handler needs
(its transaction, who wrote, whether they are a member, their language and where replies go)
come together here, so that a handler names only `ctx` and the services it uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.services.conversations import UserRef
from bot.storage.models import Member
from bot.telegram.middlewares import Handler
from bot.telegram.render import Responder

CONTEXT = "ctx"


@dataclass(frozen=True, slots=True)
class Context:
    """One update's transaction, sender and replies."""

    session: AsyncSession
    user: UserRef
    member: Member | None
    locale: str
    t: Translator
    responder: Responder


class UpdateContext(BaseMiddleware):
    """Gathers the update's `ctx` from what the middlewares before it set (last in the chain:
    a group's command continued in private has already pointed `user` and `responder` there)."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        responder = data.get("responder")
        if responder is not None:
            data[CONTEXT] = Context(
                session=data["session"],
                user=data["user"],
                member=data.get("member"),
                locale=data["locale"],
                t=data["t"],
                responder=responder,
            )
        return await handler(event, data)
