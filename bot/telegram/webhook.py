"""Receiving updates by webhook: Telegram POSTs each update; we answer once it is recorded.

The answer comes only after the update went through the dispatcher, whose database middleware
commits its changes together with its `update_id`: a crash before that means no answer, and
Telegram delivers the update again. A repeat (to this instance or another on the same
database) finds its `update_id` taken and is answered 200 without doing anything twice.

Only a passing failure (the database unreachable, a timeout, a question being sent: see
`attempts.passing`) is answered 500,
silently, for Telegram to deliver the update again; a bug would fail the same way each time, so
its update is answered 200 once the member got the errors router's one apology. An update
aiogram cannot read is logged and answered 200 too (as polling skips it), not refused forever.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable

from aiogram import Bot, Dispatcher
from aiohttp import web

from bot.telegram.attempts import passing
from bot.telegram.middlewares import FAILURES
from bot.telegram.updates import read_update

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
        failed for a passing reason (Telegram tries again), else 200 once the update is
        committed, skipped as unreadable, or apologised for."""
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            self._observe("unauthorized")
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            update = read_update(await request.json(), self.bot)
        except ValueError:
            self._observe("bad_request")
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        failures: list[Exception] = []
        try:
            await self.dispatcher.feed_update(self.bot, update, **{FAILURES: failures})
        except Exception as exc:
            failures.append(exc)
        self._observe("error" if failures else "ok")
        if any(passing(failure) for failure in failures):
            # Its transaction was rolled back: nothing of it is recorded. Logged once per
            # outage by UpdateAttempts, not here for each delivery.
            return web.json_response({"ok": False}, status=500)
        return web.json_response({"ok": True})
