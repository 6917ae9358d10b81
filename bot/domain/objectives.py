"""Measuring success, per partner: objectives under Box 6.25's six categories, progress towards
their targets period by period, and the Box 6.25 alignment matrix (pure).

A partner states an objective (the `objectives` flow): its category, what it aims for, an
indicator, a baseline and a target, and which competencies reaching it calls for (the roles
flow's areas). Members of the partner's group rate progress on it (the `objectives_progress`
flow, given the objective): 1 is the baseline, 5 the target reached. Ratings become
`AnswerRow`s of the progress flow under their objective's category, so every figure made of
them goes through the same k-anonymity and release rules as the other reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.domain.anonymity import ALL, Cell, SuppressedTable
from bot.domain.figures import AnswerRow, group_of, latest_answers, mean_table, shown_week
from bot.domain.reports import PROGRESS_FLOW, ROLE_KINDS, RoleMap, role_row

# Box 6.25's objective categories, in the box's order.
CATEGORIES = ("economic", "financial", "political", "physical", "social", "institutional")
OBJECTIVES_FLOW = "objectives"
OBJECTIVES_FINISHER = "objectives"  # a stated objective is recorded (bot/services/objectives.py)
PROGRESS_FINISHER = "objective_progress"  # a rating is tied to its objective
# The answers the objectives flow hands over.
CATEGORY, STATEMENT, INDICATOR, BASELINE, TARGET, NEEDS = (
    "category",
    "statement",
    "indicator",
    "baseline",
    "target",
    "needs",
)
GIVEN_OBJECTIVE = "objective"  # what the progress flow is given: the objective's id
RATING = "rating"
RATING_LOW, RATING_HIGH = 1, 5
OVERALL = "overall"  # the one column of the per-category progress behind the matrix


@dataclass(frozen=True)
class StatedObjective:
    """An objective as partners see it."""

    id: int
    group: str | None
    organisation: str | None
    category: str
    statement: str
    indicator: str
    baseline: str
    target: str
    needs: tuple[str, ...] = ()


def objective_fields(answers: Mapping[str, Any]) -> dict[str, Any] | None:
    """The objective an objectives run states, as table fields; None without a known category
    or a statement."""
    category = answers.get(CATEGORY)
    statement = str(answers.get(STATEMENT) or "").strip()
    if category not in CATEGORIES or not statement:
        return None
    needs = answers.get(NEEDS)
    return {
        "category": category,
        "statement": statement,
        "indicator": str(answers.get(INDICATOR) or "").strip(),
        "baseline": str(answers.get(BASELINE) or "").strip(),
        "target": str(answers.get(TARGET) or "").strip(),
        "needs": sorted(str(n) for n in needs) if isinstance(needs, list) else [],
    }


def rated_value(answers: Mapping[str, Any]) -> tuple[int, float] | None:
    """(objective id, rating) of a finished progress run; None when either is missing."""
    objective, rating = answers.get(GIVEN_OBJECTIVE), answers.get(RATING)
    if not isinstance(objective, int) or not isinstance(rating, int | float):
        return None
    if not RATING_LOW <= rating <= RATING_HIGH:
        return None
    return objective, float(rating)


def may_rate(objective: StatedObjective, group: str | None) -> bool:
    """A partner rates its own objectives: members of the group that stated it."""
    return group is not None and objective.group == group


def rating_row(
    *, category: str, group: str | None, rating: float, created_at: datetime, rater: str | None
) -> AnswerRow:
    """A rating as a figure row of the progress flow, under its objective's category; `rater`
    is an opaque key, None for an anonymous rating."""
    return AnswerRow(
        flow_id=PROGRESS_FLOW,
        question_key=category,
        group=group,
        created_at=created_at,
        number=rating,
        respondent=rater,
    )


def toward_target(mean: float) -> float:
    """How far a mean rating is from the baseline (0) to the target (1)."""
    span = RATING_HIGH - RATING_LOW
    return min(1.0, max(0.0, (mean - RATING_LOW) / span))


def progress_by_partner(
    rows: Iterable[AnswerRow], *, groups: Sequence[str], k: int
) -> SuppressedTable:
    """Mean progress on their own objectives by partner group (rows) and period (columns, the
    week each is shown in), suppressed; the margins are each period overall."""
    progress = [r for r in rows if r.flow_id == PROGRESS_FLOW and r.question_key in CATEGORIES]
    return mean_table(
        progress,
        row_of=group_of,
        column_of=lambda row: shown_week(row).isoformat(),
        k=k,
        rows_order=groups,
    )


def as_percent_of_way(table: SuppressedTable) -> SuppressedTable:
    """The same table with each mean rating as the percent of the way to the target."""
    figures = {
        key: replace(cell, value=100 * toward_target(cell.value))
        for key, cell in table.figures.items()
    }
    return replace(table, figures=figures)


@dataclass(frozen=True)
class Trend:
    """A partner's (or, for ALL, everyone's) last two shown periods, in percent of the way."""

    group: str
    previous: float
    latest: float

    @property
    def change(self) -> float:
        return self.latest - self.previous


def shown_figure(table: SuppressedTable, row: str, period: str) -> Cell | None:
    """A partner's (or, for ALL, everyone's) visible figure of a period. A margin that would
    repeat another figure is not in the table: with one period only, everyone's is the grand
    total; in a period with one partner only, it is that partner's."""
    if row != ALL or (ALL, period) in table.figures:
        return table.visible(row, period)
    if table.columns == (period,) and (ALL, ALL) in table.figures:
        return table.visible(ALL, ALL)
    present = [
        r for r in table.rows if (r, period) in table.figures and (r, period) not in table.withheld
    ]
    return table.visible(present[0], period) if len(present) == 1 else None


def trends(table: SuppressedTable) -> list[Trend]:
    """Each row's (then the overall) change between its last two visible periods; a hidden
    figure is never used, so a trend gives nothing away the table does not show."""
    periods = sorted(table.columns)
    found = []
    for row in (*table.rows, ALL):
        shown = [c.value for p in periods if (c := shown_figure(table, row, p)) is not None]
        if len(shown) >= 2:
            found.append(Trend(row, shown[-2], shown[-1]))
    return found


def progress_by_category(rows: Iterable[AnswerRow], *, k: int) -> SuppressedTable:
    """Latest progress per person on each category, over every partner (one column)."""
    progress = [r for r in rows if r.flow_id == PROGRESS_FLOW and r.question_key in CATEGORIES]
    return mean_table(
        latest_answers(progress),
        row_of=lambda row: row.question_key,
        column_of=lambda row: OVERALL,
        k=k,
        rows_order=CATEGORIES,
    )


# ------------------------------------------------------------------ Box 6.25 alignment matrix


@dataclass(frozen=True)
class AlignmentCell:
    """What one sector brings to one objective category: the competencies it says it brings
    that the category's objectives call for, and those of them in use."""

    brought: tuple[str, ...]
    used: tuple[str, ...]


@dataclass(frozen=True)
class AlignmentMatrix:
    """Box 6.25 filled in: objective categories (rows) by sector (columns)."""

    categories: tuple[str, ...]
    sectors: tuple[str, ...]
    cells: Mapping[tuple[str, str], AlignmentCell]
    called_for: Mapping[str, tuple[str, ...]]  # category -> competencies its objectives need

    def cell(self, category: str, sector: str) -> AlignmentCell:
        return self.cells.get((category, sector), AlignmentCell((), ()))


def brought_by(roles: RoleMap, *, areas: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """Each sector's competencies: the areas its people say they lead or support (the role map
    has already left out sectors with fewer than k respondents)."""
    return {
        sector: tuple(
            area
            for area in areas
            if any((role_row(area, role), sector) in roles.table.figures for role in ROLE_KINDS)
        )
        for sector in roles.table.columns
    }


def alignment_matrix(
    *,
    objectives: Sequence[StatedObjective],
    brought: Mapping[str, Sequence[str]],
    progress: SuppressedTable,
    areas: Sequence[str],
    used_by_commitments: Mapping[str, Iterable[str]] | None = None,
) -> AlignmentMatrix:
    """For each category, which competencies each sector brings that the category's objectives
    call for, and whether they are used: the category shows progress beyond its baseline (a
    visible figure of `progress_by_category`), or a commitment puts the competency to work
    (`used_by_commitments`: category -> competencies, from the commitments register)."""
    called_for = {
        category: tuple(
            a for a in areas if any(a in o.needs for o in objectives if o.category == category)
        )
        for category in CATEGORIES
    }
    committed = {c: set(found) for c, found in (used_by_commitments or {}).items()}
    cells: dict[tuple[str, str], AlignmentCell] = {}
    for category in CATEGORIES:
        shown = progress.visible(category, OVERALL)
        progressing = shown is not None and shown.value > RATING_LOW
        for sector, offered in brought.items():
            matched = tuple(a for a in called_for[category] if a in offered)
            if not matched:
                continue
            used = tuple(a for a in matched if progressing or a in committed.get(category, ()))
            cells[(category, sector)] = AlignmentCell(matched, used)
    return AlignmentMatrix(CATEGORIES, tuple(brought), cells, called_for)
