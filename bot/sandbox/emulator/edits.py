"""Editing the bot's messages: editMessageText, editMessageCaption, editMessageReplyMarkup."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator.params import Params, bot_api, render, reply_markup
from bot.sandbox.emulator.state import EmulatorState
from bot.sandbox.emulator.types import APIError, Chat, SentMessage, unix_now

_CAPTIONED = frozenset({"photo", "document", "voice"})
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)


class Edits(EmulatorState):
    """Edits applied in place to the stored message, refused as Telegram refuses them."""

    @bot_api("editMessageText")
    async def _edit_message_text(self, p: Params) -> Any:
        return self._edit_words(p, caption=False)

    @bot_api("editMessageCaption")
    async def _edit_message_caption(self, p: Params) -> Any:
        return self._edit_words(p, caption=True)

    @bot_api("editMessageReplyMarkup")
    async def _edit_message_reply_markup(self, p: Params) -> Any:
        chat = self._target_chat(p)
        message = self._message_to_edit(chat, p)
        return self._apply_edit(chat, message, p, reply_markup(p), None)

    def _edit_words(self, p: Params, *, caption: bool) -> Any:
        """A new text (of a text message) or caption (of a photo or document)."""
        chat = self._target_chat(p)
        message = self._message_to_edit(chat, p)
        field = "caption" if caption else "text"
        if message.kind not in (_CAPTIONED if caption else {"text"}):
            raise APIError(400, f"Bad Request: there is no {field} in the message to edit")
        text = p.get_str(field) or ""
        plain, entities = render(p, text, caption=caption, strict_html=self._strict_html)
        return self._apply_edit(chat, message, p, reply_markup(p), (text, plain, entities))

    def _message_to_edit(self, chat: Chat, p: Params) -> SentMessage:
        if p.values.get("inline_message_id"):
            raise APIError(400, "Bad Request: MESSAGE_ID_INVALID")
        message_id = p.get_int("message_id")
        message = None if message_id is None else chat.by_id.get(message_id)
        if message is None:
            if message_id is not None and message_id in chat.user_message_ids:
                raise APIError(400, "Bad Request: message can't be edited")
            raise APIError(400, "Bad Request: message to edit not found")
        return message

    def _apply_edit(
        self,
        chat: Chat,
        message: SentMessage,
        p: Params,
        markup: dict[str, Any] | None,
        text: tuple[str, str, list[dict[str, Any]]] | None,
    ) -> dict[str, Any]:
        new_plain, new_entities = (
            (message.plain_text, message.entities) if text is None else (text[1], text[2])
        )
        if (
            new_plain == message.plain_text
            and new_entities == message.entities
            and markup == message.reply_markup
        ):
            raise APIError(400, NOT_MODIFIED)
        self._check_rate(chat.id)
        if text is not None:
            message.text, message.plain_text, message.entities = text
            message.parse_mode = p.get_str("parse_mode")
        message.reply_markup = markup
        message.edited = True
        message.edit_count += 1
        message.edit_date = unix_now()
        self.stats.messages_edited += 1
        chat.signal.fire()
        self._publish("edit", chat.id, message=message)
        return message.to_api()
