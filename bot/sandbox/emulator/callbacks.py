"""Button presses answered: answerCallbackQuery (presses themselves come from control.py)."""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator.params import Params, bot_api
from bot.sandbox.emulator.state import EmulatorState
from bot.sandbox.emulator.types import APIError, CallbackAnswer

QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"


class Callbacks(EmulatorState):
    """Answers to callback queries, kept per chat."""

    @bot_api("answerCallbackQuery")
    async def _answer_callback_query(self, p: Params) -> Any:
        query_id = p.get_str("callback_query_id") or ""
        chat_id = self._open_queries.pop(query_id, None)
        if chat_id is None:
            raise APIError(400, QUERY_TOO_OLD)
        answer = CallbackAnswer(
            callback_query_id=query_id,
            chat_id=chat_id,
            text=p.get_str("text"),
            show_alert=p.get_bool("show_alert"),
            url=p.get_str("url"),
            cache_time=p.get_int("cache_time") or 0,
        )
        chat = self._chat(chat_id)
        chat.answers.append(answer)
        self.stats.callback_answers += 1
        chat.signal.fire()
        self._publish("callback_answer", chat_id, answer=answer)
        return True
