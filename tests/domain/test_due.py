"""The rule of who is due a check-in, and when, over plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain.due import DueRule, Verdict, Window
from bot.domain.schedules import Recurrence, ScheduleSpec

RULE = DueRule("Europe/Paris", quiet_start=time(21, 0), quiet_end=time(8, 0))
MONDAY = date(2026, 1, 5)
WEEKLY = Recurrence(kind="weekly", at=time(10, 0), days=(0,))


def utc(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


def test_a_member_basis_is_due_on_the_members_clock() -> None:
    spec = ScheduleSpec(flow_id="trust_pulse", recurrence=WEEKLY, window=timedelta(hours=72))
    tokyo = RULE.window(spec, MONDAY, "Asia/Tokyo")
    assert tokyo == Window(utc(1), utc(1, day=8))
    assert RULE.window(spec, MONDAY, None).due_at == utc(9)  # no zone: the partnership's


def test_a_partnership_basis_is_due_at_one_moment() -> None:
    spec = ScheduleSpec(flow_id="trust_pulse", recurrence=WEEKLY, basis="partnership")
    assert RULE.window(spec, MONDAY, "Asia/Tokyo") == RULE.window(spec, MONDAY, None)


def test_a_relative_check_in_is_due_days_after_the_members_own_date() -> None:
    after = Recurrence(kind="relative", at=time(10, 0), after_days=3)
    spec = ScheduleSpec(flow_id="trust_pulse", recurrence=after, window=timedelta(days=1))
    day, window = RULE.relative_window(spec, utc(23, 30), "Asia/Tokyo")  # Tuesday in Tokyo
    assert day == date(2026, 1, 9)
    assert window == Window(utc(1, day=9), utc(1, day=10))


WINDOW = Window(utc(9), utc(9, day=8))


@pytest.mark.parametrize(
    ("now", "active_from", "zone", "busy", "verdict"),
    [
        (utc(8), utc(0), None, False, Verdict.WAITING),
        (utc(9), utc(0), None, False, Verdict.DUE),
        (utc(9), utc(0), None, True, Verdict.HELD),  # in a conversation
        (utc(9), utc(0), "America/Los_Angeles", False, Verdict.HELD),  # 01:00 there: quiet
        (utc(9), utc(10), None, False, Verdict.BEFORE),  # the schedule resumed after it
        (utc(9, day=8), utc(0), None, False, Verdict.MISSED),
    ],
)
def test_the_verdict(
    now: datetime, active_from: datetime, zone: str | None, busy: bool, verdict: Verdict
) -> None:
    assert RULE.verdict(WINDOW, now=now, active_from=active_from, raw_zone=zone, busy=busy) == (
        verdict
    )
