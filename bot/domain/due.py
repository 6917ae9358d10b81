"""Which members a schedule makes due, and when: the one place the rule is written.

A member is due a check-in of an occurrence when all of these hold:

- the occurrence's window in the member's send zone (their own on a `member` basis, the
  partnership's otherwise) has opened and not closed (`Window`), and opened after the schedule
  was (re)activated;
- it is not quiet hours on the member's own clock;
- (set-based, per member, in `bot/storage/checkin_opening.py`) they are an active member of the
  audience, joined by the due moment, have no check-in of this occurrence yet, and are not in a
  conversation (a member who is gets it once the conversation ends, if the window is open).

`verdict` applies the first two to a zone (calendar schedules, one decision per zone in use) or
to one member (relative schedules, whose dates are each member's own); a window that closed
before the member got it makes them `MISSED`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from enum import StrEnum
from zoneinfo import ZoneInfo

from bot.domain.schedules import ScheduleSpec, local_moment, relative_day
from bot.domain.timing import in_quiet_hours, zone


@dataclass(frozen=True)
class Window:
    """When an occurrence is due for a member, and when its answers stop being taken."""

    due_at: datetime
    closes_at: datetime


class Verdict(StrEnum):
    BEFORE = "before"  # due before the schedule was active: never sent, never missed
    WAITING = "waiting"  # not due yet
    HELD = "held"  # due, but quiet hours (or a conversation) hold it back for now
    DUE = "due"
    MISSED = "missed"  # the window closed before the member got it


@dataclass(frozen=True)
class DueRule:
    """The rule over the partnership's clock and quiet hours."""

    partnership_timezone: str
    quiet_start: time
    quiet_end: time

    @property
    def partnership(self) -> ZoneInfo:
        return zone(None, self.partnership_timezone)

    def send_zone(self, raw_zone: str | None, spec: ScheduleSpec) -> ZoneInfo:
        """The clock a member's check-ins are due on."""
        if spec.basis == "member":
            return zone(raw_zone, self.partnership_timezone)
        return self.partnership

    def quiet(self, now: datetime, raw_zone: str | None) -> bool:
        """Whether it is quiet hours on the member's own clock."""
        local = now.astimezone(zone(raw_zone, self.partnership_timezone)).time()
        return in_quiet_hours(local, self.quiet_start, self.quiet_end)

    def window(self, spec: ScheduleSpec, day: date, raw_zone: str | None) -> Window:
        """The occurrence of `day` for a member in `raw_zone`."""
        due = local_moment(day, spec.recurrence.at, self.send_zone(raw_zone, spec))
        return Window(due, due + spec.window)

    def relative_window(
        self, spec: ScheduleSpec, event_at: datetime, raw_zone: str | None
    ) -> tuple[date, Window]:
        """A relative schedule's occurrence (its due date) for a member whose event was at
        `event_at`."""
        day = relative_day(event_at, spec.recurrence.after_days, self.send_zone(raw_zone, spec))
        return day, self.window(spec, day, raw_zone)

    def verdict(
        self,
        window: Window,
        *,
        now: datetime,
        active_from: datetime,
        raw_zone: str | None,
        busy: bool = False,
    ) -> Verdict:
        """Whether a member (or every member of a zone) is due at `now`."""
        if window.due_at < active_from:
            return Verdict.BEFORE
        if window.closes_at <= now:
            return Verdict.MISSED
        if window.due_at > now:
            return Verdict.WAITING
        if busy or self.quiet(now, raw_zone):
            return Verdict.HELD
        return Verdict.DUE
