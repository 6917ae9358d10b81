"""A circuit breaker for the sender's database: open while the database does not answer.

The sender must never send what it cannot record (a delivery it cannot mark `sent` is sent
again once its lease ends), so the first failure to claim, record or renew opens the breaker:
nothing is claimed or sent until a probe, tried after a growing back-off, succeeds. Each change
of state is logged once, never each failed try.
"""

from __future__ import annotations

import logging
import random

from sqlalchemy.exc import SQLAlchemyError

from bot.delivery.limits import backoff_delay
from bot.storage.db import describe_error as describe

log = logging.getLogger(__name__)

PROBE_BASE_S = 0.25
PROBE_CAP_S = 5.0
# An outage that starts again this soon after the last one ended continues its back-off.
SETTLE_S = 30.0


def unreachable(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be used (rather than a bug of ours)."""
    return isinstance(exc, SQLAlchemyError | OSError | TimeoutError)


class Breaker:
    """Closed, or open since a failure; `failed`, `succeeded` and `due` take loop times."""

    def __init__(self, *, seed: int | None = None) -> None:
        self.opened_at: float | None = None
        self.next_try = 0.0
        self.outages = 0
        self._tries = 0
        self._closed_at = -SETTLE_S
        self._random = random.Random(seed)

    @property
    def is_open(self) -> bool:
        """Whether the database is considered unreachable."""
        return self.opened_at is not None

    def due(self, now: float) -> bool:
        """Whether an open breaker may try the database again now."""
        return self.opened_at is not None and now >= self.next_try

    def wait_s(self, now: float) -> float:
        """Seconds until the next try (0 when closed or due)."""
        return max(0.0, self.next_try - now) if self.opened_at is not None else 0.0

    def failed(self, exc: BaseException, now: float) -> None:
        """A database call failed: open (logging it once), or schedule the next try."""
        if self.opened_at is None:
            if now - self._closed_at >= SETTLE_S:
                self._tries = 0
            self.opened_at = now
            self.outages += 1
            log.error(
                "outbox sender paused: %s; nothing is sent until the database answers",
                describe(exc),
                # An error that is not the database's is a bug: show where it happened.
                exc_info=None if unreachable(exc) else exc,
            )
        self._tries += 1
        delay = backoff_delay(
            self._tries, jitter=self._random.random(), base=PROBE_BASE_S, cap=PROBE_CAP_S
        )
        self.next_try = now + delay

    def succeeded(self, now: float) -> None:
        """A database call succeeded: close (logging it once)."""
        if self.opened_at is None:
            return
        log.warning(
            "outbox sender resumed: the database answers again after %.1fs", now - self.opened_at
        )
        self.opened_at = None
        self._closed_at = now
