"""Figures from answers: one `AnswerRow`, and the pipeline every published mean goes through.

Reports, pulse results and digests all read answers as `AnswerRow`s and make their means with
`mean_table`: rows of a (figure, period) over fewer than k respondents are withheld
(`bot.domain.releases.releasable`), the rest become cells whose margins are suppressed together
(`bot.domain.anonymity.suppress`). Named answers carry an opaque respondent key; anonymous
answers carry none and cannot be told apart by person, so their respondents are counted as the
largest number of responses in any one week (a pulse is answered at most once a week): a lower
bound, which only ever hides more.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

from bot.domain.anonymity import ALL, Cell, Key, SuppressedTable, suppress
from bot.domain.releases import Periods, releasable

NO_GROUP = "unknown"  # answers of members who have not said their stakeholder group


@dataclass(frozen=True)
class AnswerRow:
    """One stored answer as figures see it: no member, only opaque keys for named answers."""

    flow_id: str
    question_key: str
    group: str | None
    created_at: datetime
    number: float | None = None
    choice: str | None = None
    skipped: bool = False
    proxy: bool = False
    respondent: str | None = None  # the same for every answer of one person; None if anonymous
    response: str | None = None  # the same for every answer of one run; None if anonymous
    period: str = ""  # the fixed period it belongs to (`bot.domain.releases.Periods`)
    week: date | None = None  # the week its period is shown in; its own week when None
    count: int = 1  # identical anonymous answers it stands for (read as one row)


def group_of(row: AnswerRow) -> str:
    """The stakeholder group a row counts for."""
    return row.group or NO_GROUP


def week_of(when: datetime) -> date:
    """The Monday of the week a moment falls in (reports go week by week)."""
    day = when.date()
    return day - timedelta(days=day.weekday())


def count_answers(rows: Iterable[AnswerRow]) -> int:
    """The answers the rows stand for."""
    return sum(row.count for row in rows)


def count_responses(rows: Iterable[AnswerRow]) -> int:
    """Questionnaires answered: named runs, plus for anonymous answers the most answers any one
    question got on each day."""
    named: set[str] = set()
    per_day: dict[tuple[str, date], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        if row.response is not None or row.respondent is not None:
            named.add(row.response or f"person:{row.respondent}")
        else:
            per_day[(row.flow_id, row.created_at.date())][row.question_key] += row.count
    return len(named) + sum(max(counts.values()) for counts in per_day.values())


def count_respondents(rows: Iterable[AnswerRow]) -> int:
    """Distinct people behind the rows, never more than there really are."""
    rows = list(rows)
    named = {row.respondent or row.response for row in rows if row.response or row.respondent}
    by_week: dict[date, list[AnswerRow]] = defaultdict(list)
    for row in rows:
        if row.respondent is None and row.response is None:
            by_week[week_of(row.created_at)].append(row)
    anonymous = max((count_responses(week) for week in by_week.values()), default=0)
    # The same person may answer named and anonymous questions: only the larger part is sure.
    return max(len(named), anonymous)


def shown_week(row: AnswerRow) -> date:
    """The week a row's period is shown in."""
    return row.week or week_of(row.created_at)


def counted(rows: Iterable[AnswerRow]) -> list[AnswerRow]:
    """The rows figures are made of: what members said themselves (a facilitator's proxy
    answers never count towards k, they are reported apart)."""
    return [row for row in rows if not row.proxy]


def rated(rows: Iterable[AnswerRow]) -> list[AnswerRow]:
    """Rows holding a number (not skipped)."""
    return [row for row in rows if not row.skipped and row.number is not None]


def in_periods(
    rows: Iterable[AnswerRow], periods: Callable[[AnswerRow], Periods], *, closed_by: datetime
) -> list[AnswerRow]:
    """The rows of periods over by `closed_by`, each with its period and the week it is shown
    in (`periods` gives a row's flow's periods)."""
    found = []
    for row in rows:
        of = periods(row)
        if of.closed(row.created_at, closed_by):
            found.append(
                replace(row, period=of.of(row.created_at), week=of.week_of(row.created_at))
            )
    return found


def latest_answers(rows: Iterable[AnswerRow]) -> list[AnswerRow]:
    """Each named respondent's latest answer to each question; anonymous rows all stay."""
    latest: dict[tuple[str, str, str], AnswerRow] = {}
    kept: list[AnswerRow] = []
    for row in rows:
        who = row.respondent or row.response
        if who is None:
            kept.append(row)
            continue
        key = (row.flow_id, row.question_key, who)
        if key not in latest or row.created_at >= latest[key].created_at:
            latest[key] = row
    return kept + list(latest.values())


def mean_table(
    rows: Iterable[AnswerRow],
    *,
    row_of: Callable[[AnswerRow], str],
    column_of: Callable[[AnswerRow], str],
    k: int,
    rows_order: Sequence[str] = (),
    columns_order: Sequence[str] = (),
    respondents: Callable[[Sequence[AnswerRow]], int] = count_respondents,
) -> SuppressedTable:
    """Means of the rated rows by (row, column), suppressed; `respondents` counted per figure.

    A cell's period with fewer than k respondents is left out of it (`releasable`); a cell left
    with nothing is shown hidden and adds nothing to the margins.
    """
    cells_rows: dict[Key, list[AnswerRow]] = defaultdict(list)
    asked = rated(rows)
    kept = releasable(
        asked,
        figure_of=lambda row: (row_of(row), column_of(row)),
        period_of=lambda row: row.period,
        respondents=respondents,
        k=k,
    )
    for row in kept:
        cells_rows[(row_of(row), column_of(row))].append(row)
    cells = {
        key: Cell(
            respondents(found),
            sum((r.number or 0.0) * r.count for r in found) / count_answers(found),
            count_answers(found),
        )
        for key, found in ordered_cells(cells_rows, rows_order, columns_order)
    }
    margins: dict[Key, int] = {(ALL, ALL): respondents([r for v in cells_rows.values() for r in v])}
    for row_key in {key[0] for key in cells}:
        margins[(row_key, ALL)] = respondents(
            [r for key, v in cells_rows.items() if key[0] == row_key for r in v]
        )
    for column_key in {key[1] for key in cells}:
        margins[(ALL, column_key)] = respondents(
            [r for key, v in cells_rows.items() if key[1] == column_key for r in v]
        )
    withheld = {(row_of(r), column_of(r)): Cell(0, 0.0) for r in asked}
    return suppress(
        cells,
        k=k,
        kind="mean",
        margin_respondents=margins,
        order=(rows_order, columns_order),
        withheld=withheld,
    )


def ordered_cells(
    cells: Mapping[Key, list[AnswerRow]], rows_order: Sequence[str], columns_order: Sequence[str]
) -> list[tuple[Key, list[AnswerRow]]]:
    """Cells in the given row and column order, unknown ones after, alphabetically."""

    def rank(value: str, order: Sequence[str]) -> tuple[int, str]:
        return (order.index(value) if value in order else len(order), value)

    return sorted(
        cells.items(),
        key=lambda item: (rank(item[0][0], rows_order), rank(item[0][1], columns_order)),
    )
