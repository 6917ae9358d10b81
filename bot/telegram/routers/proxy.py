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

from bot.domain.payload import PREFIX as ANSWER_PREFIX
from bot.i18n import Translator
from bot.services import proxy
from bot.services.conversations import Conversations, UserRef
from bot.storage.models import FlowRun, Member, RunStatus
from bot.telegram.filters import DataPrefix, PlainText, PrivateChat, command
from bot.telegram.render import Responder
from bot.telegram.routers import conversation
from bot.telegram.routers.roles import is_coordinator

PREFIX = "px"
NO_LANGUAGE = "-"


def _button(text: str, *parts: str) -> list[InlineKeyboardButton]:
    return [InlineKeyboardButton(text=text, callback_data=":".join((PREFIX, *parts)))]


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
    return _markup([_button(t(f.title), "f", f.id) for f in flows])


async def on_proxy(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    responder: Responder,
) -> None:
    """Choose the questionnaire, or start at once: `/proxy FLOW GROUP [LANGUAGE]`."""
    locale = member.language if member else "en"
    if not is_coordinator(member):
        responder.text("proxy.coordinators_only", locale=locale)
        return
    assert member is not None
    t = responder.catalogs.translator(locale)
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
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    responder: Responder,
) -> None:
    """The flow, group and language buttons, and "record the next person"."""
    locale = member.language if member else "en"
    t = responder.catalogs.translator(locale)
    if not is_coordinator(member):
        responder.answer_callback(callback, t("proxy.no_longer_allowed"), alert=True)
        return
    assert member is not None
    parts = (callback.data or "").split(":")[1:]
    responder.answer_callback(callback)
    if isinstance(callback.message, Message):
        responder.remove_buttons(callback.message.message_id)
    groups = conversations.flows.options_for("stakeholder_group")
    if parts == ["new"]:
        responder.text("proxy.choose_flow", locale=locale, markup=_flows_markup(conversations, t))
    elif len(parts) == 2 and parts[0] == "f" and parts[1] in conversations.flows:
        rows = [_button(t(f"group.{g}"), "g", parts[1], g) for g in groups]
        responder.text("proxy.choose_group", locale=locale, markup=_markup(rows))
    elif len(parts) == 3 and parts[0] == "g" and parts[2] in groups:
        rows = [
            _button(t(f"language.name.{code}"), "l", parts[1], parts[2], code)
            for code in conversations.locales
        ]
        rows.append(_button(t("proxy.language_skip"), "l", parts[1], parts[2], NO_LANGUAGE))
        responder.text("proxy.choose_language", locale=locale, markup=_markup(rows))
    elif len(parts) == 4 and parts[0] == "l" and _valid(conversations, *parts[1:]):
        await _begin(session, user, member, conversations, responder, t, *parts[1:])
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
    session: AsyncSession,
    user: UserRef,
    member: Member,
    conversations: Conversations,
    responder: Responder,
    proxy_run: FlowRun,
) -> None:
    """A pressed answer for the person; once the questionnaire is done, offer the next one."""
    await conversation.on_press(callback, session, user, member, conversations, responder)
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
        _button(t("proxy.next_same"), "l", run.flow_id, group, language),
        _button(t("proxy.next_other"), "new"),
    ]
    responder.text("proxy.finished", locale=member.language, markup=_markup(rows))


def create_router() -> Router:
    """The proxy router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_proxy, command("proxy"))
    router.message.register(on_answer_text, PlainText(), HasProxyRun())
    router.callback_query.register(on_press, DataPrefix(f"{PREFIX}:"))
    router.callback_query.register(on_answer_press, DataPrefix(f"{ANSWER_PREFIX}:"), HasProxyRun())
    return router
