"""Retrying Bot API calls: 429s wait as Telegram asks, server and network errors back off."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramNetworkError, TelegramRetryAfter, TelegramServerError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

log = logging.getLogger(__name__)


class RetryRequests(BaseRequestMiddleware):
    """Retries a failed call a bounded number of times; a 429 pauses every call of this bot."""

    def __init__(
        self,
        *,
        attempts: int = 4,
        base_delay: float = 0.5,
        max_delay: float = 30.0,
        on_rate_limited: Callable[[], None] | None = None,
    ) -> None:
        self.attempts = attempts
        self.on_rate_limited = on_rate_limited
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._resume_at = 0.0

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == GetUpdates.__api_method__:
            # Polling has its own back-off in aiogram.
            return await make_request(bot, method)
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            pause = self._resume_at - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if self.on_rate_limited is not None:
                    self.on_rate_limited()
                attempt += 1
                if attempt > self.attempts:
                    raise
                # Telegram limits the whole bot, so every caller waits, not just this one.
                self._resume_at = max(self._resume_at, loop.time() + exc.retry_after)
                log.warning(
                    "%s: rate limited, pausing sends for %ss",
                    method.__api_method__,
                    exc.retry_after,
                )
            except (TelegramServerError, TelegramNetworkError) as exc:
                attempt += 1
                if attempt > self.attempts:
                    log.error(
                        "%s failed after %d attempts: %s", method.__api_method__, attempt, exc
                    )
                    raise
                delay = min(self.max_delay, self.base_delay * 2 ** (attempt - 1))
                delay *= random.uniform(0.5, 1.0)
                log.warning(
                    "%s failed (%s); retry %d in %.2fs", method.__api_method__, exc, attempt, delay
                )
                await asyncio.sleep(delay)

    def __repr__(self) -> str:
        return f"RetryRequests(attempts={self.attempts})"
