"""Recurrence maths, validation and the guided draft: pure functions over plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.audiences import Audience
from bot.domain.schedule_draft import ScheduleDraft
from bot.domain.schedules import (
    Recurrence,
    ScheduleError,
    ScheduleSpec,
    local_moment,
    next_occurrences,
    nth_weekday,
    occurrence_dates,
    parse_date,
    parse_days,
    parse_nth,
    parse_reminders,
    parse_span,
    parse_time,
    period,
    plan_occurrences,
    relative_day,
    validate,
)

PARIS = ZoneInfo("Europe/Paris")
NEW_YORK = ZoneInfo("America/New_York")
UTC_ZONE = ZoneInfo("UTC")
FLOWS = {"trust_pulse", "partnership_review", "roles"}


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekly(
    *days: int, at: time = time(10, 0), every: int = 1, anchor: date | None = None
) -> Recurrence:
    return Recurrence(kind="weekly", at=at, days=days, every=every, anchor=anchor)


# -- reading typed values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:00", time(10, 0)),
        ("9h30", time(9, 30)),
        ("21.15", time(21, 15)),
        (" 0:05 ", time(0, 5)),
    ],
)
def test_times_are_read_in_the_usual_ways(text: str, expected: time) -> None:
    assert parse_time(text) == expected


@pytest.mark.parametrize("text", ["25:00", "24:00", "10:60", "10", "ten", "10:0", ""])
def test_impossible_times_are_errors(text: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_time(text)
    assert caught.value.code == "time"
    assert caught.value.key == "schedules.error.time"


def test_february_30th_does_not_exist_but_leap_days_do() -> None:
    with pytest.raises(ScheduleError) as caught:
        parse_date("2026-02-30")
    assert (caught.value.code, caught.value.params) == ("date", {"value": "2026-02-30"})
    assert parse_date("2028-02-29") == date(2028, 2, 29)
    with pytest.raises(ScheduleError) as caught:
        parse_date("2027-02-29")
    assert caught.value.code == "date"
    with pytest.raises(ScheduleError) as caught:
        parse_date("01/03/2026")
    assert caught.value.code == "date_format"


def test_days_weeks_of_the_month_durations_and_reminders() -> None:
    assert parse_days("mon, Thursday") == (0, 3)
    assert parse_days("sun sat") == (5, 6)
    with pytest.raises(ScheduleError, match="day"):
        parse_days("mon,funday")
    assert [parse_nth(t) for t in ("first", "2", "fourth", "last")] == [1, 2, 4, -1]
    with pytest.raises(ScheduleError):
        parse_nth("fifth")
    assert parse_span("72h") == timedelta(hours=72)
    assert parse_span("1d12h") == timedelta(hours=36)
    assert parse_span("1w") == timedelta(days=7)
    assert parse_span("48") == timedelta(hours=48)
    for bad in ("", "0h", "h", "3x", "2h3"):
        with pytest.raises(ScheduleError):
            parse_span(bad)
    assert parse_reminders("24h, 48h") == (timedelta(hours=24), timedelta(hours=48))
    assert parse_reminders("none") == ()
    assert parse_reminders("-") == ()


# -- calendar maths ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "month", "weekday", "nth", "expected"),
    [
        (2026, 1, 1, 1, date(2026, 1, 6)),  # first Tuesday
        (2026, 1, 0, 4, date(2026, 1, 26)),  # fourth Monday
        (2026, 2, 4, -1, date(2026, 2, 27)),  # last Friday of a 28-day February
        (2026, 3, 6, -1, date(2026, 3, 29)),  # last Sunday: the day Europe springs forward
        (2026, 12, 3, -1, date(2026, 12, 31)),  # last Thursday, month ending on it
        (2028, 2, 1, -1, date(2028, 2, 29)),  # leap February
        (2026, 5, 4, 1, date(2026, 5, 1)),  # first Friday on the 1st
    ],
)
def test_nth_weekday_of_a_month(
    year: int, month: int, weekday: int, nth: int, expected: date
) -> None:
    assert nth_weekday(year, month, weekday, nth) == expected
    assert expected.weekday() == weekday


def test_every_second_week_counts_from_the_anchor_week() -> None:
    rec = weekly(0, 3, every=2, anchor=date(2026, 1, 7))  # a Wednesday: its week is week 0
    dates = occurrence_dates(rec, date(2026, 1, 1))
    assert [next(dates) for _ in range(5)] == [
        date(2026, 1, 5),
        date(2026, 1, 8),
        date(2026, 1, 19),
        date(2026, 1, 22),
        date(2026, 2, 2),
    ]


def test_quarterly_on_the_first_tuesday() -> None:
    rec = Recurrence(
        kind="monthly", at=time(10), nth=1, weekday=1, every=3, anchor=date(2026, 1, 1)
    )
    dates = occurrence_dates(rec, date(2026, 1, 7))
    assert [next(dates) for _ in range(4)] == [
        date(2026, 4, 7),
        date(2026, 7, 7),
        date(2026, 10, 6),
        date(2027, 1, 5),
    ]


def test_once_has_one_date_at_most() -> None:
    rec = Recurrence(kind="once", at=time(9), on=date(2026, 3, 2))
    assert list(occurrence_dates(rec, date(2026, 1, 1))) == [date(2026, 3, 2)]
    assert list(occurrence_dates(rec, date(2026, 3, 3))) == []


def test_weekly_local_time_stays_on_the_wall_clock_across_dst() -> None:
    rec = weekly(0, at=time(9, 0))  # Mondays at 09:00 in Paris
    moments = next_occurrences(rec, after=utc(2026, 3, 20), tz=PARIS, n=3)
    assert moments == [utc(2026, 3, 23, 8, 0), utc(2026, 3, 30, 7, 0), utc(2026, 4, 6, 7, 0)]
    assert {m.astimezone(PARIS).time() for m in moments} == {time(9, 0)}
    autumn = next_occurrences(rec, after=utc(2026, 10, 20), tz=PARIS, n=2)
    assert autumn == [utc(2026, 10, 26, 8, 0), utc(2026, 11, 2, 8, 0)]


@pytest.mark.parametrize(
    ("day", "at", "tz", "expected"),
    [
        # Spring forward: 02:30 does not exist; it is read with the offset before the change.
        (date(2026, 3, 29), time(2, 30), PARIS, utc(2026, 3, 29, 1, 30)),
        (date(2026, 3, 8), time(2, 30), NEW_YORK, utc(2026, 3, 8, 7, 30)),
        # Fall back: 02:30 happens twice; the first one counts, so it is sent once.
        (date(2026, 10, 25), time(2, 30), PARIS, utc(2026, 10, 25, 0, 30)),
        (date(2026, 11, 1), time(1, 30), NEW_YORK, utc(2026, 11, 1, 5, 30)),
        # Ordinary days either side.
        (date(2026, 3, 28), time(2, 30), PARIS, utc(2026, 3, 28, 1, 30)),
        (date(2026, 3, 30), time(2, 30), PARIS, utc(2026, 3, 30, 0, 30)),
    ],
)
def test_dst_gaps_and_folds(day: date, at: time, tz: ZoneInfo, expected: datetime) -> None:
    assert local_moment(day, at, tz) == expected


def test_a_daily_schedule_through_a_dst_change_sends_once_a_day() -> None:
    rec = weekly(*range(7), at=time(2, 30))
    moments = next_occurrences(rec, after=utc(2026, 10, 23), tz=PARIS, n=4)
    assert [m.astimezone(PARIS).date() for m in moments] == [
        date(2026, 10, 23),
        date(2026, 10, 24),
        date(2026, 10, 25),
        date(2026, 10, 26),
    ]
    assert len(set(moments)) == 4


def test_preview_of_the_next_five() -> None:
    rec = weekly(0, 3, at=time(18, 0))
    moments = next_occurrences(rec, after=utc(2026, 1, 5, 17, 0), tz=UTC_ZONE)
    assert moments == [
        utc(2026, 1, 5, 18),
        utc(2026, 1, 8, 18),
        utc(2026, 1, 12, 18),
        utc(2026, 1, 15, 18),
        utc(2026, 1, 19, 18),
    ]
    relative = Recurrence(kind="relative", at=time(9), after_days=7)
    assert next_occurrences(relative, after=utc(2026, 1, 5), tz=UTC_ZONE) == []


@pytest.mark.parametrize(
    ("event", "tz", "expected"),
    [
        (utc(2026, 1, 5, 23, 30), UTC_ZONE, date(2026, 1, 12)),
        (utc(2026, 1, 5, 23, 30), PARIS, date(2026, 1, 13)),  # already the 6th in Paris
        (utc(2026, 1, 6, 3, 0), NEW_YORK, date(2026, 1, 12)),  # still the 5th in New York
    ],
)
def test_relative_days_count_from_the_members_own_date(
    event: datetime, tz: ZoneInfo, expected: date
) -> None:
    assert relative_day(event, 7, tz) == expected


# -- periods, windows and validation ----------------------------------------------------------


@pytest.mark.parametrize(
    ("rec", "expected"),
    [
        (weekly(0), timedelta(days=7)),
        (weekly(0, 2), timedelta(days=2)),
        (weekly(0, 6), timedelta(days=1)),  # Sunday then Monday
        (weekly(0, every=2), timedelta(days=14)),
        (weekly(1, 3, every=2), timedelta(days=2)),
        (Recurrence(kind="monthly", at=time(9), every=3), timedelta(days=84)),
        (Recurrence(kind="once", at=time(9), on=date(2026, 3, 1)), None),
    ],
)
def test_period_is_the_shortest_gap(rec: Recurrence, expected: timedelta | None) -> None:
    assert period(rec) == expected


def spec(rec: Recurrence, **changes: object) -> ScheduleSpec:
    values: dict[str, object] = {"flow_id": "trust_pulse", "recurrence": rec}
    values.update(changes)
    return ScheduleSpec(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("bad", "code"),
    [
        (spec(weekly(0), flow_id="no_such_flow"), "flow"),
        (spec(weekly(0, 2), window=timedelta(hours=72)), "window_too_long"),
        (spec(weekly(0), window=timedelta(days=8)), "window_too_long"),
        (
            spec(Recurrence(kind="monthly", at=time(9)), window=timedelta(days=29)),
            "window_too_long",
        ),
        (spec(weekly(0), window=timedelta(0)), "window"),
        (spec(weekly()), "no_days"),
        (spec(weekly(0), reminders=(timedelta(hours=1),) * 3), "reminders_count"),
        (spec(weekly(0), reminders=(timedelta(hours=48), timedelta(hours=24))), "reminders_order"),
        (spec(weekly(0), reminders=(timedelta(hours=72),)), "reminder_late"),
        (spec(weekly(0, every=60)), "every"),
        (spec(Recurrence(kind="monthly", at=time(9), nth=5)), "nth"),
        (
            spec(Recurrence(kind="relative", at=time(9), after_days=7, event_flow="nope")),
            "flow",
        ),
    ],
)
def test_invalid_schedules_name_their_problem(bad: ScheduleSpec, code: str) -> None:
    with pytest.raises(ScheduleError) as caught:
        validate(bad, flows=FLOWS)
    assert caught.value.code == code


def test_a_window_as_long_as_the_period_is_fine() -> None:
    ok = spec(weekly(0), window=timedelta(days=7), reminders=(timedelta(days=1),))
    assert validate(ok, flows=FLOWS) is ok


def test_a_date_in_the_past_is_refused() -> None:
    rec = Recurrence(kind="once", at=time(9), on=date(2026, 1, 5))
    once = spec(rec, basis="partnership")
    with pytest.raises(ScheduleError) as caught:
        validate(once, flows=FLOWS, now=utc(2026, 1, 5, 10), partnership=UTC_ZONE)
    assert caught.value.code == "past"
    validate(once, flows=FLOWS, now=utc(2026, 1, 5, 8), partnership=UTC_ZONE)
    # In members' own time, 09:00 is still to come west of UTC until 21:00 UTC.
    local = spec(rec, basis="member")
    validate(local, flows=FLOWS, now=utc(2026, 1, 5, 10), partnership=UTC_ZONE)
    with pytest.raises(ScheduleError):
        validate(local, flows=FLOWS, now=utc(2026, 1, 5, 21, 1), partnership=UTC_ZONE)


# -- what a pass finds: downtime is coalesced -------------------------------------------------


def plan(rec: Recurrence, *, now: datetime, after: date | None = None, **kw: object) -> object:
    values: dict[str, object] = {
        "after": after,
        "active_from": utc(2026, 1, 1),
        "now": now,
        "basis": "partnership",
        "partnership": UTC_ZONE,
        "window": timedelta(hours=72),
    }
    values.update(kw)
    return plan_occurrences(rec, **values)  # type: ignore[arg-type]


def test_nothing_before_the_first_send() -> None:
    found = plan(weekly(0), now=utc(2026, 1, 5, 9, 59))
    assert found.opened is None and found.missed == ()  # type: ignore[attr-defined]


def test_the_due_occurrence_opens_once() -> None:
    found = plan(weekly(0), now=utc(2026, 1, 5, 10))
    assert found.opened == date(2026, 1, 5)  # type: ignore[attr-defined]
    again = plan(weekly(0), now=utc(2026, 1, 6), after=date(2026, 1, 5))
    assert again.opened is None and again.missed == ()  # type: ignore[attr-defined]


def test_downtime_opens_only_the_latest_still_open_occurrence() -> None:
    rec = weekly(0, 3)  # Mondays and Thursdays, 72 h windows
    found = plan(rec, now=utc(2026, 1, 16, 9), after=date(2026, 1, 5))
    assert found.missed == (date(2026, 1, 8), date(2026, 1, 12))  # type: ignore[attr-defined]
    assert found.opened == date(2026, 1, 15)  # type: ignore[attr-defined]


def test_downtime_past_every_window_opens_nothing() -> None:
    found = plan(weekly(0), now=utc(2026, 1, 23), after=date(2026, 1, 5))
    assert found.missed == (date(2026, 1, 12), date(2026, 1, 19))  # type: ignore[attr-defined]
    assert found.opened is None  # type: ignore[attr-defined]


def test_occurrences_before_creation_or_resumption_are_not_the_schedules() -> None:
    found = plan(weekly(0), now=utc(2026, 1, 13), active_from=utc(2026, 1, 12, 11))
    assert found.opened is None and found.missed == ()  # type: ignore[attr-defined]


def test_member_local_occurrences_open_with_the_first_zone() -> None:
    found = plan(weekly(0), now=utc(2026, 1, 4, 20, 0), basis="member")
    assert found.opened == date(2026, 1, 5)  # type: ignore[attr-defined]  # Kiritimati's 10:00


# -- the guided draft -------------------------------------------------------------------------

GROUPS = ("municipality", "community")
LOCALES = ("en", "fr")


def press(draft: ScheduleDraft, action: str, arg: str = "") -> ScheduleDraft:
    return draft.press(action, arg, flows=FLOWS, groups=GROUPS, locales=LOCALES)


def test_a_draft_walks_to_a_monthly_schedule() -> None:
    today = date(2026, 1, 5)
    draft = press(ScheduleDraft(), "pick", "partnership_review")
    draft = press(press(draft, "group", "community"), "done")
    draft = press(draft, "pick", "monthly")
    assert draft.step == "nth"
    draft = press(press(draft, "pick", "-1"), "pick", "4")
    assert draft.step == "every"
    draft = draft.with_typed("3", today=today)
    draft = draft.with_typed("9h30", today=today)
    draft = press(draft, "pick", "partnership")
    draft = draft.with_typed("14d", today=today)
    draft = press(draft, "pick", "24.48")
    assert draft.step == "preview"
    restored = ScheduleDraft.from_json(draft.to_json())
    assert restored == draft
    made = restored.spec(anchor=today)
    assert made.audience == Audience(groups=("community",))
    assert made.recurrence == Recurrence(
        kind="monthly", at=time(9, 30), nth=-1, weekday=4, every=3, anchor=today
    )
    assert (made.basis, made.window) == ("partnership", timedelta(days=14))
    assert made.reminders == (timedelta(hours=24), timedelta(hours=48))


def test_draft_errors_keep_the_step() -> None:
    today = date(2026, 1, 5)
    draft = press(press(ScheduleDraft(), "pick", "trust_pulse"), "done")
    draft = press(draft, "pick", "weekly")
    with pytest.raises(ScheduleError, match="no_days"):
        press(draft, "done")
    draft = press(press(press(draft, "toggle", "0"), "toggle", "2"), "done")
    with pytest.raises(ScheduleError):
        draft.with_typed("0", today=today)
    draft = draft.with_typed("1", today=today)
    with pytest.raises(ScheduleError) as caught:
        draft.with_typed("25:00", today=today)
    assert caught.value.code == "time"
    draft = press(draft.with_typed("08:00", today=today), "pick", "member")
    with pytest.raises(ScheduleError) as caught:
        press(draft, "pick", "72")  # Monday and Wednesday: two days apart
    assert caught.value.code == "window_too_long"
    with pytest.raises(ScheduleError):
        press(draft, "pick", "nonsense")
    draft = press(draft, "pick", "48")
    assert draft.reminder_choices() == [(), (24,)]
    with pytest.raises(ScheduleError):
        draft.with_typed("12h, 24h, 36h", today=today)


def test_a_once_draft_refuses_past_dates() -> None:
    draft = press(press(press(ScheduleDraft(), "pick", "roles"), "done"), "pick", "once")
    with pytest.raises(ScheduleError) as caught:
        draft.with_typed("2026-02-30", today=date(2026, 1, 5))
    assert caught.value.code == "date"
    with pytest.raises(ScheduleError) as caught:
        draft.with_typed("2026-01-04", today=date(2026, 1, 5))
    assert caught.value.code == "past"
    assert draft.with_typed("2026-01-05", today=date(2026, 1, 5)).step == "time"


def test_a_relative_draft() -> None:
    draft = press(press(press(ScheduleDraft(), "pick", "roles"), "all"), "done")
    draft = press(press(draft, "pick", "relative"), "flow", "trust_pulse")
    draft = draft.with_typed("30", today=date(2026, 1, 5))
    assert draft.step == "time"
    rec = draft.spec().recurrence
    assert (rec.kind, rec.after_days, rec.event_flow) == ("relative", 30, "trust_pulse")
