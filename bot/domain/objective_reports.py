"""Two reports on measuring success: progress towards each partner's own targets (per partner
group and overall, period by period, with the trend), and the Box 6.25 alignment matrix (what
each sector brings to each kind of objective, and whether it is used). Figures are made by
`bot.domain.objectives` through the common k-anonymity pipeline; wording and layout are here,
read by their report kinds (`bot.domain.report_kinds.progress`, `.alignment`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.anonymity import ALL, SuppressedTable
from bot.domain.figures import AnswerRow
from bot.domain.objectives import (
    AlignmentCell,
    AlignmentMatrix,
    StatedObjective,
    alignment_matrix,
    as_percent_of_way,
    brought_by,
    progress_by_category,
    progress_by_partner,
    shown_figure,
    trends,
)
from bot.domain.reports import HIDDEN_MARK, ChartData, Series, Words, group_label, role_map

USED_MARK = "✓"


def used_by_commitments(objectives: Sequence[StatedObjective]) -> Mapping[str, Iterable[str]]:
    """Category -> the competencies commitments put to work there: the commitments register
    (issue 17, point 2) fills this in; until then nothing counts as used by a commitment."""
    return {}


@dataclass(frozen=True)
class ObjectivePart:
    """One report's chart, the table its figures come from (for hidden and empty notes), its
    lines as text and the sentences shown under the title."""

    chart: ChartData
    table: SuppressedTable
    lines: tuple[str, ...]
    extra: tuple[str, ...]


def progress_part(
    rows: Sequence[AnswerRow], *, groups: Sequence[str], k: int, words: Words
) -> ObjectivePart:
    """Percent of the way from baseline to target, per partner group (and overall) and period;
    the trend between each one's last two shown periods."""
    table = as_percent_of_way(progress_by_partner(rows, groups=groups, k=k))
    periods = sorted(table.columns)

    def label(group: str) -> str:
        return words("objectives.report.overall") if group == ALL else group_label(words, group)

    def shown(row: str, period: str) -> float | None:
        cell = shown_figure(table, row, period)
        return None if cell is None else round(cell.value)

    found = {t.group: t for t in trends(table)}
    grid = [["", *periods, words("objectives.report.trend_column")]]
    for row in (*table.rows, ALL) if table.figures else ():
        cells = [_percent(table, row, p) for p in periods]
        trend = found.get(row)
        grid.append([label(row), *cells, "" if trend is None else f"{trend.change:+.0f}"])
    extra = tuple(
        words(
            "objectives.report.trend",
            group=label(t.group),
            previous=f"{t.previous:.0f}",
            latest=f"{t.latest:.0f}",
            change=f"{t.change:+.0f}",
        )
        for t in found.values()
    )
    chart = ChartData(
        kind="line",
        title=words("objectives.report.progress_title"),
        x_labels=tuple(periods),
        series=tuple(
            Series(label(row), tuple(shown(row, p) for p in periods))
            for row in ((*table.rows, ALL) if table.figures else ())
        ),
        y_label=words("objectives.report.progress_axis"),
        note=words("report.note.hidden", k=k) if table.hidden else "",
        y_range=(0.0, 100.0),
    )
    return ObjectivePart(chart, table, tuple(_aligned(grid) if len(grid) > 1 else ()), extra)


def alignment_part(
    rows: Sequence[AnswerRow],
    *,
    objectives: Sequence[StatedObjective],
    groups: Sequence[str],
    areas: Sequence[str],
    k: int,
    words: Words,
) -> ObjectivePart:
    """Box 6.25 with the partnership's own data: rows the six kinds of objective, columns the
    sectors; in each cell the competencies the sector brings that the kind's objectives call
    for, those in use marked."""
    roles = role_map(rows, areas=areas, groups=groups, k=k)
    matrix = alignment_matrix(
        objectives=objectives,
        brought=brought_by(roles, areas=areas),
        progress=progress_by_category(rows, k=k),
        areas=areas,
        used_by_commitments=used_by_commitments(objectives),
    )
    area = _area_words(words)
    category = _category_words(words)
    sector = _sector_words(words)

    texts = tuple(
        tuple(_named(matrix.cell(c, s), area) for s in matrix.sectors) for c in matrix.categories
    )
    chart = ChartData(
        kind="heatmap",
        title=words("objectives.report.alignment_title"),
        x_labels=tuple(sector(s) for s in matrix.sectors),
        series=tuple(
            Series(
                category(c),
                tuple(float(len(matrix.cell(c, s).brought)) for s in matrix.sectors),
            )
            for c in (matrix.categories if matrix.sectors else ())
        ),
        y_label=words("objectives.report.alignment_axis"),
        note=words("objectives.report.alignment_note", mark=USED_MARK),
        cell_texts=texts if matrix.sectors else (),
    )
    return ObjectivePart(chart, roles.table, alignment_lines(matrix, words), ())


def alignment_lines(matrix: AlignmentMatrix, words: Words) -> tuple[str, ...]:
    """The matrix as text, kind by kind: what its objectives call for, then each sector's."""
    area, category, sector = _area_words(words), _category_words(words), _sector_words(words)
    lines = []
    for kind in matrix.categories:
        called = matrix.called_for[kind]
        if not called:
            lines.append(words("objectives.report.no_call", category=category(kind)))
            continue
        needs = ", ".join(area(a) for a in called)
        lines.append(words("objectives.report.calls_for", category=category(kind), areas=needs))
        brought = [
            (s, matrix.cell(kind, s)) for s in matrix.sectors if matrix.cell(kind, s).brought
        ]
        lines += [f"  {sector(who)}: {_named(cell, area)}" for who, cell in brought]
        if not brought:
            lines.append("  " + words("objectives.report.nobody_brings"))
    lines.append(words("objectives.report.alignment_note", mark=USED_MARK))
    return tuple(lines)


def _named(cell: AlignmentCell, area: Callable[[str], str]) -> str:
    """A cell's competencies in words, those in use marked."""
    return ", ".join(area(a) + (f" {USED_MARK}" if a in cell.used else "") for a in cell.brought)


def _percent(table: SuppressedTable, row: str, period: str) -> str:
    if row != ALL and (row, period) not in table.figures:
        return ""
    cell = shown_figure(table, row, period)
    return HIDDEN_MARK if cell is None else f"{cell.value:.0f}%"


def _aligned(grid: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in grid) for i in range(len(grid[0]))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in grid
    ]


def _area_words(words: Words) -> Callable[[str], str]:
    return lambda a: words(f"roles.brings.{a}")


def _category_words(words: Words) -> Callable[[str], str]:
    return lambda c: words(f"report.objective.{c}")


def _sector_words(words: Words) -> Callable[[str], str]:
    return lambda s: group_label(words, s)
