"""/brief: a partner's representative gets a one-page briefing pack (PNG) to take home: what
was decided, what their organisation took on, the latest k-anonymous figures. Others are told
it is for partners' representatives. The page is read and drawn after the update commits."""

from __future__ import annotations

from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.types import Message

from bot.domain.clock import Clock
from bot.services.parent_ties import ParentTies
from bot.storage.db import SessionFactory
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command


async def on_brief(
    message: Message, ctx: Context, reads: SessionFactory, parent_ties: ParentTies, clock: Clock
) -> None:
    """Send the member's briefing pack as a photo, with its figures as the caption."""
    member, t, responder = ctx.member, ctx.t, ctx.responder
    if member is None or not parent_ties.representative(member):
        responder.text("parent.brief.not_representative", locale=t.locale)
        return

    async def build_and_send() -> None:
        brief = await parent_ties.brief(reads, member=member, now=clock.now(), t=t)
        responder.photo(brief.png, "brief.png", caption=brief.caption)

    responder.after_commit(ChatAction.UPLOAD_PHOTO, build_and_send)


def create_router() -> Router:
    """The /brief router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_brief, command("brief"))
    return router
