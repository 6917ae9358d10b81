"""Telegram's flood limits and the errors a test injects: what makes a call fail."""

from __future__ import annotations

import collections
import math
import random
from dataclasses import dataclass
from typing import Any

# Calls that random faults may fail.
SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument", "sendvoice", "sendlocation"})


@dataclass
class RateLimits:
    """Flood limits to enforce; None disables one (Telegram: 1/s per chat, 30/s, 20/min)."""

    per_chat_per_s: float | None = None
    global_per_s: float | None = None
    group_per_min: float | None = None
    # Telegram's limits are for bulk notifications: a call to a private chat within this many
    # seconds of its user's message or button press answers them and is not refused (it still
    # takes its place in that chat's window). None: every call counts.
    answer_window_s: float | None = None


@dataclass
class RandomFaults:
    """Seeded random server errors on send methods (benchmarks): `error_rate` of them fail."""

    error_rate: float = 0.0
    seed: int = 0
    status: int = 502
    description: str = "Bad Gateway"


@dataclass
class Fault:
    """An injected failure (or delay, below status 400) for the next `remaining` calls."""

    status: int
    description: str
    remaining: int
    parameters: dict[str, Any] | None
    delay: float
    # A raw body instead of a Bot API error (a proxy's HTML page, JSON of another API).
    body: str | None = None
    content_type: str = "text/html"


class Window:
    """Sliding-window limiter allowing `rate` events per `period` seconds."""

    __slots__ = ("capacity", "span", "stamps")

    def __init__(self, rate: float, period: float) -> None:
        # fractional rates (0.5/s) become one event per stretched window (2 s)
        self.capacity = max(1, math.floor(rate))
        self.span = period * self.capacity / rate
        self.stamps: collections.deque[float] = collections.deque()

    def wait(self, now: float) -> float:
        """Seconds until one more event fits (0 when it fits now)."""
        stamps = self.stamps
        cutoff = now - self.span
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        if len(stamps) < self.capacity:
            return 0.0
        return stamps[0] + self.span - now


class Throttle:
    """The flood limits over the emulator's clock: a global window and one per chat."""

    def __init__(self, limits: RateLimits) -> None:
        self.limits = limits
        rate = limits.global_per_s
        self._global = Window(rate, 1.0) if rate else None
        self._chats: dict[int, Window] = {}

    def admit(self, chat_id: int, now: float, last_user_at: float) -> float:
        """Take a call to chat_id at `now` and return 0, or the seconds it must wait instead."""
        limits = self.limits
        rate, per = (limits.per_chat_per_s, 1.0) if chat_id > 0 else (limits.group_per_min, 60.0)
        own: Window | None = None
        if rate:
            own = self._chats.get(chat_id)
            if own is None:
                own = self._chats[chat_id] = Window(rate, per)
        answer_window = limits.answer_window_s
        if answer_window and chat_id > 0 and now - last_user_at < answer_window:
            if own is not None:
                own.stamps.append(now)
            return 0.0
        windows = [w for w in (self._global, own) if w is not None]
        if not windows:
            return 0.0
        wait = max(w.wait(now) for w in windows)
        if wait > 0:
            return wait
        for w in windows:
            w.stamps.append(now)
        return 0.0


class Faults:
    """Failures injected per method (in order) and seeded random server errors on sends."""

    def __init__(self, random_faults: RandomFaults) -> None:
        self._queued: dict[str, collections.deque[Fault]] = {}
        self.random = RandomFaults()
        self._random = random.Random(0)
        self.set_random(random_faults)

    def inject(self, method: str, fault: Fault) -> None:
        """Queue `fault` for `method` ("*": any method)."""
        self._queued.setdefault(method.lower(), collections.deque()).append(fault)

    def take(self, method: str) -> Fault | None:
        """The fault due for this call of `method` (lower-cased), if any."""
        for key in (method, "*"):
            queue = self._queued.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                return fault
        return None

    def set_random(self, faults: RandomFaults) -> None:
        """Fail a seeded random share of send calls with a server error (0 turns it off)."""
        if not 0 <= faults.error_rate <= 1:
            raise ValueError("error_rate must be within [0, 1]")
        self.random = faults
        self._random = random.Random(faults.seed)

    def strikes(self, method: str) -> bool:
        """Whether this call of `method` (lower-cased) fails at random."""
        rate = self.random.error_rate
        return method in SEND_METHODS and bool(rate) and self._random.random() < rate
