"""Measuring success as pure rules: what an objectives run states, what a rating is, progress
by partner and period with its trend, and the Box 6.25 alignment matrix."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.domain.anonymity import ALL
from bot.domain.figures import AnswerRow, in_periods
from bot.domain.objectives import (
    StatedObjective,
    alignment_matrix,
    as_percent_of_way,
    objective_fields,
    progress_by_category,
    progress_by_partner,
    rated_value,
    rating_row,
    shown_figure,
    trends,
)
from bot.domain.releases import Periods

K = 5
MONDAY = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def ratings(
    group: str, value: float, *, people: int, week: int = 0, category: str = "social"
) -> list[AnswerRow]:
    return [
        rating_row(
            category=category,
            group=group,
            rating=value,
            created_at=MONDAY + timedelta(days=7 * week),
            rater=f"m{group}{person}",
        )
        for person in range(people)
    ]


def published(rows: list[AnswerRow]) -> list[AnswerRow]:
    return in_periods(rows, lambda _: Periods(()), closed_by=MONDAY + timedelta(days=60))


def test_an_objective_needs_a_known_kind_and_a_statement() -> None:
    assert objective_fields({"category": "cultural", "statement": "x"}) is None
    assert objective_fields({"category": "social", "statement": "  "}) is None
    fields = objective_fields(
        {"category": "social", "statement": " Water ", "needs": ["funding", "decisions"]}
    )
    assert fields == {
        "category": "social",
        "statement": "Water",
        "indicator": "",
        "baseline": "",
        "target": "",
        "needs": ["decisions", "funding"],
    }


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        ({"objective": 7, "rating": 4}, (7, 4.0)),
        ({"objective": 7, "rating": 6}, None),
        ({"objective": "7", "rating": 4}, None),
        ({"rating": 4}, None),
        ({"objective": 7}, None),
    ],
)
def test_a_rating_is_tied_to_one_objective_within_the_scale(
    answers: dict[str, Any], expected: tuple[int, float] | None
) -> None:
    assert rated_value(answers) == expected


def test_a_lone_partner_in_a_period_gives_everyones_figure_and_small_groups_no_trend() -> None:
    rows = published(
        ratings("municipality", 2, people=5)
        + ratings("municipality", 4, people=5, week=1)
        + ratings("community", 5, people=2)
        + ratings("community", 5, people=2, week=1)
    )
    table = as_percent_of_way(progress_by_partner(rows, groups=("municipality",), k=K))
    weeks = sorted(table.columns)
    assert [shown_figure(table, ALL, w).value for w in weeks] == [25.0, 75.0]  # type: ignore[union-attr]
    assert [shown_figure(table, "community", w) for w in weeks] == [None, None]
    found = {t.group: t.change for t in trends(table)}
    assert found == {"municipality": 50.0, ALL: 50.0}


def test_two_partners_in_a_period_give_the_margin_and_hidden_cells_stay_hidden() -> None:
    rows = published(
        ratings("municipality", 3, people=5)
        + ratings("private_sector", 5, people=5)
        + ratings("community", 1, people=3)
    )
    table = progress_by_partner(rows, groups=("municipality", "private_sector"), k=K)
    (week,) = table.columns
    overall = shown_figure(table, ALL, week)
    assert overall is not None and overall.value == 4.0  # the three below k count for nothing
    assert shown_figure(table, "community", week) is None
    assert trends(table) == []  # one period only


def objective(category: str, needs: tuple[str, ...]) -> StatedObjective:
    return StatedObjective(1, "municipality", None, category, "x", "", "", "", needs)


def test_the_matrix_places_what_each_sector_brings_and_marks_what_is_used() -> None:
    objectives = [
        objective("financial", ("funding",)),
        objective("physical", ("technical_skills", "local_knowledge")),
    ]
    brought = {"municipality": ("funding", "decisions"), "private_sector": ("technical_skills",)}
    areas = ("local_knowledge", "technical_skills", "funding", "decisions")
    progress = progress_by_category(
        published(ratings("municipality", 4, people=5, category="financial")), k=K
    )
    matrix = alignment_matrix(
        objectives=objectives, brought=brought, progress=progress, areas=areas
    )
    assert matrix.called_for["financial"] == ("funding",)
    assert matrix.called_for["economic"] == ()
    assert matrix.cell("financial", "municipality").used == ("funding",)
    assert matrix.cell("physical", "private_sector").brought == ("technical_skills",)
    assert matrix.cell("physical", "private_sector").used == ()
    assert matrix.cell("physical", "municipality").brought == ()
    # A commitment putting a competency to work marks it used (the commitments register's hook).
    committed = alignment_matrix(
        objectives=objectives,
        brought=brought,
        progress=progress,
        areas=areas,
        used_by_commitments={"physical": ["technical_skills"]},
    )
    assert committed.cell("physical", "private_sector").used == ("technical_skills",)


def test_progress_of_fewer_than_k_people_marks_nothing_used() -> None:
    progress = progress_by_category(
        published(ratings("municipality", 5, people=4, category="financial")), k=K
    )
    matrix = alignment_matrix(
        objectives=[objective("financial", ("funding",))],
        brought={"municipality": ("funding",)},
        progress=progress,
        areas=("funding",),
    )
    assert matrix.cell("financial", "municipality").used == ()
