"""Quiet hours in a member's zone (DST included) and reading typed dates."""

from __future__ import annotations

from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.domain.timing import (
    BadDateTime,
    in_quiet_hours,
    parse_local_datetime,
    quiet_hours_end,
    zone,
)

NIGHT, MORNING = time(21, 0), time(8, 0)


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        (time(20, 59), False),
        (time(21, 0), True),
        (time(23, 30), True),
        (time(0, 0), True),
        (time(7, 59), True),
        (time(8, 0), False),
        (time(12, 0), False),
    ],
)
def test_quiet_hours_span_midnight(local: time, quiet: bool) -> None:
    assert in_quiet_hours(local, NIGHT, MORNING) is quiet


def test_daytime_quiet_hours_and_none() -> None:
    assert in_quiet_hours(time(13, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(15, 0), time(12, 0), time(14, 0))
    assert not in_quiet_hours(time(3, 0), time(0, 0), time(0, 0))


@pytest.mark.parametrize(
    ("now", "tz", "expected"),
    [
        # 22:00 in Dakar (UTC+0) waits for 08:00 the next day
        (
            datetime(2026, 3, 2, 22, 0, tzinfo=UTC),
            "Africa/Dakar",
            datetime(2026, 3, 3, 8, 0, tzinfo=UTC),
        ),
        # 05:00 UTC is 06:00 in Paris in winter: wait until 07:00 UTC
        (
            datetime(2026, 1, 10, 5, 0, tzinfo=UTC),
            "Europe/Paris",
            datetime(2026, 1, 10, 7, 0, tzinfo=UTC),
        ),
        # outside quiet hours: now
        (
            datetime(2026, 1, 10, 12, 0, tzinfo=UTC),
            "Europe/Paris",
            datetime(2026, 1, 10, 12, 0, tzinfo=UTC),
        ),
        # the night the clocks go forward in Paris (29 March 2026): 08:00 local is 06:00 UTC
        (
            datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
            "Europe/Paris",
            datetime(2026, 3, 29, 6, 0, tzinfo=UTC),
        ),
        # the night they go back (25 October 2026): 08:00 local is 07:00 UTC
        (
            datetime(2026, 10, 24, 23, 0, tzinfo=UTC),
            "Europe/Paris",
            datetime(2026, 10, 25, 7, 0, tzinfo=UTC),
        ),
        # Kathmandu, UTC+05:45
        (
            datetime(2026, 6, 1, 0, 0, tzinfo=UTC),
            "Asia/Kathmandu",
            datetime(2026, 6, 1, 2, 15, tzinfo=UTC),
        ),
    ],
)
def test_quiet_hours_end_in_the_members_zone(now: datetime, tz: str, expected: datetime) -> None:
    assert quiet_hours_end(now, ZoneInfo(tz), NIGHT, MORNING) == expected


def test_unknown_zones_fall_back_to_the_partnership() -> None:
    assert zone("Mars/Olympus", "Africa/Dakar") == ZoneInfo("Africa/Dakar")
    assert zone(None, "Europe/Paris") == ZoneInfo("Europe/Paris")
    assert zone("Nope/Nope", "Also/Nope") == ZoneInfo("UTC")


NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # 11:00 in Paris


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-01 09:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("2026-12-01T9:30", datetime(2026, 12, 1, 8, 30, tzinfo=UTC)),
        ("01/12 09:00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("01.12.2026 9h00", datetime(2026, 12, 1, 8, 0, tzinfo=UTC)),
        ("12:00", datetime(2026, 11, 25, 11, 0, tzinfo=UTC)),
        ("10:00", datetime(2026, 11, 26, 9, 0, tzinfo=UTC)),
        ("20/11 10:00", datetime(2027, 11, 20, 9, 0, tzinfo=UTC)),
    ],
)
def test_reading_dates_in_the_partnership_zone(text: str, expected: datetime) -> None:
    assert parse_local_datetime(text, ZoneInfo("Europe/Paris"), NOW) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("tomorrow", "format"),
        ("2026-02-30 09:00", "invalid"),
        ("2026-12-01 25:00", "invalid"),
        ("2026-11-25 10:59", "past"),
        ("2020-01-01 09:00", "past"),
    ],
)
def test_bad_dates_say_why(text: str, reason: str) -> None:
    with pytest.raises(BadDateTime) as caught:
        parse_local_datetime(text, ZoneInfo("Europe/Paris"), NOW)
    assert caught.value.args[0] == reason
