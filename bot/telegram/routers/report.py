"""/report: coordinators get k-anonymous charts (trust, response rates, roles, progress: each
report registered in `bot.domain.report_kinds`).

`/report` offers the reports as buttons; `/report trust 2026-01-01` asks directly (a report or
`all`, and a first day, each optional). The role is checked again at every button press.
"""

from __future__ import annotations

import html
from datetime import datetime

from aiogram import Router
from aiogram.enums import ChatAction
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import Translator
from bot.services.reports import KINDS, Reports, parse_since
from bot.storage.db import SessionFactory
from bot.telegram.access import Coordinator, refuse
from bot.telegram.callbacks import ReportChoice
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command

EVERY = "all"
CAPTION_LIMIT = 1024  # Telegram's, for a photo's caption


def _choices(t: Translator) -> InlineKeyboardMarkup:
    buttons = [
        InlineKeyboardButton(
            text=t(f"report.button.{kind}"), callback_data=ReportChoice(kind=kind).pack()
        )
        for kind in (*KINDS, EVERY)
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    )


async def on_report(
    message: Message,
    command: CommandObject,
    ctx: Context,
    reads: SessionFactory,
    reports: Reports,
) -> None:
    """Offer the reports, or send the one (or all) the command names."""
    locale = ctx.locale
    args = (command.args or "").split()
    if not args:
        ctx.responder.text("report.choose", locale=locale, markup=_choices(ctx.t))
        return
    kinds: tuple[str, ...] = KINDS
    since = None
    for arg in args:
        if arg.lower() in KINDS:
            kinds = (arg.lower(),)
        elif arg.lower() == EVERY:
            kinds = KINDS
        else:
            try:
                since = parse_since(arg)
            except ValueError:
                ctx.responder.text("report.usage", locale=locale, value=arg)
                return
    _send(ctx, reads, reports, kinds, since)


async def on_report_press(
    callback: CallbackQuery,
    callback_data: ReportChoice,
    ctx: Context,
    reads: SessionFactory,
    reports: Reports,
) -> None:
    """A report button of /report."""
    choice = callback_data.kind
    ctx.responder.answer_callback(callback)
    if choice not in (*KINDS, EVERY):
        return
    if isinstance(callback.message, Message):
        ctx.responder.remove_buttons(callback.message.message_id)
    _send(ctx, reads, reports, KINDS if choice == EVERY else (choice,), None)


def _send(
    ctx: Context,
    reads: SessionFactory,
    reports: Reports,
    kinds: tuple[str, ...],
    since: datetime | None,
) -> None:
    """Build and send the reports once the update committed: members' answers never wait for
    a report's reading and drawing."""
    t, responder = ctx.t, ctx.responder

    async def build_and_send() -> None:
        for part in await reports.build(reads, kinds=kinds, since=since, words=t):
            name = f"report-{part.kind}.png"
            if len(part.text) <= CAPTION_LIMIT:
                responder.photo(part.png, name, caption=part.text)
            else:  # a long list of gaps and overlaps goes in a message of its own
                responder.photo(part.png, name, caption=f"<b>{html.escape(part.chart.title)}</b>")
                responder.send(part.text)

    responder.after_commit(ChatAction.UPLOAD_PHOTO, build_and_send)


def create_router() -> Router:
    """The report router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_report, command("report"), Coordinator())
    router.message.register(refuse("report.coordinators_only"), command("report"))
    router.callback_query.register(on_report_press, ReportChoice.filter(), Coordinator())
    router.callback_query.register(refuse("report.not_allowed"), ReportChoice.filter())
    return router
