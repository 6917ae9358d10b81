"""Sending: sendMessage, sendPhoto, sendDocument, sendVoice, sendLocation, deleteMessage and
sendChatAction (sendPoll is in polls.py, copyMessage in copies.py)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator.files import Files
from bot.sandbox.emulator.params import Params, bot_api, check_reply, render, reply_markup
from bot.sandbox.emulator.types import (
    APIError,
    Chat,
    MessageKind,
    SentMessage,
    StoredFile,
    unix_now,
)

_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)


_BOUNDS = {"latitude": 90.0, "longitude": 180.0}


def _coordinate(p: Params, name: str, bound: float) -> float:
    """A place's latitude or longitude, refused as Telegram refuses it."""
    value = p.get_str(name)
    if value is None:
        raise APIError(400, f"Bad Request: there is no {name} in the request")
    try:
        number = float(value)
    except ValueError:
        raise APIError(400, f"Bad Request: wrong {name} specified") from None
    if not -bound <= number <= bound:
        raise APIError(400, f"Bad Request: wrong {name} specified")
    return number


class Messages(Files):
    """The bot's messages: sent, stored per chat, deleted."""

    @bot_api("sendMessage")
    async def _send_message(self, p: Params) -> Any:
        chat = self._target_chat(p)
        text = p.get_str("text") or ""
        rendered = render(p, text, caption=False, strict_html=self._strict_html)
        markup = reply_markup(p)
        check_reply(chat, p)
        thread_id = self._thread_of(chat, p)
        self._check_rate(chat.id)
        message = self._store_message(chat, p, "text", text, rendered, markup, thread_id=thread_id)
        return message.to_api()

    @bot_api("sendPhoto")
    async def _send_photo(self, p: Params) -> Any:
        return self._send_media(p, "photo")

    @bot_api("sendDocument")
    async def _send_document(self, p: Params) -> Any:
        return self._send_media(p, "document")

    @bot_api("sendVoice")
    async def _send_voice(self, p: Params) -> Any:
        return self._send_media(p, "voice")

    @bot_api("sendLocation")
    async def _send_location(self, p: Params) -> Any:
        chat = self._target_chat(p)
        place = {name: _coordinate(p, name, bound) for name, bound in _BOUNDS.items()}
        markup = reply_markup(p)
        check_reply(chat, p)
        thread_id = self._thread_of(chat, p)
        self._check_rate(chat.id)
        content = {"location": place}
        message = self._store_message(
            chat, p, "location", "", ("", []), markup, content=content, thread_id=thread_id
        )
        return message.to_api()

    def _send_media(self, p: Params, kind: MessageKind) -> Any:
        chat = self._target_chat(p)
        caption = p.get_str("caption") or ""
        rendered = render(p, caption, caption=True, strict_html=self._strict_html)
        markup = reply_markup(p)
        stored = self._input_file(p, kind, kind)
        check_reply(chat, p)
        thread_id = self._thread_of(chat, p)
        self._check_rate(chat.id)
        # The page draws a voice note from its content, as it does a copied one.
        content = {"voice": {"duration": stored.duration}} if kind == "voice" else None
        message = self._store_message(
            chat, p, kind, caption, rendered, markup, stored, content=content, thread_id=thread_id
        )
        return message.to_api()

    def _store_message(
        self,
        chat: Chat,
        p: Params,
        kind: MessageKind,
        text: str,
        rendered: tuple[str, list[dict[str, Any]]],
        markup: dict[str, Any] | None,
        stored: StoredFile | None = None,
        *,
        content: dict[str, Any] | None = None,
        thread_id: int | None = None,
    ) -> SentMessage:
        message = SentMessage(
            message_id=chat.allocate_message_id(),
            chat_id=chat.id,
            date=unix_now(),
            kind=kind,
            text=text,
            parse_mode=p.get_str("parse_mode"),
            reply_markup=markup,
            plain_text=rendered[0],
            entities=rendered[1],
            file=stored,
            content=content,
            thread_id=thread_id,
            chat=chat.info,
            sender=self._bot_user(p.bot_id),
        )
        chat.messages.append(message)
        chat.by_id[message.message_id] = message
        chat.live_count += 1
        self.stats.messages_sent += 1
        now = self._clock()
        if self.stats.first_message_at is None:
            self.stats.first_message_at = now
        self.stats.last_message_at = now
        chat.signal.fire()
        self._publish("message", chat.id, message=message)
        return message

    @bot_api("deleteMessage")
    async def _delete_message(self, p: Params) -> Any:
        chat = self._target_chat(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise APIError(400, "Bad Request: message identifier is not specified")
        message = chat.by_id.pop(message_id, None)
        if message is not None:
            message.deleted = True
            chat.live_count -= 1
            self.stats.messages_deleted += 1
            chat.signal.fire()
            self._publish("delete", chat.id, message=message)
            return True
        if message_id in chat.user_message_ids:
            chat.user_message_ids.discard(message_id)
            chat.user_messages.pop(message_id, None)
            return True
        raise APIError(400, "Bad Request: message to delete not found")

    @bot_api("sendChatAction")
    async def _send_chat_action(self, p: Params) -> Any:
        self._target_chat(p)
        if p.get_str("action") not in _CHAT_ACTIONS:
            raise APIError(400, "Bad Request: wrong parameter action in request")
        self.stats.chat_actions += 1
        return True
