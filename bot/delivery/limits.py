"""Pacing maths for the sender: next free send slot overall and per chat, and retry back-off.

Telegram (and the emulator) count sends in sliding windows. Bursts that a token bucket would
allow can overflow such a window, so sends are spaced evenly instead: a new send may start one
interval after the previous one, overall and in its chat. Evenly spaced sends at the configured
rate never fill a window; the headroom absorbs the jitter between when we start a request and
when the server counts it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

# Pace at 97 % of each limit: 30 ms of arrival jitter per second of traffic stays within it.
PACING_HEADROOM = 0.97
# How late a send may start and still keep its slot, so sleep overshoot is not lost throughput.
CATCH_UP_S = 0.01
BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; private chats positive ones."""
    return chat_id < 0


@dataclass
class Pacer:
    """Next free send slot, overall and per chat, on a monotonic clock in seconds."""

    global_per_s: float
    chat_per_s: float
    group_per_min: float
    headroom: float = PACING_HEADROOM
    catch_up: float = CATCH_UP_S
    _global_next: float = -math.inf
    _chat_next: dict[int, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if min(self.global_per_s, self.chat_per_s, self.group_per_min) <= 0:
            raise ValueError("rates must be positive")
        if not 0 < self.headroom <= 1:
            raise ValueError("headroom must be within (0, 1]")

    @property
    def global_interval(self) -> float:
        """Seconds between two sends overall."""
        return 1.0 / (self.global_per_s * self.headroom)

    def chat_interval(self, chat_id: int) -> float:
        """Seconds between two sends to one chat."""
        if is_group(chat_id):
            return 60.0 / (self.group_per_min * self.headroom)
        return 1.0 / (self.chat_per_s * self.headroom)

    def chat_ready_at(self, chat_id: int) -> float:
        """When this chat may receive its next message, ignoring the overall limit."""
        return self._chat_next.get(chat_id, -math.inf)

    def ready_at(self, chat_id: int) -> float:
        """When a message to this chat may start."""
        return max(self._global_next, self.chat_ready_at(chat_id))

    def take(self, chat_id: int, now: float) -> None:
        """Record a send to `chat_id` starting at `now` (at or after `ready_at`)."""
        self._global_next = self._after(self._global_next, now, self.global_interval)
        self._chat_next[chat_id] = self._after(
            self.chat_ready_at(chat_id), now, self.chat_interval(chat_id)
        )

    def _after(self, slot: float, now: float, interval: float) -> float:
        # A send that starts a little after its slot keeps it; a later one starts afresh.
        return (slot if slot >= now - self.catch_up else now) + interval

    def busy_chats(self, now: float, horizon: float) -> dict[int, float]:
        """Chats not free before `now + horizon`, with when they will be; forgets idle chats."""
        self._chat_next = {c: t for c, t in self._chat_next.items() if t > now}
        return {c: t for c, t in self._chat_next.items() if t > now + horizon}


def backoff_delay(
    attempt: int, *, jitter: float, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S
) -> float:
    """Seconds before retry number `attempt` (1, 2, ...): doubling, capped, with jitter.

    `jitter` in [0, 1) picks a point between half and all of the delay, so senders that failed
    together do not retry together.
    """
    if attempt < 1:
        raise ValueError("attempts count from 1")
    if not 0 <= jitter < 1:
        raise ValueError("jitter must be within [0, 1)")
    delay = min(cap, base * 2.0 ** min(attempt - 1, 64))
    return delay * (0.5 + jitter / 2)
