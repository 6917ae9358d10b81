"""Showing replies in a chat: engine output as messages and keyboards, written to the outbox
with the update's own transaction and sent after it commits."""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from aiogram import Bot
from aiogram.enums import ChatAction
from aiogram.exceptions import TelegramAPIError, TelegramForbiddenError
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Catalogs, Translator
from bot.services import conversations
from bot.services.conversations import PRE_CONSENT_RUN, Outcome
from bot.services.rendering import Keyboard, render, render_text
from bot.storage import outbox
from bot.storage.models import OutboxMessage

log = logging.getLogger(__name__)


def markup(keyboard: Keyboard | None) -> InlineKeyboardMarkup | None:
    """An aiogram keyboard from Bot API JSON."""
    return None if keyboard is None else InlineKeyboardMarkup.model_validate(keyboard)


Call = Callable[[], Awaitable[object]]
# Sends rows written already leased, in order (`Sender.deliver_now`).
Deliver = Callable[[Sequence[OutboxMessage]], Awaitable[None]]


@dataclass(frozen=True)
class Reply:
    """A message to the chat, kept in the outbox: HTML text (a photo's or document's caption,
    for a file already in Telegram), its buttons (Bot API JSON) and the run whose open
    question it asks."""

    text: str
    keyboard: dict[str, Any] | None = None
    asks_run: int | None = None
    kind: str = "text"
    media_file_id: str | None = None
    # Its chat and text are written sealed (`Outgoing.write`): it ties the chat to an
    # anonymous ticket, and is written in the raiser's own transaction.
    sealed: bool = False


class SealRoute(Protocol):
    """Seals a chat id and a message's text into one route (`Sealer.seal_route`)."""

    def __call__(self, chat_id: int, *, text: str | None = None) -> str: ...


class Outgoing:
    """What an update's handling shows: messages, written to the outbox in the update's own
    transaction (`write`), and other Bot API calls, made once it committed (`flush`).

    A reply is as durable as the change it reports: should the instance die after the commit,
    the leases the rows were written with end and the claiming sender delivers them. Nothing
    waits on the network while the update's database work is in progress, and (on SQLite) the
    write lock is never held across a round trip to Telegram. Answers to button presses, chat
    actions, edits and slow work after the commit (`Responder.after_commit`) stay direct and
    best-effort: lost with the instance, as a toast or a redrawn keyboard is of no lasting use.
    """

    def __init__(
        self,
        on_forbidden: Callable[[int], Awaitable[None]],
        deliver: Deliver,
        seal_route: SealRoute | None = None,
    ) -> None:
        self._steps: list[tuple[int, Call | Reply]] = []
        self._seal_route = seal_route
        self._written: dict[int, list[OutboxMessage]] = {}
        self._on_forbidden = on_forbidden
        self._deliver = deliver
        self.written = False

    def add(self, chat_id: int, call: Call) -> None:
        self._steps.append((chat_id, call))

    def reply(self, chat_id: int, reply: Reply) -> None:
        self._steps.append((chat_id, reply))

    async def write(
        self,
        session: AsyncSession,
        *,
        now: datetime,
        lease_until: datetime,
        lease_owner: str | None = None,
    ) -> None:
        """Queue the replies in the update's transaction, leased to this instance to send at
        once; behind a chat's earlier replies still to go, they queue for the claiming sender
        (which keeps the chat's order, and is woken once the transaction commits).

        Replies carry no member: they answer what the member just sent, so they go to members
        who stopped the bot too; /forget deletes a chat's queued rows. A sealed reply keeps its
        chat and text sealed in `route` (opened by the sender at send time) on a lane of its
        own, like the relays to an anonymous raiser, and is deleted once sent or given up.
        """
        self.written = True
        waiting: dict[int, bool] = {}
        for index, (chat_id, step) in enumerate(self._steps):
            if not isinstance(step, Reply):
                continue
            if step.sealed:
                self._written[index] = await self._write_sealed(
                    session,
                    chat_id,
                    step,
                    now=now,
                    lease_until=lease_until,
                    lease_owner=lease_owner,
                )
                continue
            if chat_id not in waiting:
                waiting[chat_id] = await outbox.replies_waiting(session, chat_id=chat_id, now=now)
            self._written[index] = await outbox.enqueue(
                session,
                chat_id=chat_id,
                member_id=None,
                text=step.text,
                kind=step.kind,
                media_file_id=step.media_file_id,
                reply_markup=step.keyboard,
                source=outbox.REPLY,
                asks_run=step.asks_run,
                lease_until=None if waiting[chat_id] else lease_until,
                lease_owner=lease_owner,
                now=now,
            )

    async def _write_sealed(
        self,
        session: AsyncSession,
        chat_id: int,
        reply: Reply,
        *,
        now: datetime,
        lease_until: datetime,
        lease_owner: str | None,
    ) -> list[OutboxMessage]:
        if self._seal_route is None or reply.kind != "text" or reply.keyboard is not None:
            raise ValueError("a sealed reply is plain text, and needs the anonymity key")
        return await outbox.enqueue(
            session,
            chat_id=outbox.sealed_lane(),
            route=self._seal_route(chat_id, text=reply.text),
            member_id=None,
            text=outbox.SEALED_TEXT,
            source=outbox.ANONYMOUS_RELAY,
            lease_until=lease_until,
            lease_owner=lease_owner,
            now=now,
        )

    async def flush(self) -> None:
        """Make the calls and send the leased replies in order, with the calls they add; a
        chat that refuses messages gets no further calls."""
        refused: set[int] = set()
        leased: list[OutboxMessage] = []
        index = 0
        while index < len(self._steps):
            chat_id, step = self._steps[index]
            rows = self._written.get(index, [])
            index += 1
            leased += [row for row in rows if row.lease_until is not None]
            if isinstance(step, Reply):
                continue
            await self._send(leased)
            leased = []
            if chat_id in refused:
                continue
            try:
                await step()
            except TelegramForbiddenError as exc:
                refused.add(chat_id)
                log.info("chat %s refuses messages (%s)", chat_id, exc.message)
                await self._on_forbidden(chat_id)
            except TelegramAPIError as exc:
                # Retries already happened in the session middleware; the answer is stored,
                # and /start asks the open question again.
                log.error("could not reply in chat %s: %s", chat_id, exc)
        await self._send(leased)

    async def _send(self, rows: list[OutboxMessage]) -> None:
        for chat_id in dict.fromkeys(row.chat_id for row in rows):
            await self._deliver([row for row in rows if row.chat_id == chat_id])


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
            self._reply(
                Reply(
                    rendered.text,
                    rendered.keyboard,
                    message.run_id if asks else None,
                    sealed=message.reply.sealed,
                )
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

    def send(self, text: str, keyboard: InlineKeyboardMarkup | None = None) -> None:
        """Send ready HTML text (through the outbox, see `Outgoing`)."""
        data = None if keyboard is None else keyboard.model_dump(mode="json", exclude_none=True)
        self._reply(Reply(text, data))

    def media(self, kind: str, file_id: str, caption: str) -> None:
        """Send a photo or document already in Telegram, with an HTML caption."""
        self._reply(Reply(caption, kind=kind, media_file_id=file_id))

    def _reply(self, reply: Reply) -> None:
        if not self.outgoing.written:
            self.outgoing.reply(self.chat_id, reply)
            return
        # Made by slow work after the commit (a report's text): sent directly, best-effort.
        if reply.kind != "text":
            raise ValueError("a file already in Telegram is sent by the update's handler")
        self._direct(reply.text, markup(reply.keyboard))

    def _direct(self, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
        self.later(lambda: self.bot.send_message(self.chat_id, text, reply_markup=keyboard))

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
