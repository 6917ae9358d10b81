"""Receiving updates by webhook: Telegram POSTs each update; we answer once it is recorded.

The answer comes only after the update went through the dispatcher, whose database middleware
commits its changes together with its `update_id`: a crash before that means no answer, and
Telegram delivers the update again. A repeat (to this instance or another on the same
database) finds its `update_id` taken and is answered 200 without doing anything twice.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from aiogram import Bot, Dispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.telegram.middlewares import FAILURES

log = logging.getLogger(__name__)
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class WebhookReceiver:
    """The aiohttp handler of the webhook path."""

    def __init__(
        self,
        *,
        dispatcher: Dispatcher,
        bot: Bot,
        secret: str,
        observe: Callable[[str], None] | None = None,
    ) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self._secret = secret.encode()
        self._observe = observe or (lambda result: None)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """401 without the right secret, 400 for what is not an update, 500 if handling
        failed (Telegram tries again), else 200 once the update is committed."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self._observe("unauthorized")
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            payload = await request.json()
            update = Update.model_validate(payload, context={"bot": self.bot})
        except (ValueError, ValidationError):
            self._observe("bad_request")
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        failures: list[Exception] = []
        try:
            await self.dispatcher.feed_update(self.bot, update, **{FAILURES: failures})
        except Exception as exc:
            failures.append(exc)
        if failures:
            # Its transaction was rolled back: nothing of it is recorded.
            log.error(
                "update %s failed (%r); Telegram will send it again",
                update.update_id,
                failures[0],
            )
            self._observe("error")
            return web.json_response({"ok": False}, status=500)
        self._observe("ok")
        return web.json_response({"ok": True})
