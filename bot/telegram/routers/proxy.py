"""A coordinator answering a questionnaire for someone without a phone (at a meeting).

Choosing it is the guided `/proxy` (`bot.domain.guides.proxy`); this router takes the answers
given for the person, audits the session's end and offers the next person, with the same
questionnaire and group in one press. The role is checked at every answer. It sits outside the
commands gate, just before the member's own conversation.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.guides.proxy import NO_LANGUAGE, Proxy
from bot.services import proxy
from bot.services.conversations import Conversations
from bot.storage.models import FlowRun, Member, RunStatus
from bot.telegram.access import is_coordinator
from bot.telegram.callbacks import Answer, GuidedStep
from bot.telegram.context import Context
from bot.telegram.filters import PlainText, PrivateChat
from bot.telegram.render import Responder
from bot.telegram.routers import conversation
from bot.telegram.routers.guided import START


def _button(text: str, data: GuidedStep) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text, callback_data=data.pack())]


def _start(args: str) -> GuidedStep:
    """/proxy again, as the guided command's own start button (`/proxy ARGS`)."""
    return GuidedStep(kind=Proxy.kind, step="", action=START, arg=args)


def _markup(rows: list[list[InlineKeyboardButton]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=rows)


class HasProxyRun(Filter):
    """Matches a coordinator answering a questionnaire for someone, handing over the run."""

    async def __call__(
        self, event: Any, member: Member | None = None, session: AsyncSession | None = None
    ) -> bool | dict[str, Any]:
        if not is_coordinator(member) or session is None:
            return False
        run = await proxy.running_proxy_run(session, member=member)
        return False if run is None else {"proxy_run": run}


async def on_answer_text(
    message: Message,
    ctx: Context,
    member: Member,
    conversations: Conversations,
    proxy_run: FlowRun,
) -> None:
    """A typed answer for the person; once the questionnaire is done, offer the next one."""
    await conversation.on_text(message, ctx, conversations)
    await _answered(ctx, member, conversations, proxy_run)


async def on_answer_press(
    callback: CallbackQuery,
    callback_data: Answer,
    ctx: Context,
    member: Member,
    conversations: Conversations,
    proxy_run: FlowRun,
) -> None:
    """A pressed answer for the person; once the questionnaire is done, offer the next one."""
    await conversation.on_press(callback, callback_data, ctx, conversations)
    await _answered(ctx, member, conversations, proxy_run)


async def _answered(
    ctx: Context, member: Member, conversations: Conversations, run: FlowRun
) -> None:
    """Once the questionnaire is done (or discarded), audit the session's end; once done, offer
    the next one."""
    if run.status != RunStatus.RUNNING:
        event = "done" if run.status == RunStatus.DONE else "abandoned"
        now = conversations.clock.now()
        await proxy.record_session(ctx.session, member=member, run=run, event=event, now=now)
    _offer_next(ctx.responder, member, run)


def _offer_next(responder: Responder, member: Member, run: FlowRun) -> None:
    if run.status != RunStatus.DONE or run.proxy is None:
        return
    t = responder.catalogs.translator(member.language)
    language = run.proxy.get("language") or NO_LANGUAGE
    group = str(run.proxy.get("group"))
    rows = [
        _button(t("proxy.next_same"), _start(f"{run.flow_id} {group} {language}")),
        _button(t("proxy.next_other"), _start("")),
    ]
    responder.text("proxy.finished", locale=member.language, markup=_markup(rows))


def create_router() -> Router:
    """The proxy router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_answer_text, PlainText(), HasProxyRun())
    router.callback_query.register(on_answer_press, Answer.filter(), HasProxyRun())
    return router
