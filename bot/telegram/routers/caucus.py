"""A caucus round's buttons for its group: take part (the `caucus` flow, given the round),
agree or disagree with the group's results, or add a point. Only the round's group may press
them; coordinators run rounds with /caucus (the guided router)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery

from bot.domain import caucus as rules
from bot.services.caucus import FLOW, Caucus
from bot.services.conversations import Conversations
from bot.telegram.callbacks import CaucusAction
from bot.telegram.context import Context


async def on_press(
    callback: CallbackQuery,
    callback_data: CaucusAction,
    ctx: Context,
    caucus: Caucus,
    conversations: Conversations,
) -> None:
    """Join the round (or add a point to it), or react to its results."""
    action, round_id = callback_data.action, callback_data.round_id
    member, responder = ctx.member, ctx.responder
    if member is None:
        responder.answer_callback(callback, ctx.t("chat.closed"))
        return
    if action in rules.REACTIONS:
        said = await caucus.react(ctx.session, member, round_id, action)
        if said != "caucus.reacted":
            responder.answer_callback(callback, ctx.t(said), alert=True)
            return
        responder.answer_callback(callback)
        responder.text(said, locale=ctx.locale)
        return
    refusal = await caucus.may_take_part(ctx.session, member, round_id)
    if refusal:
        responder.answer_callback(callback, ctx.t(refusal), alert=True)
        return
    responder.answer_callback(callback)
    given = {rules.ROUND: str(round_id)}
    outcome = await conversations.begin(
        ctx.session, user=ctx.user, member=member, flow_id=FLOW, given=given
    )
    responder.show(outcome)


def create_router() -> Router:
    """The caucus round buttons' router."""
    router = Router(name=__name__)
    router.callback_query.register(on_press, CaucusAction.filter())
    return router
