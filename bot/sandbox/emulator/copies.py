"""copyMessage: a message of the bot or of a person sent again by the bot, without a link to
the original (a voice note, photos, a location or a poll kept as they were)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator.params import Params, bot_api, check_reply, render, reply_markup
from bot.sandbox.emulator.polls import Polls
from bot.sandbox.emulator.types import APIError, MessageKind, StoredFile

# Message JSON keys a copy keeps, each naming the copy's kind.
_MEDIA: tuple[MessageKind, ...] = ("photo", "document", "voice", "location", "poll")


class Copies(Polls):
    """Copies of messages, into any chat the bot may write to."""

    @bot_api("copyMessage")
    async def _copy_message(self, p: Params) -> Any:
        chat = self._target_chat(p)
        source = self._chats.get(p.get_int("from_chat_id") or 0)
        if source is None or not source.known:
            raise APIError(400, "Bad Request: chat not found")
        message_id = p.get_int("message_id") or 0
        stored: StoredFile | None = None
        sent = source.by_id.get(message_id)
        if sent is not None:
            original, stored = sent.to_api(), sent.file
        elif message_id in source.user_messages:
            original = source.user_messages[message_id]
        else:
            raise APIError(400, "Bad Request: message to copy not found")
        kind = next((media for media in _MEDIA if media in original), None)
        if kind is None and "text" not in original:
            raise APIError(400, "Bad Request: message can't be copied")
        markup = reply_markup(p)
        text, entities = _words(original)
        if kind is not None and "caption" in p.values:
            caption = p.get_str("caption") or ""
            text, entities = render(p, caption, caption=True, strict_html=self._strict_html)
        check_reply(chat, p)
        thread_id = self._thread_of(chat, p)
        self._check_rate(chat.id)
        if kind == "poll":
            poll = original["poll"]
            texts = [option["text"] for option in poll["options"]]
            fresh = self._new_poll(
                poll["question"],
                texts,
                poll["type"],
                poll["is_anonymous"],
                poll["allows_multiple_answers"],
            )
            return {"message_id": self._store_poll(chat, p, fresh, markup, thread_id).message_id}
        content: dict[str, Any] | None = None
        if kind is not None and (stored is None or kind not in ("photo", "document")):
            content, stored = {kind: original[kind]}, None
        copy = self._store_message(
            chat,
            p,
            kind or "text",
            text,
            (text, entities),
            markup,
            stored,
            content=content,
            thread_id=thread_id,
        )
        return {"message_id": copy.message_id}


def _words(message: dict[str, Any]) -> tuple[str, list[dict[str, Any]]]:
    """The text or caption of a message, and its entities."""
    if "text" in message:
        return str(message["text"]), list(message.get("entities") or [])
    return str(message.get("caption") or ""), list(message.get("caption_entities") or [])
