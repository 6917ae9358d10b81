"""/export: coordinators get the answers as a CSV or XLSX file, pseudonymous.

`/export` offers the formats as buttons; `/export xlsx trust_pulse 2026-01-01` asks directly
(format, flow and first day in any order, each optional; an admin may add `longitudinal` for
pseudonyms stable across exports). The role is checked again at every button press.
"""

from __future__ import annotations

from datetime import datetime

from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.domain.clock import Clock
from bot.services.conversations import Conversations
from bot.services.export import FORMATS, Exports, parse_since
from bot.storage.db import SessionFactory
from bot.storage.models import Member
from bot.telegram.access import Coordinator, is_admin, refuse
from bot.telegram.callbacks import ExportChoice
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command

LONGITUDINAL = "longitudinal"


async def on_export(
    message: Message,
    command: CommandObject,
    ctx: Context,
    member: Member,
    writes: SessionFactory,
    conversations: Conversations,
    clock: Clock,
    exports: Exports,
) -> None:
    """Offer the formats, or export at once when the command names what to export."""
    responder = ctx.responder
    args = (command.args or "").split()
    if not args:
        rows = [
            [
                InlineKeyboardButton(
                    text=ctx.t(f"export.format.{f}"),
                    callback_data=ExportChoice(file_format=f).pack(),
                )
                for f in FORMATS
            ]
        ]
        responder.text(
            "export.choose", locale=ctx.locale, markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )
        return
    file_format, flow_id, since, longitudinal = "csv", None, None, False
    for arg in args:
        if arg.lower() in FORMATS:
            file_format = arg.lower()
        elif arg.lower() == LONGITUDINAL:
            if not is_admin(member):
                responder.text("export.longitudinal_admins", locale=ctx.locale)
                return
            longitudinal = True
        elif arg in conversations.flows:
            flow_id = arg
        else:
            try:
                since = parse_since(arg)
            except ValueError:
                responder.text("export.usage", locale=ctx.locale, value=arg)
                return
    _send_export(
        ctx, member, writes, clock, exports, file_format, flow_id, since, longitudinal=longitudinal
    )


async def on_export_press(
    callback: CallbackQuery,
    callback_data: ExportChoice,
    ctx: Context,
    member: Member,
    writes: SessionFactory,
    clock: Clock,
    exports: Exports,
) -> None:
    """A format button of /export."""
    file_format = callback_data.file_format
    ctx.responder.answer_callback(callback)
    if file_format not in FORMATS:
        return
    if isinstance(callback.message, Message):
        ctx.responder.remove_buttons(callback.message.message_id)
    _send_export(ctx, member, writes, clock, exports, file_format, None, None)


def _send_export(
    ctx: Context,
    member: Member,
    writes: SessionFactory,
    clock: Clock,
    exports: Exports,
    file_format: str,
    flow_id: str | None,
    since: datetime | None,
    *,
    longitudinal: bool = False,
) -> None:
    """Build, audit and send the export once the update committed."""

    async def build_and_send() -> None:
        export = await exports.build(
            writes=writes,
            file_format=file_format,
            flow_id=flow_id,
            since=since,
            actor=member,
            now=clock.now(),
            longitudinal=longitudinal,
        )
        caption = ctx.t("export.caption", rows=export.rows)
        ctx.responder.document(export.data, export.filename, caption=caption)

    ctx.responder.after_commit(ChatAction.UPLOAD_DOCUMENT, build_and_send)


def create_router() -> Router:
    """The export router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_export, command("export"), Coordinator())
    router.message.register(refuse("export.coordinators_only"), command("export"))
    router.callback_query.register(on_export_press, ExportChoice.filter(), Coordinator())
    router.callback_query.register(refuse("export.not_allowed"), ExportChoice.filter())
    return router
