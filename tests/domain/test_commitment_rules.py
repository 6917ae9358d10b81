"""The commitments register's pure rules: CSV import, due dates, when owners are asked."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.domain.commitments import (
    BEFORE,
    DUE,
    CommitmentError,
    concerned,
    parse_csv,
    parse_due,
    stages_due,
)

TODAY = date(2026, 1, 5)
LEAD, AT = timedelta(days=3), time(10, 0)


def test_a_csv_is_read_whole_with_every_problem_named_by_its_line() -> None:
    specs, problems = parse_csv(
        "\ufeffOwner,What,Due,For,Source,Person\n"
        "City Hall,Open the depot,2026-02-01,River Youth,MoU 4,\n"
        "Water Co,,2026-02-01,River Youth,,\n"
        "Water Co,Train plumbers,2025-12-31,River Youth,,\n"
        "Water Co,Train plumbers,2026-02-01,River Youth,,@ana\n",
        today=TODAY,
    )
    assert [s.owner_org for s in specs] == ["City Hall"]
    assert specs[0].source == "MoU 4" and specs[0].person is None
    assert [(p.line, p.key) for p in problems] == [
        (3, "commitments.error.missing"),
        (4, "commitments.error.past"),
        (5, "commitments.csv.person"),
    ]


def test_a_csv_without_its_columns_is_refused_at_the_header() -> None:
    specs, problems = parse_csv("who,what\nx,y\n", today=TODAY)
    assert specs == []
    assert [(p.line, p.key, p.params) for p in problems] == [
        (1, "commitments.csv.header", {"columns": "owner, due, for"})
    ]


@pytest.mark.parametrize("typed", ["05/02/2026", "2026-02-30", "soon", ""])
def test_a_due_date_must_be_a_date(typed: str) -> None:
    with pytest.raises(CommitmentError) as caught:
        parse_due(typed, today=TODAY)
    assert caught.value.key == "commitments.error.date"


@pytest.mark.parametrize(
    ("now", "stages"),
    [
        (datetime(2026, 1, 7, 9, 59, tzinfo=UTC), ()),
        (datetime(2026, 1, 7, 10, 0, tzinfo=UTC), (BEFORE,)),
        (datetime(2026, 1, 9, 23, 0, tzinfo=UTC), (BEFORE,)),
        (datetime(2026, 1, 10, 10, 0, tzinfo=UTC), (DUE,)),  # the latest stage only
        (datetime(2026, 3, 1, 10, 0, tzinfo=UTC), (DUE,)),
    ],
)
def test_the_owner_is_asked_ahead_then_on_the_due_date(
    now: datetime, stages: tuple[str, ...]
) -> None:
    assert stages_due(date(2026, 1, 10), now=now, lead=LEAD, at=AT, tz=UTC) == stages


def test_partners_concerned_are_the_owner_and_whom_it_is_for_without_case() -> None:
    assert concerned("City Hall", "River Youth", " city hall ")
    assert concerned("City Hall", "River Youth", "RIVER YOUTH")
    assert not concerned("City Hall", "River Youth", "Elsewhere")
    assert not concerned("City Hall", "River Youth", None)
