"""A new scheduled check-in, started from /schedules: the conversation, the audience, when
(weekly, monthly, once, or some days after an event), the time, whose clock, how long it stays
open and its reminders, then a preview of the next send times to confirm.

The draft is `bot.domain.schedule_draft.ScheduleDraft`. Facts: the audience picker's (see
`audience`), `flows` (id -> title key), `timezone` (the partnership's), `today` (its date), and
at the preview `summary` (the schedule described, from the host).
"""

from __future__ import annotations

from datetime import timedelta

from bot.domain import guided as g
from bot.domain.guides.audience import ask_audience, pick
from bot.domain.schedule_draft import TYPED_STEPS, ScheduleDraft
from bot.domain.schedules import DAY_CODES, NTH_CODES, ScheduleError

WEEKS = (1, 2, 3, 4)
MONTHS = (1, 2, 3, 6, 12)
WINDOWS = (24, 48, 72, 168)
KINDS = ("weekly", "monthly", "once", "relative")
TOGGLING = ("audience", "days")


def span(duration: timedelta) -> g.Label:
    """`72 h`, `3 d`, `90 min`: a duration in its largest whole unit."""
    minutes = int(duration.total_seconds() // 60)
    if minutes % (24 * 60) == 0:
        return g.label("schedules.unit.days", n=minutes // (24 * 60))
    if minutes % 60 == 0:
        return g.label("schedules.unit.hours", n=minutes // 60)
    return g.label("schedules.unit.minutes", n=minutes)


def _error(exc: ScheduleError) -> g.Label:
    return g.Label(exc.key, exc.params)


@g.guided(host="schedule")
class Schedule(g.Guide):
    kind = "schedule"
    cancelled = "schedules.cancelled"
    refusal = "schedules.coordinators_only"
    first = "flow"

    def start(self, args: str, facts: g.Data) -> g.Turn:
        return g.Turn(ScheduleDraft().to_json())

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        draft = ScheduleDraft.from_json(data)
        step = draft.step
        if step == "flow":
            flows = (g.Button(g.label(title), "pick", f) for f, title in facts["flows"].items())
            return (g.ask("schedules.ask_flow", *flows),)
        if step == "audience":
            return (ask_audience("schedules", draft.audience, facts),)
        if step == "kind":
            kinds = (g.Button(g.label(f"schedules.kind.{k}"), "pick", k) for k in KINDS)
            return (g.ask("schedules.ask_kind", *kinds),)
        if step == "days":
            days = [
                g.Button(g.checkbox(d in draft.days, f"schedules.day.{code}"), "toggle", str(d))
                for d, code in enumerate(DAY_CODES)
            ]
            days.append(g.Button(g.label("schedules.continue", "➜"), "done"))
            return (g.ask("schedules.ask_days", *days),)
        if step == "every":
            weekly = draft.kind == "weekly"
            row = tuple(g.Button(str(n), "pick", str(n)) for n in (WEEKS if weekly else MONTHS))
            key = "schedules.ask_every_weeks" if weekly else "schedules.ask_every_months"
            return (g.say(key, row),)
        if step == "nth":
            nths = (
                g.Button(g.label(f"schedules.nth.{k}"), "pick", str(n))
                for n, k in NTH_CODES.items()
            )
            return (g.ask("schedules.ask_nth", *nths),)
        if step == "weekday":
            weekdays = (
                g.Button(g.label(f"schedules.day.{code}"), "pick", str(d))
                for d, code in enumerate(DAY_CODES)
            )
            return (g.ask("schedules.ask_weekday", *weekdays),)
        if step == "event":
            events = [g.Button(g.label("schedules.event.joined"), "joined")]
            events += [
                g.Button(g.label("schedules.event.flow", flow=g.label(title)), "flow", f)
                for f, title in facts["flows"].items()
            ]
            return (g.ask("schedules.ask_event", *events),)
        if step == "basis":
            member = g.Button(g.label("schedules.basis.member"), "pick", "member")
            tz = facts["timezone"]
            partnership = g.Button(
                g.label("schedules.basis.partnership", tz=tz), "pick", "partnership"
            )
            return (g.ask("schedules.ask_basis", member, partnership),)
        if step == "window":
            row = tuple(g.Button(span(timedelta(hours=h)), "pick", str(h)) for h in WINDOWS)
            return (g.say("schedules.ask_window", row),)
        if step == "reminders":
            return (g.ask("schedules.ask_reminders", *map(_reminder, draft.reminder_choices())),)
        if step in TYPED_STEPS:
            return (g.say(_TYPED_QUESTION[step]),)
        buttons = g.confirm_or_cancel("schedules.create", "schedules.cancel", "create")
        return (g.say("schedules.summary", *buttons, **facts["summary"]),)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        draft = ScheduleDraft.from_json(data)
        if not got.pressed:
            if draft.step not in TYPED_STEPS or not got.text:
                return g.stay(data, g.say("schedules.error.use_buttons"))
            try:
                return g.Turn(draft.with_typed(got.text, today=facts["today"]).to_json())
            except ScheduleError as exc:
                return g.stay(data, g.say(exc.key, **exc.params))
        if draft.step == "preview":
            return self.confirmed(got.action == "create", g.Effect("create", data))
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
            return g.refuse(data, _error(exc))
        # Ticking redraws the same message: one picker, not one per press.
        return g.Turn(moved.to_json(), redraw=moved.step == draft.step and draft.step in TOGGLING)

    def settle(self, data: g.Data, effect: g.Effect, outcome: g.Data) -> g.Turn:
        """The host's outcome: the schedule's `id` and `when` it next sends, or an `error`
        (its key and parameters; the draft stays at the preview)."""
        if outcome.get("error"):
            key, params = outcome["error"]
            return g.stay(data, g.say(key, **params))
        return g.closed(g.say("schedules.created", id=outcome["id"], when=outcome["when"]))


_TYPED_QUESTION = {
    "once_date": "schedules.ask_date",
    "after_days": "schedules.ask_after_days",
    "time": "schedules.ask_time",
}


def _reminder(choice: tuple[int, ...]) -> g.Button:
    if not choice:
        return g.Button(g.label("schedules.reminders.none"), "pick", "none")
    spans = tuple(span(timedelta(hours=h)) for h in choice)
    after = g.label("schedules.reminders.after", spans=spans)
    return g.Button(after, "pick", ".".join(map(str, choice)))
