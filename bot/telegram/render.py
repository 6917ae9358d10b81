"""Rendering engine replies as Telegram messages and keyboards, and sending them."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.domain.engine import QuestionView, Reply
from bot.domain.payload import SKIP, SUBMIT, encode_answer
from bot.i18n import Catalogs, Translator
from bot.services.conversations import Message, Outcome
from bot.storage import repo
from bot.storage.models import Member, MemberStatus

log = logging.getLogger(__name__)
CHECKED, UNCHECKED = "☑", "☐"


def render_text(reply: Reply, t: Translator, params: Mapping[str, object]) -> str:
    """The HTML text of a reply: its wording, then how to answer when it asks."""
    values = {k: html.escape(str(v)) for k, v in {**params, **reply.params}.items()}
    text = t(reply.key, **values)
    if reply.question is not None:
        text = f"{text}\n\n<i>{_instructions(reply.question, t)}</i>"
    return text


def _instructions(q: QuestionView, t: Translator) -> str:
    if q.kind == "scale":
        low, high = t(q.low_label or ""), t(q.high_label or "")
        line = t(
            "ask.scale",
            min=_num(q.min),
            max=_num(q.max),
            low=html.escape(low),
            high=html.escape(high),
        )
    elif q.kind == "yes_no":
        line = t("ask.yes_no", yes=t("common.yes"), no=t("common.no"))
    elif q.kind == "multi_choice":
        line = t("ask.multi_choice", done=t("common.done"))
    elif q.kind == "number":
        if q.min is not None and q.max is not None:
            line = t("ask.number_between", min=_num(q.min), max=_num(q.max))
        else:
            line = t("ask.number")
    elif q.kind == "text":
        line = t("ask.text", max=q.max_length or "")
    else:
        line = t("ask.choice")
    if q.skippable:
        line = f"{line}\n{t('ask.skip', skip=t('common.skip'))}"
    return line


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else str(value)


def render_keyboard(message: Message, t: Translator) -> InlineKeyboardMarkup | None:
    """Inline buttons for a question; every button also has a number a member can type."""
    q = message.reply.question
    if q is None:
        return None

    def button(text: str, value: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=encode_answer(message.run_id, q.node_id, value)
        )

    rows: list[list[InlineKeyboardButton]] = []
    if q.kind in ("scale", "yes_no"):
        rows.append([button(o.text or t(o.label or ""), o.value) for o in q.options])
    elif q.kind == "choice":
        rows.extend([button(f"{o.number}. {t(o.label or '')}", o.value)] for o in q.options)
    elif q.kind == "multi_choice":
        for o in q.options:
            mark = CHECKED if o.value in q.selected else UNCHECKED
            rows.append([button(f"{mark} {o.number}. {t(o.label or '')}", o.value)])
        rows.append([button(f"✔ {t('common.done')}", SUBMIT)])
    if q.skippable:
        rows.append([button(t("common.skip"), SKIP)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


class Responder:
    """Shows an outcome in one chat: commits the update's work first, then sends."""

    def __init__(
        self,
        *,
        bot: Bot,
        session: AsyncSession,
        chat_id: int,
        catalogs: Catalogs,
        member: Member | None,
        clock: Clock,
    ) -> None:
        self.bot = bot
        self.session = session
        self.chat_id = chat_id
        self.catalogs = catalogs
        self.member = member
        self.clock = clock

    def translator(self, outcome: Outcome) -> Translator:
        return self.catalogs.translator(outcome.locale)

    async def show(self, outcome: Outcome, *, edit_message_id: int | None = None) -> None:
        """Send the outcome's messages; a refresh redraws the question message in place."""
        # Commit before any network call: the member's answer is safe even if sending fails,
        # and no database lock is held while waiting on Telegram.
        await self.session.commit()
        t = self.translator(outcome)
        try:
            if outcome.refresh and edit_message_id is not None and outcome.messages:
                last = outcome.messages[-1]
                await self.bot.edit_message_reply_markup(
                    chat_id=self.chat_id,
                    message_id=edit_message_id,
                    reply_markup=render_keyboard(last, t),
                )
                return
            for message in outcome.messages:
                await self.bot.send_message(
                    chat_id=self.chat_id,
                    text=render_text(message.reply, t, outcome.params),
                    reply_markup=render_keyboard(message, t),
                )
        except TelegramForbiddenError as exc:
            await self.mark_blocked(exc)
        except TelegramAPIError as exc:
            # Retries already happened in the session middleware; the answer is stored, and
            # /start asks the open question again.
            log.error("could not reply in chat %s: %s", self.chat_id, exc)

    async def text(
        self,
        key: str,
        *,
        locale: str,
        markup: InlineKeyboardMarkup | None = None,
        then: str | None = None,
        **params: object,
    ) -> None:
        """Send one message by key (for replies that are not engine output); `then` appends."""
        await self.session.commit()
        t = self.catalogs.translator(locale)
        values = {k: html.escape(str(v)) for k, v in params.items()}
        text = t(key, **values) + (t(then, **values) if then else "")
        try:
            await self.bot.send_message(chat_id=self.chat_id, text=text, reply_markup=markup)
        except TelegramForbiddenError as exc:
            await self.mark_blocked(exc)
        except TelegramAPIError as exc:
            log.error("could not reply in chat %s: %s", self.chat_id, exc)

    async def mark_blocked(self, exc: TelegramForbiddenError) -> None:
        """The member blocked the bot: record it, so nothing more is sent until they return."""
        log.info(
            "chat %s refuses messages (%s); marking the member blocked", self.chat_id, exc.message
        )
        if self.member is None:
            return
        changes = {"status": MemberStatus.BLOCKED}
        await repo.update_member(
            self.session, member=self.member, changes=changes, now=self.clock.now()
        )
        await self.session.commit()
