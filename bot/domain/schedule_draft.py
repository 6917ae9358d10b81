"""A schedule being set up by a coordinator, one step at a time (the guided `/schedules`
conversation's draft, see `bot/domain/guides/schedule.py`)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, time, timedelta
from typing import Any, Literal

from bot.domain.audiences import Audience, pressed
from bot.domain.schedules import (
    BASES,
    DEFAULT_REMINDERS,
    DEFAULT_WINDOW,
    KINDS,
    MAX_AFTER_DAYS,
    MAX_EVERY,
    NTH_CODES,
    Basis,
    Kind,
    Recurrence,
    ScheduleError,
    ScheduleSpec,
    check_reminders,
    check_window,
    hours,
    parse_count,
    parse_date,
    parse_reminders,
    parse_span,
    parse_time,
)

DraftStep = Literal[
    "flow",
    "audience",
    "kind",
    "days",
    "every",
    "nth",
    "weekday",
    "once_date",
    "event",
    "after_days",
    "time",
    "basis",
    "window",
    "reminders",
    "preview",
]
# Steps answered by typing (the others by buttons; these accept both).
TYPED_STEPS = frozenset({"every", "once_date", "after_days", "time", "window", "reminders"})


@dataclass(frozen=True)
class ScheduleDraft:
    """A schedule being set up by a coordinator, one step at a time."""

    step: DraftStep = "flow"
    flow_id: str | None = None
    audience: Audience = Audience()
    kind: Kind = "weekly"
    days: tuple[int, ...] = ()
    every: int = 1
    nth: int = 1
    weekday: int = 0
    on: date | None = None
    event_flow: str | None = None
    after_days: int = 0
    at: time = time(10, 0)
    basis: Basis = "member"
    window: timedelta = DEFAULT_WINDOW
    reminders: tuple[timedelta, ...] = field(default=DEFAULT_REMINDERS)

    def with_flow(self, flow_id: str) -> ScheduleDraft:
        return replace(self, flow_id=flow_id, step="audience")

    def with_audience(self, audience: Audience) -> ScheduleDraft:
        return replace(self, audience=audience)

    def audience_chosen(self) -> ScheduleDraft:
        return replace(self, step="kind")

    def with_kind(self, kind: Kind) -> ScheduleDraft:
        following: dict[Kind, DraftStep] = {
            "weekly": "days",
            "monthly": "nth",
            "once": "once_date",
            "relative": "event",
        }
        return replace(self, kind=kind, step=following[kind], every=1)

    def toggle_day(self, day: int) -> ScheduleDraft:
        return replace(self, days=tuple(sorted(set(self.days) ^ {day})))

    def days_chosen(self) -> ScheduleDraft:
        if not self.days:
            raise ScheduleError("no_days")
        return replace(self, step="every")

    def with_every(self, every: int) -> ScheduleDraft:
        if not 1 <= every <= MAX_EVERY:
            raise ScheduleError("every", value=every, min=1, max=MAX_EVERY)
        return replace(self, every=every, step="time")

    def with_nth(self, nth: int) -> ScheduleDraft:
        if nth not in NTH_CODES:
            raise ScheduleError("nth", value=str(nth))
        return replace(self, nth=nth, step="weekday")

    def with_weekday(self, weekday: int) -> ScheduleDraft:
        return replace(self, weekday=weekday % 7, step="every")

    def with_date(self, on: date, *, today: date) -> ScheduleDraft:
        if on < today:
            raise ScheduleError("past", value=on.isoformat())
        return replace(self, on=on, step="time")

    def with_event(self, flow_id: str | None) -> ScheduleDraft:
        return replace(self, event_flow=flow_id, step="after_days")

    def with_after_days(self, days: int) -> ScheduleDraft:
        return replace(self, after_days=days, step="time")

    def with_time(self, at: time) -> ScheduleDraft:
        return replace(self, at=at, step="basis")

    def with_basis(self, basis: Basis) -> ScheduleDraft:
        return replace(self, basis=basis, step="window")

    def with_window(self, window: timedelta) -> ScheduleDraft:
        check_window(self.recurrence(), window)
        reminders = tuple(r for r in self.reminders if r < window)
        return replace(self, window=window, reminders=reminders, step="reminders")

    def with_reminders(self, reminders: tuple[timedelta, ...]) -> ScheduleDraft:
        check_reminders(reminders, self.window)
        return replace(self, reminders=reminders, step="preview")

    def with_typed(self, text: str, *, today: date) -> ScheduleDraft:
        """Apply what the coordinator typed at the current step."""
        if self.step == "every":
            return self.with_every(parse_count(text, code="every", low=1, high=MAX_EVERY))
        if self.step == "once_date":
            return self.with_date(parse_date(text), today=today)
        if self.step == "after_days":
            days = parse_count(text, code="after_days", low=0, high=MAX_AFTER_DAYS)
            return self.with_after_days(days)
        if self.step == "time":
            return self.with_time(parse_time(text))
        if self.step == "window":
            return self.with_window(parse_span(text))
        if self.step == "reminders":
            return self.with_reminders(parse_reminders(text))
        raise ScheduleError("use_buttons")

    def press(
        self,
        action: str,
        arg: str,
        *,
        flows: Collection[str],
        groups: Collection[str],
        locales: Collection[str],
        committees: Collection[int] = (),
    ) -> ScheduleDraft:
        """Apply a button of the current step; unknown buttons raise ScheduleError."""
        step = self.step
        if step == "flow" and arg in flows:
            return self.with_flow(arg)
        if step == "audience":
            if action == "done":
                return self.audience_chosen()
            facts = {"groups": groups, "locales": locales, "committees": committees}
            picked = pressed(self.audience, action, arg, facts)
            if picked is not None:
                return self.with_audience(picked)
        if step == "kind" and arg in KINDS:
            return self.with_kind(arg)
        if step == "days" and action == "toggle" and arg.isdigit() and int(arg) < 7:
            return self.toggle_day(int(arg))
        if step == "days" and action == "done":
            return self.days_chosen()
        if step == "every" and arg.isdigit():
            return self.with_every(int(arg))
        if step == "nth" and arg.lstrip("-").isdigit():
            return self.with_nth(int(arg))
        if step == "weekday" and arg.isdigit() and int(arg) < 7:
            return self.with_weekday(int(arg))
        if step == "event" and action == "joined":
            return self.with_event(None)
        if step == "event" and action == "flow" and arg in flows:
            return self.with_event(arg)
        if step == "basis" and arg in BASES:
            return self.with_basis(arg)
        if step == "window" and arg.isdigit():
            return self.with_window(timedelta(hours=int(arg)))
        if step == "reminders":
            spans = [a for a in arg.split(".") if a.isdigit()]
            return self.with_reminders(tuple(timedelta(hours=int(h)) for h in spans))
        raise ScheduleError("use_buttons")

    def reminder_choices(self) -> list[tuple[int, ...]]:
        """Reminder delays (hours) offered as buttons for the chosen window."""
        window = hours(self.window)
        if window > 48:
            return [(), (24,), (24, 48)]
        if window > 24:
            return [(), (24,)]
        return [(), (max(window // 2, 1),)] if window > 1 else [()]

    def recurrence(self, anchor: date | None = None) -> Recurrence:
        return Recurrence(
            kind=self.kind,
            at=self.at,
            days=self.days,
            every=self.every,
            nth=self.nth,
            weekday=self.weekday,
            on=self.on,
            after_days=self.after_days,
            event_flow=self.event_flow,
            anchor=anchor,
        )

    def spec(self, anchor: date | None = None) -> ScheduleSpec:
        """The schedule this draft describes."""
        if self.flow_id is None:
            raise ScheduleError("flow", value="")
        return ScheduleSpec(
            flow_id=self.flow_id,
            recurrence=self.recurrence(anchor),
            basis=self.basis,
            window=self.window,
            reminders=self.reminders,
            audience=self.audience,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "flow_id": self.flow_id,
            "audience": self.audience.to_json(),
            "recurrence": self.recurrence().to_json(),
            "basis": self.basis,
            "window_minutes": int(self.window.total_seconds() // 60),
            "reminder_minutes": [int(r.total_seconds() // 60) for r in self.reminders],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ScheduleDraft:
        rec = Recurrence.from_json(data["recurrence"])
        return cls(
            step=data.get("step", "flow"),
            flow_id=data.get("flow_id"),
            audience=Audience.from_json(data.get("audience") or {}),
            kind=rec.kind,
            days=rec.days,
            every=rec.every,
            nth=rec.nth,
            weekday=rec.weekday,
            on=rec.on,
            event_flow=rec.event_flow,
            after_days=rec.after_days,
            at=rec.at,
            basis=data.get("basis", "member"),
            window=timedelta(minutes=int(data.get("window_minutes") or 0)),
            reminders=tuple(timedelta(minutes=int(m)) for m in data.get("reminder_minutes") or ()),
        )
