"""Retrying Bot API calls: 429s wait as Telegram asks, server and network errors back off."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
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
        call_next: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ == GetUpdates.__api_method__:
            # Polling has its own back-off in aiogram.
            return await call_next(bot, method)
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            pause = self._resume_at - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            try:
                return await call_next(bot, method)
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
            except (TelegramServerError, TelegramNetworkError, ClientDecodeError) as exc:
                # An answer that is not the Bot API's (a proxy's HTML error page) is a failure
                # on the way, like a 5xx.
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


# Failures of a Bot API call that may pass: the network, a 5xx, a 429, answers that are not the
# API's (a proxy's page). Any other refusal (a 4xx) would come again the same way.
PASSING = (TelegramNetworkError, TelegramServerError, TelegramRetryAfter, ClientDecodeError)
RETRY_FIRST_S = 1.0
RETRY_MAX_S = 300.0


class RetryInBackground:
    """Calls the bot can serve without (its command menu and descriptions, removing a webhook):
    tried once; on a passing failure logged and tried again in the background, backing off,
    until they succeed; a refusal (a 4xx) is logged once and left."""

    def __init__(
        self, *, first_delay: float = RETRY_FIRST_S, max_delay: float = RETRY_MAX_S
    ) -> None:
        self.first_delay = first_delay
        self.max_delay = max_delay
        self._tasks: dict[str, asyncio.Task[None]] = {}

    @property
    def pending(self) -> list[str]:
        """The calls still being retried."""
        return [what for what, task in self._tasks.items() if not task.done()]

    async def call(self, what: str, call: Callable[[], Awaitable[object]]) -> bool:
        """Try `call` now; whether it succeeded (if not, it is retried in the background)."""
        previous = self._tasks.pop(what, None)
        if previous is not None:
            previous.cancel()  # a newer version of the same call replaces it
        try:
            await call()
            return True
        except PASSING as exc:
            log.warning("%s failed (%s); trying again in the background", what, exc)
        except TelegramAPIError as exc:
            _refused(what, exc)
            return False
        self._tasks[what] = asyncio.create_task(self._retry(what, call), name=f"retry:{what}")
        return False

    async def _retry(self, what: str, call: Callable[[], Awaitable[object]]) -> None:
        delay = self.first_delay
        attempt = 1
        while True:
            await asyncio.sleep(delay * random.uniform(0.8, 1.0))
            attempt += 1
            try:
                await call()
            except PASSING as exc:
                delay = min(self.max_delay, delay * 2)
                log.warning(
                    "%s failed again (attempt %d: %s); next try in %.0fs", what, attempt, exc, delay
                )
                continue
            except TelegramAPIError as exc:
                _refused(what, exc)
                return
            log.info("%s succeeded at attempt %d", what, attempt)
            return

    async def wait_done(self, timeout: float) -> None:
        """Return once every call being retried has succeeded."""
        async with asyncio.timeout(timeout):
            await asyncio.gather(*self._tasks.values())

    async def close(self) -> None:
        """Stop retrying."""
        tasks, self._tasks = list(self._tasks.values()), {}
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def _refused(what: str, exc: TelegramAPIError) -> None:
    log.error("%s refused (%s); not tried again", what, exc)
