"""`my_chat_member`: a member who blocks the bot is marked blocked, and active when they return."""

from __future__ import annotations

import logging

from aiogram import Router
from aiogram.types import ChatMemberUpdated

from bot.domain.champions import LEFT
from bot.domain.clock import Clock
from bot.services.champions import Champions
from bot.storage import repo
from bot.storage.models import MemberStatus
from bot.telegram.context import Context

log = logging.getLogger(__name__)
GONE = {"kicked", "left"}


async def on_my_chat_member(
    event: ChatMemberUpdated, ctx: Context, clock: Clock, champions: Champions | None = None
) -> None:
    """Follow the member's block / unblock of the bot in their private chat."""
    session, member = ctx.session, ctx.member
    if member is None or event.chat.type != "private":
        return
    new = event.new_chat_member.status
    if new in GONE and member.status != MemberStatus.BLOCKED:
        status = MemberStatus.BLOCKED
    elif new == "member" and member.status == MemberStatus.BLOCKED:
        status = MemberStatus.ACTIVE
    else:
        return
    log.info("member %s is now %s (Telegram says %s)", member.id, status, new)
    await repo.update_member(session, member=member, changes={"status": status}, now=clock.now())
    if status == MemberStatus.BLOCKED and champions is not None:
        await champions.departed(session, member, LEFT)


def create_router() -> Router:
    """The membership router."""
    router = Router(name=__name__)
    router.my_chat_member.register(on_my_chat_member)
    return router
