"""Tickets in chat: coordinators list, answer and move them; raisers follow and reply.

The concern itself is raised through the `concerns` flow (/concern). Roles are checked again at
every command, message and button press. Nothing a coordinator is shown names the raiser of an
anonymous concern.
"""

from __future__ import annotations

import html

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.domain import concerns as rules
from bot.domain.guided import Effect
from bot.domain.guides.reply import ReplyToTicket
from bot.domain.guides.ticket import AnswerTicket
from bot.services.concerns import Concerns, actions_keyboard, coordinator_button, describe
from bot.services.guided import Guides
from bot.storage.models import Member, Ticket
from bot.telegram.access import Coordinator, refuse
from bot.telegram.callbacks import TicketAction, TicketReply
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command
from bot.telegram.render import markup
from bot.telegram.routers import guided

STATUS_OF_ACTION = {"discussed": rules.DISCUSSED, "agreed": rules.AGREED, "done": rules.DONE}
LIST_LIMIT = 20
PREVIEW = 60


def _preview(text: str) -> str:
    flat = " ".join(text.split())
    return html.escape(flat if len(flat) <= PREVIEW else flat[: PREVIEW - 1] + "…")


async def _show_card(ctx: Context, concerns: Concerns, ticket: Ticket) -> None:
    text = await concerns.card(ctx.session, ticket, ctx.t)
    ctx.responder.send(text, markup(actions_keyboard(ticket, ctx.t)))


# -- coordinators ---------------------------------------------------------------------------


async def on_tickets(message: Message, ctx: Context, concerns: Concerns) -> None:
    """/tickets: the open tickets, each with a button to open it."""
    t = ctx.t
    tickets = await concerns.open_tickets(ctx.session)
    if not tickets:
        ctx.responder.text("ticket.none_open", locale=ctx.locale)
        return
    shown = tickets[:LIST_LIMIT]
    lines = [t("ticket.list_header", count=len(tickets))]
    lines += [
        t("ticket.line", **describe(ticket, t), preview=_preview(ticket.text)) for ticket in shown
    ]
    rows = [
        [
            InlineKeyboardButton.model_validate(
                coordinator_button(ticket.handle, "show", ticket.id or 0)
            )
        ]
        for ticket in shown
    ]
    ctx.responder.send("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))


async def on_ticket_press(
    callback: CallbackQuery,
    callback_data: TicketAction,
    ctx: Context,
    member: Member,
    concerns: Concerns,
    guides: Guides,
) -> None:
    """A coordinator's button on a ticket: show, a step, or answer and decline (the guided
    `AnswerTicket`: the coordinator's next message)."""
    session, t, responder = ctx.session, ctx.t, ctx.responder
    locale, action = t.locale, callback_data.action
    ticket = await concerns.get(session, callback_data.ticket_id)
    if ticket is None:
        responder.answer_callback(callback, t("chat.closed"))
        return
    responder.answer_callback(callback)
    if action == "show":
        await _show_card(ctx, concerns, ticket)
    elif action in ("answer", "decline"):
        if action == "decline" and not rules.can_move(ticket.status, rules.DECLINED):
            responder.text("ticket.error.closed", locale=locale, handle=ticket.handle)
            return
        shown = await guides.begin(session, member, AnswerTicket.kind, f"{action} {ticket.id}")
        guided.render(responder, guides, shown, t)
    elif action in STATUS_OF_ACTION:
        move = Effect("move", {"ticket_id": ticket.id, "status": STATUS_OF_ACTION[action]})
        shown = await guides.perform(session, member, AnswerTicket.kind, move)
        guided.render(responder, guides, shown, t)
        if isinstance(callback.message, Message):
            responder.remove_buttons(callback.message.message_id)


# -- raisers --------------------------------------------------------------------------------


async def on_my_concerns(message: Message, ctx: Context, concerns: Concerns) -> None:
    """/concerns: the member's own tickets by handle, with where each stands."""
    t, responder = ctx.t, ctx.responder
    tickets = [] if ctx.member is None else await concerns.raised_by(ctx.session, member=ctx.member)
    if not tickets:
        responder.text("concern.none_yet", locale=ctx.locale)
        return
    lines = [t("concern.mine_header")]
    for ticket in tickets:
        key = "concern.mine_line_anonymous" if ticket.anonymous else "concern.mine_line"
        lines.append(t(key, **describe(ticket, t), preview=_preview(ticket.text)))
        if ticket.status_reason:
            lines.append(t("concern.mine_reason", reason=html.escape(ticket.status_reason)))
    rows = [
        [
            InlineKeyboardButton(
                text=t("concern.reply_to", handle=ticket.handle),
                callback_data=TicketReply(action="reply", ticket_id=ticket.id or 0).pack(),
            )
        ]
        for ticket in tickets
        if ticket.status in rules.OPEN
    ]
    responder.send("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows) if rows else None)


async def on_reply_press(
    callback: CallbackQuery,
    callback_data: TicketReply,
    ctx: Context,
    guides: Guides,
) -> None:
    """The raiser's Reply button: their next message goes to the coordinators (the guided
    `ReplyToTicket`, which keeps the ticket sealed and checks it is theirs)."""
    if ctx.member is None:
        ctx.responder.answer_callback(callback, ctx.t("chat.closed"))
        return
    ticket_id = str(callback_data.ticket_id)
    shown = await guides.begin(ctx.session, ctx.member, ReplyToTicket.kind, ticket_id)
    guided.render(ctx.responder, guides, shown, ctx.t, callback, keep_pressed=True)


def create_router() -> Router:
    """The concerns router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_tickets, command("tickets"), Coordinator())
    router.message.register(refuse("ticket.coordinators_only"), command("tickets"))
    router.message.register(on_my_concerns, command("concerns"))
    router.callback_query.register(on_ticket_press, TicketAction.filter(), Coordinator())
    router.callback_query.register(refuse("ticket.not_allowed"), TicketAction.filter())
    router.callback_query.register(on_reply_press, TicketReply.filter(F.action == "reply"))
    return router
