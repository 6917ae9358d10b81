"""Decisions: a member's vote by button, the votes and totals of native polls in committee
groups (`poll_answer`, `poll`), and the decision log (`/decisions`). Coordinators propose with
/propose and write outcomes with /decide (the guided router)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message, Poll, PollAnswer
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.decisions import DecisionError
from bot.services.decisions import Decisions
from bot.telegram.callbacks import DecisionVote
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command


async def on_vote(
    callback: CallbackQuery,
    callback_data: DecisionVote,
    ctx: Context,
    decisions: Decisions,
) -> None:
    """Vote, or change one's vote, until the proposal closes."""
    member, responder = ctx.member, ctx.responder
    if member is None:
        responder.answer_callback(callback, ctx.t("chat.closed"))
        return
    try:
        said = await decisions.vote(
            ctx.session, member, callback_data.decision_id, callback_data.option
        )
    except DecisionError as exc:
        responder.answer_callback(callback, ctx.t(f"decisions.error.{exc.code}"), alert=True)
        return
    decision = await decisions.get(ctx.session, callback_data.decision_id)
    chosen = decisions.option_label(decision, callback_data.option, ctx.t)
    responder.answer_callback(callback, ctx.t(said, option=chosen))


async def on_poll_answer(poll_answer: PollAnswer, ctx: Context, decisions: Decisions) -> None:
    """A named poll's vote (or its withdrawal), kept for the member who cast it."""
    await decisions.poll_answer(
        ctx.session, poll_id=poll_answer.poll_id, member=ctx.member, options=poll_answer.option_ids
    )


async def on_poll(poll: Poll, session: AsyncSession, decisions: Decisions) -> None:
    """A poll's totals: all an anonymous poll lets the bot know."""
    counts = [option.voter_count for option in poll.options]
    await decisions.poll_totals(session, poll_id=poll.id, counts=counts)


async def on_decisions(message: Message, ctx: Context, decisions: Decisions) -> None:
    """The decision log, for every member."""
    if ctx.member is None:
        ctx.responder.text("decisions.members_only", locale=ctx.locale)
        return
    ctx.responder.send(await decisions.log(ctx.session, ctx.t))


def create_router() -> Router:
    """The decisions router."""
    router = Router(name=__name__)
    router.message.register(on_decisions, PrivateChat(), command("decisions"))
    router.callback_query.register(on_vote, DecisionVote.filter())
    router.poll_answer.register(on_poll_answer)
    router.poll.register(on_poll)
    return router
