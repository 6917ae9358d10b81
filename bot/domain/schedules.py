"""Scheduled check-ins over plain values: recurrence maths, validation, the guided draft.

A schedule starts a flow for members: on chosen weekdays every N weeks, on the n-th weekday
every N months, once at a date, or N days after a member's own date (joining, or the last
finished run of a flow). Times are wall-clock times, read in each member's zone or in the
partnership's; zoneinfo keeps them right across daylight-saving changes. An occurrence of a
calendar schedule is named by its local date, so (schedule, occurrence, member) names one
check-in whatever the zone.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.domain.audiences import Audience

Kind = Literal["weekly", "monthly", "once", "relative"]
Basis = Literal["member", "partnership"]
KINDS: tuple[Kind, ...] = ("weekly", "monthly", "once", "relative")
BASES: tuple[Basis, ...] = ("member", "partnership")
DAY_CODES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
NTH_CODES = {1: "first", 2: "second", 3: "third", 4: "fourth", -1: "last"}
LAST = -1
MAX_REMINDERS = 2
MAX_EVERY = 52
MAX_AFTER_DAYS = 3650
MAX_WINDOW = timedelta(days=92)
DEFAULT_WINDOW = timedelta(hours=72)
DEFAULT_REMINDERS = (timedelta(hours=24), timedelta(hours=48))
# Every zone in use lies within these offsets from UTC: the bounds of a member-local occurrence.
EARLIEST_OFFSET = timedelta(hours=14)
LATEST_OFFSET = timedelta(hours=12)


class ScheduleError(ValueError):
    """Invalid schedule input; `code` names the locale key `schedules.error.<code>`."""

    def __init__(self, code: str, **params: str | int) -> None:
        super().__init__(code, params)
        self.code = code
        self.params = params

    @property
    def key(self) -> str:
        return f"schedules.error.{self.code}"


@dataclass(frozen=True)
class Recurrence:
    """When a schedule comes due, as wall-clock rules."""

    kind: Kind
    at: time
    days: tuple[int, ...] = ()  # weekly: weekdays, 0 = Monday
    every: int = 1  # weeks (weekly) or months (monthly) between occurrences
    nth: int = 1  # monthly: 1..4, or -1 for the last
    weekday: int = 0  # monthly
    on: date | None = None  # once
    after_days: int = 0  # relative
    event_flow: str | None = None  # relative: None = joining, else the flow's last finished run
    anchor: date | None = None  # the week / month `every` counts from

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "at": self.at.strftime("%H:%M"),
            "days": list(self.days),
            "every": self.every,
            "nth": self.nth,
            "weekday": self.weekday,
            "on": self.on.isoformat() if self.on else None,
            "after_days": self.after_days,
            "event_flow": self.event_flow,
            "anchor": self.anchor.isoformat() if self.anchor else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Recurrence:
        return cls(
            kind=data["kind"],
            at=parse_time(data["at"]),
            days=tuple(int(d) for d in data.get("days") or ()),
            every=int(data.get("every") or 1),
            nth=int(data.get("nth") or 1),
            weekday=int(data.get("weekday") or 0),
            on=date.fromisoformat(data["on"]) if data.get("on") else None,
            after_days=int(data.get("after_days") or 0),
            event_flow=data.get("event_flow"),
            anchor=date.fromisoformat(data["anchor"]) if data.get("anchor") else None,
        )

    @property
    def relative(self) -> bool:
        return self.kind == "relative"


@dataclass(frozen=True)
class ScheduleSpec:
    """Everything a schedule says: the flow, who, when, and how long members may answer."""

    flow_id: str
    recurrence: Recurrence
    basis: Basis = "member"
    window: timedelta = DEFAULT_WINDOW
    reminders: tuple[timedelta, ...] = DEFAULT_REMINDERS
    audience: Audience = Audience()


# -- reading typed values ---------------------------------------------------------------------

_TIME = re.compile(r"^(\d{1,2})[:h.](\d{2})$")
_DURATION = re.compile(r"(\d+)\s*([mhdw])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_time(text: str) -> time:
    """Read `10:00`, `9h30` or `21.15` as a wall-clock time."""
    match = _TIME.match(text.strip().lower())
    if not match:
        raise ScheduleError("time", value=text.strip())
    hour, minute = int(match.group(1)), int(match.group(2))
    if hour > 23 or minute > 59:
        raise ScheduleError("time", value=text.strip())
    return time(hour, minute)


def parse_date(text: str) -> date:
    """Read `2026-03-02` as a date; Feb 30th is an error."""
    cleaned = text.strip()
    if not re.match(r"^\d{4}-\d{1,2}-\d{1,2}$", cleaned):
        raise ScheduleError("date_format", value=cleaned)
    year, month, day = (int(p) for p in cleaned.split("-"))
    try:
        return date(year, month, day)
    except ValueError:
        raise ScheduleError("date", value=cleaned) from None


def parse_days(text: str) -> tuple[int, ...]:
    """Read `mon,thu` (or `mon thu`) as weekdays, Monday first."""
    parts = [p for p in re.split(r"[\s,;]+", text.strip().lower()) if p]
    days: set[int] = set()
    for part in parts:
        code = part[:3]
        if code not in DAY_CODES:
            raise ScheduleError("day", value=part)
        days.add(DAY_CODES.index(code))
    if not days:
        raise ScheduleError("no_days")
    return tuple(sorted(days))


def parse_nth(text: str) -> int:
    """Read `first`..`fourth`, `1`..`4` or `last` as the week of the month."""
    cleaned = text.strip().lower()
    by_name = {name: n for n, name in NTH_CODES.items()}
    if cleaned in by_name:
        return by_name[cleaned]
    if cleaned.isdigit() and 1 <= int(cleaned) <= 4:
        return int(cleaned)
    if cleaned == "-1":
        return LAST
    raise ScheduleError("nth", value=text.strip())


def parse_count(text: str, *, code: str, low: int, high: int) -> int:
    """A whole number within [low, high], else `ScheduleError(code)`."""
    cleaned = text.strip()
    if not cleaned.isdigit() or not low <= int(cleaned) <= high:
        raise ScheduleError(code, value=cleaned, min=low, max=high)
    return int(cleaned)


def parse_span(text: str) -> timedelta:
    """Read `72h`, `3d`, `1w`, `1d12h` or a bare number of hours as a duration."""
    cleaned = text.strip().lower().replace(" ", "")
    if cleaned.isdigit():
        cleaned += "h"
    total, position = timedelta(0), 0
    for match in _DURATION.finditer(cleaned):
        if match.start() != position:
            break
        total += timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
        position = match.end()
    if position != len(cleaned) or total <= timedelta(0):
        raise ScheduleError("duration", value=text.strip())
    return total


def parse_reminders(text: str) -> tuple[timedelta, ...]:
    """Read `24h, 48h` as reminder delays; `none`, `-` or nothing means no reminders."""
    cleaned = text.strip().lower()
    if cleaned in ("", "-", "0", "none", "no", "non", "aucun", "aucune"):
        return ()
    return tuple(parse_span(p) for p in re.split(r"[,;]+", cleaned) if p.strip())


# -- calendar maths ---------------------------------------------------------------------------


def local_moment(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC moment `day` at `at` on the clocks of `tz`.

    A time skipped when clocks go forward is read with the offset before the change (02:30
    becomes 03:30); a time that happens twice when clocks go back is the first one.
    """
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def nth_weekday(year: int, month: int, weekday: int, nth: int) -> date:
    """The `nth` (1..4, or -1 = last) `weekday` of a month."""
    if nth == LAST:
        following = date(year + month // 12, month % 12 + 1, 1)
        last = following - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7)
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (nth - 1))


def occurrence_dates(rec: Recurrence, start: date) -> Iterator[date]:
    """The local dates a calendar schedule comes due on, from `start` on, in order."""
    if rec.kind == "once":
        if rec.on is not None and rec.on >= start:
            yield rec.on
        return
    anchor = rec.anchor or start
    if rec.kind == "weekly" and rec.days:
        anchor_monday = anchor - timedelta(days=anchor.weekday())
        monday = start - timedelta(days=start.weekday())
        while True:
            weeks = (monday - anchor_monday).days // 7
            if weeks >= 0 and weeks % rec.every == 0:
                for weekday in rec.days:
                    day = monday + timedelta(days=weekday)
                    if day >= start:
                        yield day
            monday += timedelta(days=7)
    if rec.kind == "monthly":
        index = start.year * 12 + start.month - 1
        anchor_index = anchor.year * 12 + anchor.month - 1
        while True:
            months = index - anchor_index
            if months >= 0 and months % rec.every == 0:
                day = nth_weekday(index // 12, index % 12 + 1, rec.weekday, rec.nth)
                if day >= start:
                    yield day
            index += 1
    if rec.kind == "relative":
        raise ValueError("a relative schedule has no calendar dates")


def next_occurrences(
    rec: Recurrence, *, after: datetime, tz: ZoneInfo, n: int = 5
) -> list[datetime]:
    """The next `n` UTC send moments after `after`, read in `tz` (the preview)."""
    if rec.relative:
        return []
    found: list[datetime] = []
    start = (after.astimezone(tz) - timedelta(days=1)).date()
    for day in occurrence_dates(rec, start):
        moment = local_moment(day, rec.at, tz)
        if moment > after:
            found.append(moment)
            if len(found) == n:
                break
    return found


def period(rec: Recurrence) -> timedelta | None:
    """The shortest time between two occurrences; None when the schedule does not repeat."""
    if rec.kind == "weekly" and rec.days:
        days = sorted(rec.days)
        gaps = [b - a for a, b in zip(days, days[1:], strict=False)]
        gaps.append(7 * rec.every - (days[-1] - days[0]))
        return timedelta(days=min(gaps))
    if rec.kind == "monthly":
        # The n-th weekday of two months in a row are 28 or 35 days apart.
        return timedelta(days=28 * rec.every)
    return None


@dataclass(frozen=True)
class Bounds:
    """When an occurrence is first and last sent, and when its last window closes (UTC)."""

    first_send: datetime
    last_send: datetime
    last_close: datetime


def occurrence_bounds(
    rec: Recurrence, day: date, *, basis: Basis, partnership: ZoneInfo, window: timedelta
) -> Bounds:
    """Bounds of the occurrence on `day`: one moment for the partnership, a spread of zones else."""
    if basis == "partnership":
        moment = local_moment(day, rec.at, partnership)
        return Bounds(moment, moment, moment + window)
    wall = datetime.combine(day, rec.at, tzinfo=UTC)
    return Bounds(wall - EARLIEST_OFFSET, wall + LATEST_OFFSET, wall + LATEST_OFFSET + window)


@dataclass(frozen=True)
class OccurrencePlan:
    """What a pass over the calendar finds: occurrences to record as missed, and one to open."""

    missed: tuple[date, ...] = ()
    opened: date | None = None


def plan_occurrences(
    rec: Recurrence,
    *,
    after: date | None,
    active_from: datetime,
    now: datetime,
    basis: Basis,
    partnership: ZoneInfo,
    window: timedelta,
) -> OccurrencePlan:
    """Occurrences that came due since `after` (the last one handled).

    Several at once mean the bot was down (or the clock jumped): only the latest is opened, and
    only if its window is still open somewhere; the others are missed. Occurrences entirely
    before `active_from` (creation or resumption) are not the schedule's at all.
    """
    if rec.relative:
        return OccurrencePlan()
    start = (active_from - EARLIEST_OFFSET - timedelta(days=1)).date()
    if after is not None:
        start = max(start, after + timedelta(days=1))
    due: list[date] = []
    for day in occurrence_dates(rec, start):
        bounds = occurrence_bounds(rec, day, basis=basis, partnership=partnership, window=window)
        if bounds.first_send > now:
            break
        if bounds.last_send >= active_from:
            due.append(day)
    if not due:
        return OccurrencePlan()
    latest = due[-1]
    bounds = occurrence_bounds(rec, latest, basis=basis, partnership=partnership, window=window)
    if bounds.last_close > now:
        return OccurrencePlan(missed=tuple(due[:-1]), opened=latest)
    return OccurrencePlan(missed=tuple(due))


def relative_day(event: datetime, after_days: int, tz: ZoneInfo) -> date:
    """The local date a relative check-in is due: the event's local date plus `after_days`."""
    return event.astimezone(tz).date() + timedelta(days=after_days)


# -- validation -------------------------------------------------------------------------------


def validate(
    spec: ScheduleSpec,
    *,
    flows: Collection[str],
    now: datetime | None = None,
    partnership: ZoneInfo | None = None,
) -> ScheduleSpec:
    """Check a whole schedule; raise ScheduleError naming the first problem."""
    rec = spec.recurrence
    if spec.flow_id not in flows:
        raise ScheduleError("flow", value=spec.flow_id)
    if rec.kind not in KINDS:
        raise ScheduleError("kind", value=str(rec.kind))
    if spec.basis not in BASES:
        raise ScheduleError("basis", value=str(spec.basis))
    if not 1 <= rec.every <= MAX_EVERY:
        raise ScheduleError("every", value=rec.every, min=1, max=MAX_EVERY)
    if rec.kind == "weekly" and (not rec.days or any(not 0 <= d <= 6 for d in rec.days)):
        raise ScheduleError("no_days")
    if rec.kind == "monthly" and (rec.nth not in NTH_CODES or not 0 <= rec.weekday <= 6):
        raise ScheduleError("nth", value=str(rec.nth))
    if rec.kind == "once" and rec.on is None:
        raise ScheduleError("date_format", value="")
    if rec.kind == "relative":
        if not 0 <= rec.after_days <= MAX_AFTER_DAYS:
            raise ScheduleError("after_days", value=rec.after_days, min=0, max=MAX_AFTER_DAYS)
        if rec.event_flow is not None and rec.event_flow not in flows:
            raise ScheduleError("flow", value=rec.event_flow)
    check_window(rec, spec.window)
    check_reminders(spec.reminders, spec.window)
    if rec.kind == "once" and rec.on is not None and now is not None:
        bounds = occurrence_bounds(
            rec,
            rec.on,
            basis=spec.basis,
            partnership=partnership or ZoneInfo("UTC"),
            window=spec.window,
        )
        if bounds.last_send <= now:
            raise ScheduleError("past", value=rec.on.isoformat())
    return spec


def check_window(rec: Recurrence, window: timedelta) -> None:
    """A window must be positive, at most MAX_WINDOW, and no longer than the period."""
    if window <= timedelta(0) or window > MAX_WINDOW:
        raise ScheduleError("window", value=hours(window), max=hours(MAX_WINDOW))
    gap = period(rec)
    if gap is not None and window > gap:
        raise ScheduleError("window_too_long", value=hours(window), period=hours(gap))


def check_reminders(reminders: tuple[timedelta, ...], window: timedelta) -> None:
    """At most two reminders, increasing, each inside the window."""
    if len(reminders) > MAX_REMINDERS:
        raise ScheduleError("reminders_count", max=MAX_REMINDERS)
    previous = timedelta(0)
    for reminder in reminders:
        if reminder <= previous:
            raise ScheduleError("reminders_order")
        if reminder >= window:
            raise ScheduleError("reminder_late", value=hours(reminder), window=hours(window))
        previous = reminder


def hours(span: timedelta) -> int:
    """A duration in whole hours."""
    return int(span.total_seconds() // 3600)
