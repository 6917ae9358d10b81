"""Time as an injected dependency, so tests and the sandbox can control it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> datetime: ...


class SystemClock:
    """The real wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, `:advance` in the sandbox)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self._now += delta
        return self._now


class OffsetClock:
    """The wall clock moved forward on demand (the sandbox's `:advance`), never back."""

    def __init__(self, base: Clock | None = None, *, ahead: timedelta = timedelta(0)) -> None:
        if ahead < timedelta(0):
            raise ValueError("time only moves forward")
        self._base = base or SystemClock()
        self._offset = ahead

    def now(self) -> datetime:
        return self._base.now() + self._offset

    @property
    def ahead(self) -> timedelta:
        """How far this clock runs ahead of its base (what `advance` has added)."""
        return self._offset

    def advance(self, delta: timedelta) -> datetime:
        """Move the clock forward by `delta` and return the new time."""
        if delta < timedelta(0):
            raise ValueError("time only moves forward")
        self._offset += delta
        return self.now()


def parse_duration(text: str) -> timedelta:
    """Read `90m`, `2h`, `3d`, `1w` (or combinations like `1d12h`) as a duration."""
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    total = timedelta(0)
    number = ""
    for char in text.strip().lower():
        if char.isdigit():
            number += char
        elif char in units and number:
            total += timedelta(**{units[char]: int(number)})
            number = ""
        else:
            raise ValueError(f"not a duration: {text!r} (try 90m, 2h, 3d or 1w)")
    if number or total == timedelta(0):
        raise ValueError(f"not a duration: {text!r} (try 90m, 2h, 3d or 1w)")
    return total
