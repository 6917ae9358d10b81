"""/audit: admins read the audit log, newest first, a page at a time.

The role is checked again at every page button.
"""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.storage import audit
from bot.telegram.access import Admin, refuse
from bot.telegram.callbacks import AuditPage
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command

PAGE = 20


async def _page(ctx: Context, offset: int) -> tuple[str, InlineKeyboardMarkup | None]:
    total = await audit.count_entries(ctx.session)
    if total == 0:
        return ctx.t("audit.none"), None
    offset = max(0, min(offset, (total - 1) // PAGE * PAGE))
    entries = await audit.list_entries(ctx.session, limit=PAGE, offset=offset)
    header = ctx.t("audit.header", first=offset + 1, last=offset + len(entries), total=total)
    # Twenty lines must fit in one message (4096 characters).
    lines = [html.escape(audit.describe(e)[:180]) for e in entries]
    buttons = []
    if offset > 0:
        buttons.append(
            InlineKeyboardButton(
                text=f"‹ {ctx.t('audit.newer')}",
                callback_data=AuditPage(offset=max(0, offset - PAGE)).pack(),
            )
        )
    if offset + PAGE < total:
        buttons.append(
            InlineKeyboardButton(
                text=f"{ctx.t('audit.older')} ›",
                callback_data=AuditPage(offset=offset + PAGE).pack(),
            )
        )
    markup = InlineKeyboardMarkup(inline_keyboard=[buttons]) if buttons else None
    return "\n".join([header, *lines]), markup


async def on_audit(message: Message, ctx: Context) -> None:
    """The latest entries."""
    text, markup = await _page(ctx, 0)
    ctx.responder.send(text, markup)


async def on_page(callback: CallbackQuery, callback_data: AuditPage, ctx: Context) -> None:
    """Older or newer entries, in place."""
    responder = ctx.responder
    text, markup = await _page(ctx, callback_data.offset)
    responder.answer_callback(callback)
    if isinstance(callback.message, Message):
        message_id = callback.message.message_id
        responder.later(
            lambda: responder.bot.edit_message_text(
                text, chat_id=responder.chat_id, message_id=message_id, reply_markup=markup
            )
        )


def create_router() -> Router:
    """The audit router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_audit, command("audit"), Admin())
    router.message.register(refuse("audit.admins_only"), command("audit"))
    router.callback_query.register(on_page, AuditPage.filter(), Admin())
    router.callback_query.register(refuse("audit.not_allowed"), AuditPage.filter())
    return router
