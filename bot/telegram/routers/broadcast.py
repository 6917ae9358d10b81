"""/broadcasts: coordinators follow their updates and cancel scheduled ones (writing one,
/broadcast, is a guided command: `bot.domain.guides.broadcast`).

The role is checked at every command, message and button press, so a button kept from before
a demotion grants nothing.
"""

from __future__ import annotations

import html
import logging
import re

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.domain.broadcasts import DEFAULT
from bot.i18n import Translator
from bot.services.broadcasts import Broadcasts, Progress
from bot.storage.models import BroadcastStatus, Member
from bot.telegram.access import Coordinator, refuse
from bot.telegram.callbacks import BroadcastStep
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command

log = logging.getLogger(__name__)
CHECKED, UNCHECKED = "☑", "☐"


def _button(text: str, step: str, action: str, arg: str = "") -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=text, callback_data=BroadcastStep(step=step, action=action, arg=arg).pack()
        )
    ]


def describe(progress: Progress, t: Translator) -> str:
    """One line of /broadcasts."""
    b = progress.broadcast
    preview = html.escape(
        " ".join(html.unescape(_strip_tags(b.texts.get(DEFAULT, ""))).split())[:40]
    )
    return t(
        f"broadcast.line.{b.status}",
        id=b.id,
        text=preview,
        delivered=progress.delivered,
        total=b.total,
        when=b.send_at.strftime("%Y-%m-%d %H:%M"),
    )


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


async def on_list(message: Message, ctx: Context, broadcasts: Broadcasts) -> None:
    """Recent broadcasts with their figures; scheduled ones can be cancelled."""
    t = ctx.t
    recent = await broadcasts.recent(ctx.session)
    if not recent:
        ctx.responder.text("broadcast.none_yet", locale=ctx.locale)
        return
    lines = [describe(p, t) for p in recent]
    rows = [
        _button(
            f"✖ {t('broadcast.cancel_scheduled', id=p.broadcast.id)}",
            "list",
            "cancel",
            str(p.broadcast.id),
        )
        for p in recent
        if p.broadcast.status == BroadcastStatus.SCHEDULED
    ]
    markup = InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
    ctx.responder.send("\n".join(lines), markup)


async def on_cancel_scheduled(
    callback: CallbackQuery,
    callback_data: BroadcastStep,
    ctx: Context,
    member: Member,
    broadcasts: Broadcasts,
) -> None:
    """Cancel a scheduled broadcast from /broadcasts."""
    broadcast_id = int(callback_data.arg) if callback_data.arg.isdigit() else 0
    cancelled = await broadcasts.cancel(ctx.session, broadcast_id=broadcast_id, actor=member)
    key = "broadcast.cancelled_scheduled" if cancelled else "broadcast.too_late"
    ctx.responder.answer_callback(callback, ctx.t(key, id=broadcast_id))
    if cancelled:
        ctx.responder.text("broadcast.cancelled_scheduled", locale=ctx.locale, id=broadcast_id)


def create_router() -> Router:
    """The broadcast router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_list, command("broadcasts"), Coordinator())
    router.message.register(refuse("broadcast.coordinators_only"), command("broadcasts"))
    cancel = BroadcastStep.filter((F.step == "list") & (F.action == "cancel"))
    router.callback_query.register(on_cancel_scheduled, cancel, Coordinator())
    router.callback_query.register(refuse("broadcast.not_allowed"), BroadcastStep.filter())
    return router
