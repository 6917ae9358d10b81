"""Attempts at an update whose database work fails for a passing reason (an outage, a timeout,
a lock held elsewhere), or that cannot be decided yet (typed text while the question it may
answer is being sent: `QuestionInFlight`): each attempt is rolled back whole and tells the member
nothing.

By webhook, Telegram delivers the update again (it was answered 500). By polling, nobody would:
the bot keeps the update and tries it again itself, backing off, for `budget_s` in all; only
then is the member told once (by the errors router). The middleware sits inside `ChatOrder`,
so the chat's later updates wait for it while other chats go on.

A change of state is logged once (handling starts failing, works again, an update given up),
never each attempt: an outage must not flood the logs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from bot.ops.failures import FailureLog
from bot.services.shown import QuestionInFlight
from bot.storage.db import describe_error, is_transient

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
log = logging.getLogger(__name__)
FIRST_DELAY_S = 0.5
MAX_DELAY_S = 8.0


def passing(exc: BaseException) -> bool:
    """Whether an update that failed with `exc` may well succeed when tried again."""
    return isinstance(exc, QuestionInFlight) or is_transient(exc)


# What an attempt learnt of how to speak to the member (`MemberLocale`), kept for the apology.
SPOKEN = ("locale", "t")


class UpdateAttempts(BaseMiddleware):
    """Tries an update again while it fails for a passing reason (unless Telegram will)."""

    def __init__(
        self,
        *,
        redelivered: bool,
        budget_s: float,
        first_delay_s: float = FIRST_DELAY_S,
        max_delay_s: float = MAX_DELAY_S,
    ) -> None:
        self.redelivered = redelivered
        self.budget_s = budget_s
        self.first_delay_s = first_delay_s
        self.max_delay_s = max_delay_s
        self.failures = FailureLog(
            log,
            "handling updates",
            meanwhile=(
                "Telegram will deliver the updates again"
                if redelivered
                else f"each update is tried again for up to {budget_s:g}s"
            ),
        )

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        loop = asyncio.get_running_loop()
        started = loop.time()
        delay = self.first_delay_s
        while True:
            # Each attempt starts from the update's own data, not what the last one added.
            attempt = dict(data)
            try:
                result = await handler(event, attempt)
            except Exception as exc:
                # The errors router apologises in the language the member was answered in.
                data.update({k: attempt[k] for k in SPOKEN if k in attempt})
                if not passing(exc):
                    raise
                if not isinstance(exc, QuestionInFlight):
                    # Waiting for a send's outcome is no failure: nothing to log.
                    self.failures.failed(exc)
                if self.redelivered:
                    raise
                if loop.time() + delay - started > self.budget_s:
                    log.error(
                        "update %s given up after %.1fs of attempts (%s); the member is told",
                        event.update_id,
                        loop.time() - started,
                        describe_error(exc),
                    )
                    raise
                await asyncio.sleep(delay)
                delay = min(self.max_delay_s, delay * 2)
                continue
            self.failures.succeeded()
            return result
