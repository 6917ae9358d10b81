"""Pacing maths for the sender: when a send may start, overall and per chat, and retry back-off.

Telegram (and the emulator) count sends in sliding windows, at the moment a request reaches
them: somewhere between when we start it and when its answer comes back. Spacing the starts
evenly is not enough: a few requests held up on the way (a slow network, a busy server) arrive
together with the next on-time ones and overflow a window. So a send counts, here, from its
start until one window after its answer: a new one may start only while fewer than the
window's capacity are counted. Whenever the server counted each send, no window of its holds
more than the capacity. Starts are also spaced evenly, so that the capacity is not spent in
one burst.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

BACKOFF_BASE_S = 2.0
BACKOFF_CAP_S = 600.0


def is_group(chat_id: int) -> bool:
    """Groups, supergroups and channels have negative ids; private chats positive ones."""
    return chat_id < 0


class Window:
    """One limit: at most `capacity` sends counted per `span` seconds, starts `interval` apart."""

    __slots__ = ("capacity", "ended", "in_flight", "interval", "next_start", "span")

    def __init__(self, rate: float, period: float) -> None:
        # A fractional rate (0.5/s) becomes one send per stretched window (2 s), as Telegram's.
        self.capacity = max(1, math.floor(rate))
        self.span = period * self.capacity / rate
        self.interval = period / rate
        self.in_flight = 0
        self.ended: list[float] = []  # answers within the last span, when they came
        self.next_start = -math.inf

    def ready_at(self, now: float) -> float:
        """When one more send may start (inf: only once a send in flight is answered)."""
        cutoff = now - self.span
        self.ended = [t for t in self.ended if t > cutoff]
        room = self.capacity - self.in_flight
        if room <= 0:
            return math.inf
        counted = len(self.ended)
        if counted < room:
            return self.next_start
        # The send may start once all but room - 1 of the answers are a span old.
        oldest_kept = sorted(self.ended)[counted - room]
        return max(self.next_start, oldest_kept + self.span)

    def start(self, now: float) -> None:
        self.in_flight += 1
        self.next_start = max(self.next_start, now) + self.interval

    def answered(self, now: float) -> None:
        self.in_flight -= 1
        self.ended.append(now)

    @property
    def idle(self) -> bool:
        return self.in_flight == 0 and not self.ended


@dataclass
class Pacer:
    """When sends may start, overall and per chat, on a monotonic clock in seconds.

    `take` a slot when a send starts and hand it back with `answered` when its answer comes
    (or the request fails): the send is counted until a window after that.
    """

    global_per_s: float
    chat_per_s: float
    group_per_min: float
    _global: Window = field(init=False)
    _chats: dict[int, Window] = field(default_factory=dict, init=False)

    def __post_init__(self) -> None:
        if min(self.global_per_s, self.chat_per_s, self.group_per_min) <= 0:
            raise ValueError("rates must be positive")
        self._global = Window(self.global_per_s, 1.0)

    def _chat(self, chat_id: int) -> Window:
        window = self._chats.get(chat_id)
        if window is None:
            window = self._chats[chat_id] = (
                Window(self.group_per_min, 60.0)
                if is_group(chat_id)
                else Window(self.chat_per_s, 1.0)
            )
        return window

    def chat_ready_at(self, chat_id: int, now: float) -> float:
        """When this chat may receive its next message, ignoring the overall limit."""
        window = self._chats.get(chat_id)
        return -math.inf if window is None else window.ready_at(now)

    def ready_at(self, chat_id: int, now: float) -> float:
        """When a message to this chat may start."""
        return max(self._global.ready_at(now), self.chat_ready_at(chat_id, now))

    def take(self, chat_id: int, now: float) -> None:
        """A send to `chat_id` starts at `now` (at or after `ready_at`)."""
        self._global.start(now)
        self._chat(chat_id).start(now)

    def answered(self, chat_id: int, now: float) -> None:
        """The send to `chat_id` taken earlier was answered (or failed) at `now`."""
        window = self._chats.get(chat_id)
        if window is None or window.in_flight <= 0:
            raise ValueError(f"no send to chat {chat_id} in flight")
        self._global.answered(now)
        window.answered(now)

    def busy_chats(self, now: float, horizon: float) -> dict[int, float]:
        """Chats not free before `now + horizon`, with when they will be; forgets idle chats."""
        busy: dict[int, float] = {}
        for chat_id, window in list(self._chats.items()):
            ready = window.ready_at(now)
            if window.idle and ready <= now:
                del self._chats[chat_id]
            elif ready > now + horizon:
                busy[chat_id] = ready
        return busy


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
