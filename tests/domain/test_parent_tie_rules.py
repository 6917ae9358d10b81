"""Ties to parent organisations as pure rules: who the check goes to, and when "marginalised"
counts as rising (visible figures only)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.audiences import Audience
from bot.domain.figures import AnswerRow
from bot.domain.parent_ties import (
    latest_figures,
    partner_audience,
    partner_groups,
    rising,
    trend,
    trends,
)

GROUPS = ("municipality", "private_sector", "civil_society", "community", "other")
MONDAY = datetime(2026, 1, 5, tzinfo=UTC)


def answers(
    group: str, week: int, value: float, people: int, question: str = "marginalised"
) -> list[AnswerRow]:
    when = MONDAY + timedelta(weeks=week)
    period = f"week:{when.date().isoformat()}"
    return [
        AnswerRow("parent_check", question, group, when, number=value, period=period)
        for _ in range(people)
    ]


def test_partners_are_every_group_but_the_community() -> None:
    assert partner_groups(GROUPS) == ("municipality", "private_sector", "civil_society", "other")
    assert partner_audience(Audience(), GROUPS) == Audience(groups=partner_groups(GROUPS))
    narrowed = partner_audience(Audience(groups=("community", "other"), languages=("fr",)), GROUPS)
    assert narrowed == Audience(groups=("other",), languages=("fr",))
    assert partner_audience(Audience(groups=("community",)), GROUPS) is None


@pytest.mark.parametrize(
    ("values", "alerted"),
    [
        ((2, 3, 4), True),
        ((2, 3), False),  # one rise only
        ((3, 3, 4), False),  # flat, then up
        ((4, 3, 4), False),
        ((1, 2, 3, 2), False),  # the latest period fell
        ((5, 1, 2, 3), True),  # the last three rose
    ],
)
def test_marginalised_rising_two_periods_in_a_row(values: tuple[int, ...], alerted: bool) -> None:
    rows = [r for week, v in enumerate(values) for r in answers("municipality", week, v, 3)]
    found = rising(trend(rows, measure="marginalised", groups=GROUPS, k=3))
    assert [r.group for r in found] == (["municipality"] if alerted else [])


def test_a_period_under_k_breaks_the_run_and_shows_nothing() -> None:
    rows = [
        *answers("municipality", 0, 2, 3),
        *answers("municipality", 1, 3, 2),  # two people: withheld
        *answers("municipality", 2, 4, 3),
        *answers("civil_society", 0, 1, 1),
        *answers("civil_society", 1, 2, 1),
        *answers("civil_society", 2, 3, 1),
    ]
    table = trend(rows, measure="marginalised", groups=GROUPS, k=3)
    assert rising(table) == []
    assert table.visible("municipality", "2026-01-12") is None
    assert [table.visible("civil_society", c) for c in table.columns] == [None, None, None]


def test_approvals_are_a_share_of_yes_and_the_latest_figures_hide_small_groups() -> None:
    when = MONDAY
    rows = [
        AnswerRow("parent_check", "approvals", "municipality", when, choice=c, period="p")
        for c in ("yes", "no", "no", "yes")
    ] + answers("other", 0, 4, 2, question="backing")
    latest = latest_figures(trends(rows, groups=GROUPS, k=3), groups=GROUPS)
    assert latest["municipality"]["approvals"] == 50.0
    assert latest["other"]["backing"] is None
    assert "community" not in latest
