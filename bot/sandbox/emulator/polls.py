"""Polls the bot sends: sendPoll and stopPoll (people vote through the control API,
people.py; the bot hears of votes by `poll` and, for named polls, `poll_answer` updates)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator.messages import Messages
from bot.sandbox.emulator.params import Params, bot_api, check_reply, reply_markup
from bot.sandbox.emulator.types import APIError, Chat, SentMessage

MAX_POLL_OPTIONS = 12
_FIRST_POLL_ID = 5_000_000_000_000_000_000
_POLL_TYPES = frozenset({"regular", "quiz"})


class Polls(Messages):
    """The bot's polls, their totals and each voter's choice."""

    @bot_api("sendPoll")
    async def _send_poll(self, p: Params) -> Any:
        chat = self._target_chat(p)
        question = (p.get_str("question") or "").strip()
        if not question:
            raise APIError(400, "Bad Request: poll question must be non-empty")
        texts = _option_texts(p)
        kind = p.get_str("type") or "regular"
        if kind not in _POLL_TYPES:
            raise APIError(400, "Bad Request: wrong poll type specified")
        anonymous = "is_anonymous" not in p.values or p.get_bool("is_anonymous")
        markup = reply_markup(p)
        check_reply(chat, p)
        thread_id = self._thread_of(chat, p)
        self._check_rate(chat.id)
        poll = self._new_poll(
            question, texts, kind, anonymous, p.get_bool("allows_multiple_answers")
        )
        message = self._store_poll(chat, p, poll, markup, thread_id)
        return message.to_api()

    def _new_poll(
        self, question: str, texts: list[str], kind: str, anonymous: bool, multiple: bool
    ) -> dict[str, Any]:
        """Telegram Poll JSON for a poll nobody voted in yet, with a fresh id."""
        poll_id = str(max((int(known) for known in self._polls), default=_FIRST_POLL_ID) + 1)
        return {
            "id": poll_id,
            "question": question,
            "options": [
                {"persistent_id": str(i), "text": text, "voter_count": 0}
                for i, text in enumerate(texts)
            ],
            "total_voter_count": 0,
            "is_closed": False,
            "is_anonymous": anonymous,
            "type": kind,
            "allows_multiple_answers": multiple,
            "allows_revoting": kind == "regular",
            "members_only": False,
        }

    def _store_poll(
        self,
        chat: Chat,
        p: Params,
        poll: dict[str, Any],
        markup: dict[str, Any] | None,
        thread_id: int | None,
    ) -> SentMessage:
        message = self._store_message(
            chat, p, "poll", "", ("", []), markup, content={"poll": poll}, thread_id=thread_id
        )
        self._polls[poll["id"]] = (chat.id, message.message_id)
        self._votes[poll["id"]] = {}
        return message

    @bot_api("stopPoll")
    async def _stop_poll(self, p: Params) -> Any:
        chat = self._target_chat(p)
        message = chat.by_id.get(p.get_int("message_id") or 0)
        if message is None or message.kind != "poll" or not message.content:
            raise APIError(400, "Bad Request: message with poll to stop not found")
        poll = message.content["poll"]
        if poll["is_closed"]:
            raise APIError(400, "Bad Request: poll has already been closed")
        markup = reply_markup(p)
        poll["is_closed"] = True
        if markup is not None:
            message.reply_markup = markup
        chat.signal.fire()
        self._publish("edit", chat.id, message=message)
        self._enqueue({"poll": dict(poll)}, None)
        return poll


def _option_texts(p: Params) -> list[str]:
    options = p.get_json("options", "Bad Request: can't parse options JSON object")
    if not isinstance(options, list) or not 1 <= len(options) <= MAX_POLL_OPTIONS:
        raise APIError(400, "Bad Request: POLL_ANSWERS_INVALID")
    texts = []
    for option in options:
        text = option.get("text") if isinstance(option, dict) else option
        if not isinstance(text, str) or not text.strip():
            raise APIError(400, "Bad Request: poll options must be non-empty")
        texts.append(text)
    return texts
