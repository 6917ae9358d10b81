"""Ties to parent organisations, over plain values: who is a partner's representative, the
periodic check's figures per partner group over periods, when "marginalised" is rising, and
what a representative's briefing page holds.

The check (`flows/parent_check.yaml`) is anonymous: its figures are means by (partner group,
period) made by the same pipeline as every other published mean (`bot.domain.figures`), so a
period under k respondents is withheld and the rest suppressed together. An alert reads the
visible figures only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from bot.domain.anonymity import SuppressedTable
from bot.domain.audiences import Audience
from bot.domain.figures import AnswerRow, group_of, mean_table, shown_week
from bot.domain.reports import ChartData, Series, Words, group_label

PARENT_FLOW = "parent_check"
# Members of this group speak for themselves; every other group is a partner organisation.
COMMUNITY = "community"
MEASURES = ("backing", "approvals", "resources", "marginalised")
# A yes/no question: its figure is the share answering yes (approvals still pending), in %.
YES_NO_MEASURES = frozenset({"approvals"})
ALERT_MEASURE = "marginalised"
# "Rising two periods in a row": the latest RISES + 1 visible figures, each above the one before.
RISES = 2


def partner_groups(groups: Iterable[str]) -> tuple[str, ...]:
    """The stakeholder groups that are partner organisations (all but the community's)."""
    return tuple(g for g in groups if g != COMMUNITY)


def is_representative(group: str | None, groups: Sequence[str]) -> bool:
    """Whether a member of `group` speaks for a partner organisation."""
    return group is not None and group in partner_groups(groups)


def partner_audience(audience: Audience, groups: Sequence[str]) -> Audience | None:
    """The audience narrowed to partners' representatives: the partner groups it names, or all
    of them when it names none; None when it names groups and none is a partner's."""
    partners = partner_groups(groups)
    if not audience.groups:
        return replace(audience, groups=partners)
    kept = tuple(g for g in audience.groups if g in partners)
    return replace(audience, groups=kept) if kept else None


def measure_rows(rows: Iterable[AnswerRow], measure: str) -> list[AnswerRow]:
    """The check's answers to one question as numbers (a yes counts 100, a no 0)."""
    found = []
    for row in rows:
        if row.flow_id != PARENT_FLOW or row.question_key != measure:
            continue
        if measure in YES_NO_MEASURES and not row.skipped:
            number = {"yes": 100.0, "no": 0.0}.get(row.choice or "")
            row = replace(row, number=number, skipped=number is None)
        found.append(row)
    return found


def trend(
    rows: Iterable[AnswerRow], *, measure: str, groups: Sequence[str], k: int
) -> SuppressedTable:
    """One measure's mean by partner group (rows) and period (columns: the week it is shown
    in), k-anonymous."""
    partners = partner_groups(groups)
    return mean_table(
        [r for r in measure_rows(rows, measure) if group_of(r) in partners],
        row_of=group_of,
        column_of=lambda row: shown_week(row).isoformat(),
        k=k,
        rows_order=partners,
    )


def trends(
    rows: Sequence[AnswerRow], *, groups: Sequence[str], k: int
) -> dict[str, SuppressedTable]:
    """Every measure's trend."""
    return {m: trend(rows, measure=m, groups=groups, k=k) for m in MEASURES}


def visible_series(table: SuppressedTable, group: str) -> list[tuple[str, float | None]]:
    """A group's figures period by period, oldest first; None where hidden or nobody answered."""
    series = []
    for period in sorted(table.columns):
        cell = table.visible(group, period)
        series.append((period, None if cell is None else cell.value))
    return series


@dataclass(frozen=True)
class Rise:
    """A group whose figure rose over each of the last `RISES` periods: the figures, oldest
    first, and the latest period (what an alert is about, once)."""

    group: str
    period: str
    values: tuple[float, ...]


def rising(table: SuppressedTable, *, rises: int = RISES) -> list[Rise]:
    """Groups whose latest `rises + 1` periods all show a figure, each above the one before.

    Only visible figures count: a hidden or missing period breaks the run, so an alert never
    gives away a figure the report hides.
    """
    found = []
    for group in table.rows:
        latest = visible_series(table, group)[-(rises + 1) :]
        values = [v for _, v in latest]
        if len(latest) < rises + 1 or any(v is None for v in values):
            continue
        shown = [float(v) for v in values if v is not None]
        if all(b > a for a, b in zip(shown, shown[1:], strict=False)):
            found.append(Rise(group, latest[-1][0], tuple(shown)))
    return found


def latest_figures(
    tables: Mapping[str, SuppressedTable], *, groups: Sequence[str]
) -> dict[str, dict[str, float | None]]:
    """Each partner group's latest period's figure per measure (None: hidden or not asked)."""
    found: dict[str, dict[str, float | None]] = {}
    for group in partner_groups(groups):
        found[group] = {}
        for measure, table in tables.items():
            series = visible_series(table, group) if group in table.rows else []
            found[group][measure] = series[-1][1] if series else None
    return found


def format_figure(measure: str, value: float | None, hidden: str) -> str:
    """A figure as shown: a mean to one decimal, a yes share as a whole percentage."""
    if value is None:
        return hidden
    return f"{value:.0f} %" if measure in YES_NO_MEASURES else f"{value:.1f}"


def trend_chart(table: SuppressedTable, words: Words, *, k: int) -> ChartData:
    """Lines of "marginalised" by partner group across periods."""
    columns = sorted(table.columns)

    def value(group: str, period: str) -> float | None:
        cell = table.visible(group, period)
        return None if cell is None else round(cell.value, 2)

    return ChartData(
        kind="line",
        title=words("parent.report.title"),
        x_labels=tuple(columns),
        series=tuple(
            Series(group_label(words, g), tuple(value(g, c) for c in columns)) for g in table.rows
        ),
        y_label=words("parent.report.axis"),
        note=words("report.note.hidden", k=k) if table.hidden else "",
        y_range=(1.0, 5.0),
    )


# -- the briefing page ------------------------------------------------------------------------


@dataclass(frozen=True)
class BriefSection:
    """A heading and its lines, in words; `empty` is said when there are no lines."""

    heading: str
    lines: tuple[str, ...]
    empty: str = ""


@dataclass(frozen=True)
class BriefPage:
    """A representative's one-page briefing, already in words: drawing adds nothing."""

    title: str
    subtitle: str
    sections: tuple[BriefSection, ...]
    figures: BriefSection
    footer: str
    chart: ChartData | None = None  # the latest figures as bars


def figure_lines(
    latest: Mapping[str, Mapping[str, float | None]],
    *,
    words: Words,
    hidden: str,
) -> tuple[str, ...]:
    """One line per partner group: each measure's latest figure, hidden ones as `hidden`."""
    label: Callable[[str], str] = lambda m: words(f"parent.measure.{m}")  # noqa: E731
    return tuple(
        f"{group_label(words, group)}: "
        + " · ".join(f"{label(m)} {format_figure(m, v, hidden)}" for m, v in measures.items())
        for group, measures in latest.items()
    )


# Drawn as bars on the page: the 1-5 measures (approvals are a share, on another scale).
CHARTED = ("backing", "resources", "marginalised")


def latest_chart(latest: Mapping[str, Mapping[str, float | None]], *, words: Words) -> ChartData:
    """The latest figures as bars: a series per 1-5 measure, partner groups along x."""
    groups = list(latest)
    return ChartData(
        kind="bars",
        title=words("parent.brief.chart"),
        x_labels=tuple(group_label(words, g) for g in groups),
        series=tuple(
            Series(
                words(f"parent.measure.{m}"),
                tuple(
                    None if latest[g].get(m) is None else round(latest[g][m] or 0.0, 2)
                    for g in groups
                ),
            )
            for m in CHARTED
        ),
        y_range=(1.0, 5.0),
    )
