"""/audit: admins read the audit log, newest first, a page at a time.

The role is checked again at every page button.
"""

from __future__ import annotations

import html

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.storage import audit
from bot.storage.models import Member
from bot.telegram.filters import DataPrefix, PrivateChat, command
from bot.telegram.render import Responder
from bot.telegram.routers.roles import is_admin

PREFIX = "au"
PAGE = 20


def _locale(member: Member | None) -> str:
    return member.language if member else "en"


async def _page(
    session: AsyncSession, t: Translator, offset: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    total = await audit.count_entries(session)
    if total == 0:
        return t("audit.none"), None
    offset = max(0, min(offset, (total - 1) // PAGE * PAGE))
    entries = await audit.list_entries(session, limit=PAGE, offset=offset)
    header = t("audit.header", first=offset + 1, last=offset + len(entries), total=total)
    # Twenty lines must fit in one message (4096 characters).
    lines = [html.escape(audit.describe(e)[:180]) for e in entries]
    buttons = []
    if offset > 0:
        buttons.append(
            InlineKeyboardButton(
                text=f"‹ {t('audit.newer')}", callback_data=f"{PREFIX}:{max(0, offset - PAGE)}"
            )
        )
    if offset + PAGE < total:
        buttons.append(
            InlineKeyboardButton(
                text=f"{t('audit.older')} ›", callback_data=f"{PREFIX}:{offset + PAGE}"
            )
        )
    markup = InlineKeyboardMarkup(inline_keyboard=[buttons]) if buttons else None
    return "\n".join([header, *lines]), markup


async def on_audit(
    message: Message, session: AsyncSession, member: Member | None, responder: Responder
) -> None:
    """The latest entries."""
    locale = _locale(member)
    if not is_admin(member):
        responder.text("audit.admins_only", locale=locale)
        return
    text, markup = await _page(session, responder.catalogs.translator(locale), 0)
    responder.send(text, markup)


async def on_page(
    callback: CallbackQuery, session: AsyncSession, member: Member | None, responder: Responder
) -> None:
    """Older or newer entries, in place."""
    t = responder.catalogs.translator(_locale(member))
    if not is_admin(member):
        responder.answer_callback(callback, t("audit.not_allowed"), alert=True)
        return
    arg = (callback.data or "").split(":", 1)[1]
    text, markup = await _page(session, t, int(arg) if arg.isdigit() else 0)
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
    router.message.register(on_audit, command("audit"))
    router.callback_query.register(on_page, DataPrefix(f"{PREFIX}:"))
    return router
