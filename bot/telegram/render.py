"""Rendering engine replies as Telegram messages and keyboards, and sending them."""

from __future__ import annotations

import html
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import InlineKeyboardMarkup
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.i18n import Catalogs, Translator
from bot.services.conversations import Outcome
from bot.services.rendering import Keyboard, render
from bot.storage import repo
from bot.storage.models import Member, MemberStatus

log = logging.getLogger(__name__)


def markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """An aiogram keyboard from Bot API JSON."""
    return None if keyboard is None else InlineKeyboardMarkup.model_validate(keyboard)


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
                    reply_markup=markup(render(last, t, outcome.params).keyboard),
                )
                return
            for message in outcome.messages:
                rendered = render(message, t, outcome.params)
                await self.bot.send_message(
                    chat_id=self.chat_id, text=rendered.text, reply_markup=markup(rendered.keyboard)
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
