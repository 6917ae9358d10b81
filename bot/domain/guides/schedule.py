"""A new scheduled check-in, started from /schedules: the conversation, the audience, when
(weekly, monthly, once, or some days after an event), the time, whose clock, how long it stays
open and its reminders, then a preview of the next send times to confirm.

The draft is `bot.domain.schedule_draft.ScheduleDraft`. Facts: the audience picker's (see
`audience`), `flows` (id -> title key), `timezone` (the partnership's), `today` (its date), and
at the preview `summary` (the schedule described, from the host).
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain.guided import (
    Button,
    Data,
    Effect,
    Input,
    Label,
    Role,
    Say,
    Turn,
    checkbox,
    closed,
    column,
    guided,
    label,
    refuse,
    say,
    stay,
)
from bot.domain.guides.audience import ask_audience, pick
from bot.domain.schedule_draft import TYPED_STEPS, ScheduleDraft
from bot.domain.schedules import DAY_CODES, NTH_CODES, ScheduleError

WEEKS = (1, 2, 3, 4)
MONTHS = (1, 2, 3, 6, 12)
WINDOWS = (24, 48, 72, 168)
KINDS = ("weekly", "monthly", "once", "relative")
TOGGLING = ("audience", "days")


def span(duration: timedelta) -> Label:
    """`72 h`, `3 d`, `90 min`: a duration in its largest whole unit."""
    minutes = int(duration.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return label("schedules.unit.days", n=minutes // (24 * 60))
    if minutes % 60 == 0:
        return label("schedules.unit.hours", n=minutes // 60)
    return label("schedules.unit.minutes", n=minutes)


def _error(exc: ScheduleError) -> Label:
    return Label(exc.key, exc.params)


@guided(host="schedule")
class Schedule:
    kind = "schedule"
    command: str | None = None
    role: Role = "coordinator"
    title = "guided.title.schedule"
    cancelled = "schedules.cancelled"
    refusal = "schedules.coordinators_only"

    def start(self, args: str, facts: Data) -> Turn:
        return Turn(ScheduleDraft().to_json())

    def step_of(self, data: Data) -> str:
        return str(data.get("step", "flow"))

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        draft = ScheduleDraft.from_json(data)
        step = draft.step
        if step == "flow":
            flows = (Button(label(title), "pick", f) for f, title in facts["flows"].items())
            return (say("schedules.ask_flow", *column(*flows)),)
        if step == "audience":
            return (ask_audience("schedules", draft.audience, facts),)
        if step == "kind":
            kinds = (Button(label(f"schedules.kind.{k}"), "pick", k) for k in KINDS)
            return (say("schedules.ask_kind", *column(*kinds)),)
        if step == "days":
            days = [
                Button(checkbox(d in draft.days, f"schedules.day.{code}"), "toggle", str(d))
                for d, code in enumerate(DAY_CODES)
            ]
            days.append(Button(label("schedules.continue", "➜"), "done"))
            return (say("schedules.ask_days", *column(*days)),)
        if step == "every":
            weekly = draft.kind == "weekly"
            row = tuple(Button(str(n), "pick", str(n)) for n in (WEEKS if weekly else MONTHS))
            key = "schedules.ask_every_weeks" if weekly else "schedules.ask_every_months"
            return (say(key, row),)
        if step == "nth":
            nths = (
                Button(label(f"schedules.nth.{k}"), "pick", str(n)) for n, k in NTH_CODES.items()
            )
            return (say("schedules.ask_nth", *column(*nths)),)
        if step == "weekday":
            weekdays = (
                Button(label(f"schedules.day.{code}"), "pick", str(d))
                for d, code in enumerate(DAY_CODES)
            )
            return (say("schedules.ask_weekday", *column(*weekdays)),)
        if step == "event":
            events = [Button(label("schedules.event.joined"), "joined")]
            events += [
                Button(label("schedules.event.flow", flow=label(title)), "flow", f)
                for f, title in facts["flows"].items()
            ]
            return (say("schedules.ask_event", *column(*events)),)
        if step == "basis":
            member = Button(label("schedules.basis.member"), "pick", "member")
            tz = facts["timezone"]
            partnership = Button(label("schedules.basis.partnership", tz=tz), "pick", "partnership")
            return (say("schedules.ask_basis", *column(member, partnership)),)
        if step == "window":
            row = tuple(Button(span(timedelta(hours=h)), "pick", str(h)) for h in WINDOWS)
            return (say("schedules.ask_window", row),)
        if step == "reminders":
            choices = column(*map(_reminder, draft.reminder_choices()))
            return (say("schedules.ask_reminders", *choices),)
        if step in TYPED_STEPS:
            return (say(_TYPED_QUESTION[step]),)
        create = Button(label("schedules.create", "✔"), "create")
        buttons = column(create, Button(label("schedules.cancel"), "cancel"))
        return (say("schedules.summary", *buttons, **facts["summary"]),)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        draft = ScheduleDraft.from_json(data)
        if not got.pressed:
            if draft.step not in TYPED_STEPS or not got.text:
                return stay(data, say("schedules.error.use_buttons"))
            try:
                return Turn(draft.with_typed(got.text, today=facts["today"]).to_json())
            except ScheduleError as exc:
                return stay(data, say(exc.key, **exc.params))
        if draft.step == "preview":
            if got.action == "create":
                return Turn(None, effect=Effect("create", data), show=False)
            return closed(say("schedules.cancelled"))
        if draft.step == "audience" and (ticked := pick(draft, got, facts)) is not None:
            return ticked
        try:
            moved = draft.press(
                got.action or "",
                got.arg,
                flows=facts["flows"],
                groups=facts["groups"],
                locales=facts["locales"],
                committees={c for c, _ in facts["committees"]},
            )
        except ScheduleError as exc:
            return refuse(data, _error(exc))
        # Ticking redraws the same message: one picker, not one per press.
        return Turn(moved.to_json(), redraw=moved.step == draft.step and draft.step in TOGGLING)

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """The host's outcome: the schedule's `id` and `when` it next sends, or an `error`
        (its key and parameters; the draft stays at the preview)."""
        if outcome.get("error"):
            key, params = outcome["error"]
            return stay(data, say(key, **params))
        return closed(say("schedules.created", id=outcome["id"], when=outcome["when"]))


_TYPED_QUESTION = {
    "once_date": "schedules.ask_date",
    "after_days": "schedules.ask_after_days",
    "time": "schedules.ask_time",
}


def _reminder(choice: tuple[int, ...]) -> Button:
    if not choice:
        return Button(label("schedules.reminders.none"), "pick", "none")
    spans = tuple(span(timedelta(hours=h)) for h in choice)
    after = label("schedules.reminders.after", spans=spans)
    return Button(after, "pick", ".".join(map(str, choice)))
