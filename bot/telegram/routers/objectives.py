"""/objectives: every partner's objectives, for everyone (transparency); buttons to state one
more for one's own partner and to rate progress on its objectives."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.domain.engine import Reply
from bot.domain.objectives import OBJECTIVES_FLOW
from bot.domain.reports import PROGRESS_FLOW
from bot.services.conversations import Conversations, replace_messages
from bot.services.conversations import Message as Said
from bot.services.objectives import Objectives, given_for, measured, rate_button_text
from bot.telegram.callbacks import ObjectiveAction
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command

NEW, RATE = "new", "rate"


async def on_objectives(
    message: Message, ctx: Context, conversations: Conversations, objectives: Objectives
) -> None:
    """The list, with a button to state an objective and one per objective the member rates."""
    member, responder = ctx.member, ctx.responder
    if member is None:  # not yet a member: onboarding first
        responder.show(await conversations.start_command(ctx.session, user=ctx.user, member=None))
        return
    listing = await objectives.listing(ctx.session, member=member, words=ctx.t)
    buttons = [
        [
            InlineKeyboardButton(
                text=rate_button_text(objective, ctx.t),
                callback_data=ObjectiveAction(action=RATE, objective_id=objective.id).pack(),
            )
        ]
        for objective in listing.rateable
    ]
    new = ObjectiveAction(action=NEW).pack()
    buttons.append([InlineKeyboardButton(text=ctx.t("objectives.button.new"), callback_data=new)])
    *first, last = listing.messages
    for text in first:
        responder.send(text)
    responder.send(last, InlineKeyboardMarkup(inline_keyboard=buttons))


async def on_objective_press(
    callback: CallbackQuery,
    callback_data: ObjectiveAction,
    ctx: Context,
    conversations: Conversations,
    objectives: Objectives,
) -> None:
    """State a new objective (the objectives flow), or rate one (the progress flow, given it);
    a member may rate only their own partner's objectives, checked again at the press."""
    member, responder = ctx.member, ctx.responder
    if member is None:
        responder.answer_callback(callback)
        return
    if callback_data.action == NEW:
        responder.answer_callback(callback)
        outcome = await conversations.begin(
            ctx.session, user=ctx.user, member=member, flow_id=OBJECTIVES_FLOW
        )
        responder.show(outcome)
        return
    found = await objectives.rateable(
        ctx.session, member=member, objective_id=callback_data.objective_id
    )
    if found is None:
        responder.answer_callback(callback, ctx.t("objectives.rate.not_allowed"), alert=True)
        return
    responder.answer_callback(callback)
    outcome = await conversations.begin(
        ctx.session, user=ctx.user, member=member, flow_id=PROGRESS_FLOW, given=given_for(found)
    )
    about = Said(Reply(key="objectives.rate.about", params=measured(found)))
    responder.show(replace_messages(outcome, (about, *outcome.messages)))


def create_router() -> Router:
    """The objectives router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_objectives, command("objectives"))
    router.callback_query.register(on_objective_press, ObjectiveAction.filter())
    return router
