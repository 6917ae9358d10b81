"""/proxy: a coordinator records a questionnaire for someone without a phone (at a meeting).

`/proxy` → a flow → the person's stakeholder group → their language (or skip); then the
coordinator answers the questions in chat as usual. When it is done, one button records the
next person with the same questionnaire and group. `/proxy trust_pulse community fr` starts
at once. The role is checked at every button press and every answer.
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import CommandObject, Filter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.services import proxy
from bot.services.conversations import Conversations, UserRef
from bot.storage.models import FlowRun, Member, RunStatus
from bot.telegram.access import Coordinator, is_coordinator, refuse
from bot.telegram.callbacks import Answer, ProxyStep
from bot.telegram.filters import PlainText, PrivateChat, command
from bot.telegram.render import Responder
from bot.telegram.routers import conversation

NO_LANGUAGE = "-"


def _button(text: str, data: ProxyStep) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text, callback_data=data.pack())]


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


def _flows_markup(conversations: Conversations, t: Translator) -> InlineKeyboardMarkup:
    flows = proxy.eligible_flows(conversations.flows)
    return _markup([_button(t(f.title), ProxyStep(step="f", flow=f.id)) for f in flows])


async def on_proxy(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    user: UserRef,
    member: Member,
    conversations: Conversations,
    t: Translator,
    responder: Responder,
) -> None:
    """Choose the questionnaire, or start at once: `/proxy FLOW GROUP [LANGUAGE]`."""
    locale = t.locale
    args = (command.args or "").split()
    if not args:
        responder.text("proxy.choose_flow", locale=locale, markup=_flows_markup(conversations, t))
        return
    flow_id, group = args[0], args[1] if len(args) > 1 else ""
    language = args[2] if len(args) > 2 else NO_LANGUAGE
    if not _valid(conversations, flow_id, group, language):
        responder.text("proxy.usage", locale=locale)
        return
    await _begin(session, user, member, conversations, responder, t, flow_id, group, language)


def _valid(conversations: Conversations, flow_id: str, group: str, language: str) -> bool:
    flows = {f.id for f in proxy.eligible_flows(conversations.flows)}
    groups = conversations.flows.options_for("stakeholder_group")
    return (
        flow_id in flows
        and group in groups
        and (language == NO_LANGUAGE or language in conversations.locales)
    )


async def _begin(
    session: AsyncSession,
    user: UserRef,
    member: Member,
    conversations: Conversations,
    responder: Responder,
    t: Translator,
    flow_id: str,
    group: str,
    language: str,
) -> None:
    details = {"group": group, "language": None if language == NO_LANGUAGE else language}
    outcome = await conversations.begin(
        session, user=user, member=member, flow_id=flow_id, proxy=details
    )
    running = await proxy.running_proxy_run(session, member=member)
    if running is not None and running.flow_id == flow_id and running.proxy == details:
        await proxy.record_session(
            session, member=member, run=running, event="start", now=conversations.clock.now()
        )
        language_name = t(f"language.name.{language}") if language != NO_LANGUAGE else "–"
        responder.text(
            "proxy.started",
            locale=t.locale,
            flow=t(conversations.flows[flow_id].title),
            group=t(f"group.{group}"),
            language=language_name,
        )
    responder.show(outcome)


async def on_press(
    callback: CallbackQuery,
    callback_data: ProxyStep,
    session: AsyncSession,
    user: UserRef,
    member: Member,
    conversations: Conversations,
    t: Translator,
    responder: Responder,
) -> None:
    """The flow, group and language buttons, and "record the next person"."""
    locale, step = t.locale, callback_data.step
    flow, group, language = callback_data.flow, callback_data.group, callback_data.language
    responder.answer_callback(callback)
    if isinstance(callback.message, Message):
        responder.remove_buttons(callback.message.message_id)
    groups = conversations.flows.options_for("stakeholder_group")
    if step == "new":
        responder.text("proxy.choose_flow", locale=locale, markup=_flows_markup(conversations, t))
    elif step == "f" and flow in conversations.flows:
        rows = [_button(t(f"group.{g}"), ProxyStep(step="g", flow=flow, group=g)) for g in groups]
        responder.text("proxy.choose_group", locale=locale, markup=_markup(rows))
    elif step == "g" and group in groups:
        names = {code: t(f"language.name.{code}") for code in conversations.locales}
        names[NO_LANGUAGE] = t("proxy.language_skip")
        rows = [
            _button(name, ProxyStep(step="l", flow=flow, group=group, language=code))
            for code, name in names.items()
        ]
        responder.text("proxy.choose_language", locale=locale, markup=_markup(rows))
    elif step == "l" and _valid(conversations, flow, group, language):
        await _begin(session, user, member, conversations, responder, t, flow, group, language)
    else:
        responder.text("proxy.usage", locale=locale)


async def on_answer_text(
    message: Message,
    session: AsyncSession,
    user: UserRef,
    member: Member,
    conversations: Conversations,
    responder: Responder,
    proxy_run: FlowRun,
) -> None:
    """A typed answer for the person; once the questionnaire is done, offer the next one."""
    await conversation.on_text(message, session, user, member, conversations, responder)
    await _ended(session, member, conversations, proxy_run)
    _offer_next(responder, member, proxy_run)


async def on_answer_press(
    callback: CallbackQuery,
    callback_data: Answer,
    session: AsyncSession,
    user: UserRef,
    member: Member,
    conversations: Conversations,
    responder: Responder,
    proxy_run: FlowRun,
) -> None:
    """A pressed answer for the person; once the questionnaire is done, offer the next one."""
    await conversation.on_press(
        callback, callback_data, session, user, member, conversations, responder
    )
    await _ended(session, member, conversations, proxy_run)
    _offer_next(responder, member, proxy_run)


async def _ended(
    session: AsyncSession, member: Member, conversations: Conversations, run: FlowRun
) -> None:
    """Audit the end of the session once its questionnaire is done (or discarded)."""
    if run.status != RunStatus.RUNNING:
        event = "done" if run.status == RunStatus.DONE else "abandoned"
        now = conversations.clock.now()
        await proxy.record_session(session, member=member, run=run, event=event, now=now)


def _offer_next(responder: Responder, member: Member, run: FlowRun) -> None:
    if run.status != RunStatus.DONE or run.proxy is None:
        return
    t = responder.catalogs.translator(member.language)
    language = run.proxy.get("language") or NO_LANGUAGE
    group = str(run.proxy.get("group"))
    rows = [
        _button(
            t("proxy.next_same"),
            ProxyStep(step="l", flow=run.flow_id, group=group, language=language),
        ),
        _button(t("proxy.next_other"), ProxyStep(step="new")),
    ]
    responder.text("proxy.finished", locale=member.language, markup=_markup(rows))


def create_router() -> Router:
    """The proxy router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_proxy, command("proxy"), Coordinator())
    router.message.register(refuse("proxy.coordinators_only"), command("proxy"))
    router.message.register(on_answer_text, PlainText(), HasProxyRun())
    router.callback_query.register(on_press, ProxyStep.filter(), Coordinator())
    router.callback_query.register(refuse("proxy.no_longer_allowed"), ProxyStep.filter())
    router.callback_query.register(on_answer_press, Answer.filter(), HasProxyRun())
    return router
