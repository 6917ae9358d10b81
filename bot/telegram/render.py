"""Showing replies in a chat: engine output as messages and keyboards, sent after commit."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
)

from bot.i18n import Catalogs, Translator
from bot.services import conversations
from bot.services.conversations import PRE_CONSENT_RUN, Outcome
from bot.services.rendering import Keyboard, render, render_text

log = logging.getLogger(__name__)


def markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """An aiogram keyboard from Bot API JSON."""
    return None if keyboard is None else InlineKeyboardMarkup.model_validate(keyboard)


Call = Callable[[], Awaitable[object]]


class Outgoing:
    """The Bot API calls an update's handling asked for, made once its transaction committed.

    Nothing waits on the network while the update's database work is in progress: the member's
    answer is safe before anything is sent, and (on SQLite) the write lock is never held across
    a round trip to Telegram.
    """

    def __init__(
        self,
        on_forbidden: Callable[[int], Awaitable[None]],
        on_prompts: Callable[[dict[int, int | None]], Awaitable[None]] | None = None,
    ) -> None:
        self._calls: list[tuple[int, Call]] = []
        self._on_forbidden = on_forbidden
        self._on_prompts = on_prompts
        self._prompts: dict[int, int | None] = {}

    def add(self, chat_id: int, call: Call) -> None:
        self._calls.append((chat_id, call))

    def note_prompt(self, run_id: int, message_id: int | None) -> None:
        """A message asking run `run_id`'s open question was sent (None: one without buttons)."""
        self._prompts[run_id] = message_id

    async def flush(self) -> None:
        """Make the calls in order, with those they add; a chat that refuses messages gets no
        further ones."""
        refused: set[int] = set()
        while self._calls:
            chat_id, call = self._calls.pop(0)
            if chat_id in refused:
                continue
            try:
                await call()
            except TelegramForbiddenError as exc:
                refused.add(chat_id)
                log.info("chat %s refuses messages (%s)", chat_id, exc.message)
                await self._on_forbidden(chat_id)
            except TelegramAPIError as exc:
                # Retries already happened in the session middleware; the answer is stored,
                # and /start asks the open question again.
                log.error("could not reply in chat %s: %s", chat_id, exc)
        prompts, self._prompts = self._prompts, {}
        if prompts and self._on_prompts is not None:
            await self._on_prompts(prompts)


class Responder:
    """What a handler shows in its chat; sent by `Outgoing` after the update commits."""

    def __init__(self, *, bot: Bot, chat_id: int, catalogs: Catalogs, outgoing: Outgoing) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.catalogs = catalogs
        self.outgoing = outgoing

    def translator(self, outcome: Outcome) -> Translator:
        return self.catalogs.translator(outcome.locale)

    def later(self, call: Call) -> None:
        """Any other Bot API call for this chat, made after the commit."""
        self.outgoing.add(self.chat_id, call)

    def after_commit(self, action: ChatAction, work: Call) -> None:
        """Slow work (a report, an export) done after the commit, outside the update's
        transaction; what it sends follows it. The chat shows `action` meanwhile."""
        self._status(action)
        self.later(work)

    def show(self, outcome: Outcome, *, edit_message_id: int | None = None) -> None:
        """Send the outcome's messages; a refresh redraws the question message in place."""
        t = self.translator(outcome)
        if outcome.refresh and edit_message_id is not None and outcome.messages:
            last = outcome.messages[-1]
            keyboard = markup(render(last, self._speaking(last, t), outcome.params).keyboard)
            self.later(
                lambda: self.bot.edit_message_reply_markup(
                    chat_id=self.chat_id, message_id=edit_message_id, reply_markup=keyboard
                )
            )
            return
        for message in outcome.messages:
            rendered = render(message, self._speaking(message, t), outcome.params)
            asks = message.reply.question is not None and message.run_id != PRE_CONSENT_RUN
            self.send(
                rendered.text,
                markup(rendered.keyboard),
                prompt_of=message.run_id if asks else None,
            )

    def show_answer(self, outcome: Outcome, question: Message) -> None:
        """Edit an answered question's message: its buttons go, the answer chosen shows."""
        if outcome.answered is None:
            self.remove_buttons(question.message_id)
            return
        answered = render_text(outcome.answered, self.translator(outcome), outcome.params)
        text = f"{question.html_text}\n\n<b>{answered}</b>"
        self.later(
            lambda: self.bot.edit_message_text(
                text=text, chat_id=self.chat_id, message_id=question.message_id, reply_markup=None
            )
        )

    def _speaking(self, message: conversations.Message, reader: Translator) -> Translator:
        """The message's own language (a question asked for someone else), else the reader's."""
        return self.catalogs.translator(message.locale) if message.locale else reader

    def text(
        self,
        key: str,
        *,
        locale: str,
        markup: InlineKeyboardMarkup | None = None,
        then: str | None = None,
        **params: object,
    ) -> None:
        """Send one message by key (for replies that are not engine output); `then` appends."""
        t = self.catalogs.translator(locale)
        values = {k: html.escape(str(v)) for k, v in params.items()}
        self.send(t(key, **values) + (t(then, **values) if then else ""), markup)

    def send(
        self,
        text: str,
        keyboard: InlineKeyboardMarkup | None = None,
        *,
        prompt_of: int | None = None,
    ) -> None:
        """Send ready HTML text; `prompt_of` a run whose open question it asks."""

        async def call() -> None:
            if prompt_of is not None:
                # Until it is sent, no message of the chat holds the question's buttons (a
                # question without buttons leaves none to take away once it is answered).
                self.outgoing.note_prompt(prompt_of, None)
            sent = await self.bot.send_message(self.chat_id, text, reply_markup=keyboard)
            if prompt_of is not None and keyboard is not None:
                self.outgoing.note_prompt(prompt_of, sent.message_id)

        self.later(call)

    def document(self, data: bytes, filename: str, caption: str | None = None) -> None:
        """Send a file made in memory (an export, a member's data)."""
        upload = BufferedInputFile(data, filename=filename)
        self._status(ChatAction.UPLOAD_DOCUMENT)
        self.later(lambda: self.bot.send_document(self.chat_id, upload, caption=caption or None))

    def photo(self, data: bytes, filename: str, caption: str | None = None) -> None:
        """Send a picture made in memory (a report chart); the caption is HTML."""
        upload = BufferedInputFile(data, filename=filename)
        self._status(ChatAction.UPLOAD_PHOTO)
        self.later(lambda: self.bot.send_photo(self.chat_id, upload, caption=caption or None))

    def _status(self, action: ChatAction) -> None:
        """Show "sending a file" over the chat while an upload takes its time; if Telegram
        refuses that, only the hint is lost."""

        async def call() -> None:
            try:
                await self.bot.send_chat_action(chat_id=self.chat_id, action=action)
            except TelegramForbiddenError:
                raise  # the chat refuses everything: `Outgoing` marks it blocked
            except TelegramAPIError as exc:
                log.warning("sendChatAction failed in chat %s: %s", self.chat_id, exc)

        self.later(call)

    def answer_callback(
        self, callback: CallbackQuery, text: str | None = None, *, alert: bool = False
    ) -> None:
        """Answer a button press (the small notice over the chat)."""
        self.later(lambda: callback.answer(text, show_alert=alert))

    def remove_buttons(self, message_id: int) -> None:
        """Take the buttons off an answered question."""
        self.later(
            lambda: self.bot.edit_message_reply_markup(
                chat_id=self.chat_id, message_id=message_id, reply_markup=None
            )
        )
