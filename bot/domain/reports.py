"""Reports for coordinators: answers aggregated into k-anonymous tables, and the charts' data.

Everything here works on plain `AnswerRow`s and makes its means through the same pipeline as
pulse results and digests (`bot.domain.figures`). The respondents behind a figure decide
whether it may be shown (`bot.domain.anonymity`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.domain.anonymity import ALL, Cell, Key, SuppressedTable, suppress
from bot.domain.figures import (
    NO_GROUP,
    AnswerRow,
    count_respondents,
    count_responses,
    counted,
    group_of,
    latest_answers,
    mean_table,
    ordered_cells,
    shown_week,
)
from bot.domain.releases import releasable, settled

TRUST_FLOW = "trust_pulse"
ROLES_FLOW = "roles"
ROLES_QUESTION = "brings"
ROLES_LEAD_QUESTION = "leads"
PROGRESS_FLOW = "objectives_progress"
# Not questionnaires that response rates count: the profile, and concerns (never tied to groups).
NOT_RESPONSES = frozenset({"onboarding", "concerns"})
# A group is under-represented when its share of responses is below this part of its share of
# the members.
UNDER_REPRESENTED = 0.8

Words = Callable[..., str]  # a translator: key and parameters to wording
HIDDEN_MARK = "–"  # what a suppressed figure shows


def trust_rows(rows: Iterable[AnswerRow], groups: Sequence[str]) -> list[AnswerRow]:
    """The trust pulse's ratings of stakeholder groups."""
    return [r for r in rows if r.flow_id == TRUST_FLOW and r.question_key in groups]


def trust_over_time(rows: Iterable[AnswerRow], *, groups: Sequence[str], k: int) -> SuppressedTable:
    """Trust index (mean rating of the groups) by rating group and week."""
    return mean_table(
        trust_rows(rows, groups),
        row_of=group_of,
        column_of=lambda row: shown_week(row).isoformat(),
        k=k,
        rows_order=groups,
    )


def trust_matrix(rows: Iterable[AnswerRow], *, groups: Sequence[str], k: int) -> SuppressedTable:
    """How each group (rows) rates each other group (columns)."""
    return mean_table(
        trust_rows(rows, groups),
        row_of=group_of,
        column_of=lambda row: row.question_key,
        k=k,
        rows_order=groups,
        columns_order=groups,
    )


def objective_progress(
    rows: Iterable[AnswerRow], *, objectives: Sequence[str], groups: Sequence[str], k: int
) -> SuppressedTable:
    """Progress on each objective (rows) by partner group (columns), latest rating per person."""
    progress = [r for r in rows if r.flow_id == PROGRESS_FLOW and r.question_key in objectives]
    return mean_table(
        latest_answers(progress),
        row_of=lambda row: row.question_key,
        column_of=group_of,
        k=k,
        rows_order=objectives,
        columns_order=groups,
    )


@dataclass(frozen=True)
class GroupResponse:
    """One group's responses next to its members; figures hidden by suppression are None."""

    group: str
    members: int
    responses: int | None
    response_share: float | None
    member_share: float
    under_represented: bool


@dataclass(frozen=True)
class ResponseRates:
    """Responses per group against members per group."""

    groups: tuple[GroupResponse, ...]
    total_responses: int | None
    table: SuppressedTable


def response_rates(
    rows: Iterable[AnswerRow], *, members: Mapping[str, int], k: int
) -> ResponseRates:
    """Each group's share of responses against its share of members, under-represented flagged.

    A group's period with fewer than k respondents is left out; shares and flags come from the
    figures shown only, so a hidden group's answering is not given away.
    """
    kept = releasable(
        rows,
        figure_of=group_of,
        period_of=lambda row: row.period,
        respondents=count_respondents,
        k=k,
    )
    by_group: dict[str, list[AnswerRow]] = defaultdict(list)
    for row in kept:
        by_group[group_of(row)].append(row)
    names = list(members) + sorted(g for g in by_group if g not in members)
    cells = {
        (group, "responses"): Cell(
            count_respondents(by_group[group]),
            sum(
                count_responses(r for r in by_group[group] if r.flow_id == flow)
                for flow in {r.flow_id for r in by_group[group]}
            ),
        )
        for group in names
    }
    table = suppress(cells, k=k, margin_respondents={(ALL, ALL): count_respondents(kept)})
    total = table.total()
    total_members = sum(members.values())
    result = []
    for group in names:
        member_share = members.get(group, 0) / total_members if total_members else 0.0
        shown = table.visible(group, "responses")
        share = None
        if shown is not None and total is not None and total.value:
            share = shown.value / total.value
        result.append(
            GroupResponse(
                group=group,
                members=members.get(group, 0),
                responses=None if shown is None else int(shown.value),
                response_share=share,
                member_share=member_share,
                under_represented=share is not None
                and member_share > 0
                and share < UNDER_REPRESENTED * member_share,
            )
        )
    return ResponseRates(tuple(result), None if total is None else int(total.value), table)


ROLE_KINDS = ("lead", "support")
_ROLE_ROW_KEYS = {"lead": "report.roles.lead_row", "support": "report.roles.support_row"}


def role_row(area: str, role: str) -> str:
    """The role map's row for those who lead (or support) an area."""
    return f"{area}:{role}"


def split_role_row(row: str) -> tuple[str, str]:
    """A role map row as (area, role)."""
    area, _, role = row.rpartition(":")
    return area, role


@dataclass(frozen=True)
class RoleMap:
    """Who claims to lead or support which responsibility area, with gaps and overlaps."""

    # (area, lead|support) rows x groups; people counted, row totals are an area's leaders or
    # supporters, column totals a group's people
    table: SuppressedTable
    gaps: tuple[str, ...]  # areas nobody says they lead (none when nobody answered)
    support_only: tuple[str, ...]  # those of the gaps that some say they support
    overlaps: Mapping[str, tuple[str, ...]]  # area -> the groups leading it, when two or more


def role_claims(rows: Iterable[AnswerRow]) -> dict[str, tuple[str, dict[str, str]]]:
    """Each respondent's group and areas (area -> lead or support) from their latest roles run.

    Support is bringing an area without leading it; a lead claim counts as bringing too. Runs
    without a `leads` answer (the first version of the flow asked only `brings`) lead nothing.
    """
    runs: dict[str, dict[str, list[AnswerRow]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        if row.flow_id == ROLES_FLOW and row.question_key in (ROLES_QUESTION, ROLES_LEAD_QUESTION):
            who = row.respondent or row.response or ""
            runs[who][row.response or who].append(row)
    claims: dict[str, tuple[str, dict[str, str]]] = {}
    for who, by_run in runs.items():
        _, latest = max((max(r.created_at for r in found), run) for run, found in by_run.items())
        answers = [r for r in by_run[latest] if not r.skipped and r.choice is not None]
        led = {r.choice for r in answers if r.question_key == ROLES_LEAD_QUESTION}
        areas = dict.fromkeys(r.choice for r in answers if r.choice is not None)
        roles = {area: "lead" if area in led else "support" for area in areas}
        claims[who] = (group_of(by_run[latest][0]), roles)
    return claims


def role_map(
    rows: Iterable[AnswerRow], *, areas: Sequence[str], groups: Sequence[str], k: int
) -> RoleMap:
    """Leaders and supporters of each responsibility area by partner group, each respondent's
    latest roles answers; gaps, support without a lead and overlaps called out.

    A group with fewer than k respondents is left out, like in every other table: even a "–"
    where others show 0 would tell what its one member said.
    """
    claims = role_claims(rows)
    respondents: dict[str, int] = defaultdict(int)
    for group, _ in claims.values():
        respondents[group] += 1
    claimants: dict[Key, set[str]] = defaultdict(set)
    for who, (group, roles) in claims.items():
        if respondents[group] < k:
            continue
        for area, role in roles.items():
            claimants[(role_row(area, role), group)].add(who)
    by_row: dict[str, set[str]] = defaultdict(set)
    by_group: dict[str, set[str]] = defaultdict(set)
    for (row, group), people in claimants.items():
        by_row[row] |= people
        by_group[group] |= people
    rows_order = [role_row(area, role) for area in areas for role in ROLE_KINDS]
    ordered = ordered_cells({key: [] for key in claimants}, rows_order, groups)
    cells = {key: Cell(len(claimants[key]), len(claimants[key])) for key, _ in ordered}
    table = suppress(
        cells,
        k=k,
        order=(rows_order, groups),
        margin_respondents={
            **{(row, ALL): len(people) for row, people in by_row.items()},
            **{(ALL, group): len(people) for group, people in by_group.items()},
            (ALL, ALL): len(set().union(*by_row.values())) if by_row else 0,
        },
    )
    # Whether a group has anyone leading an area is no secret: the chart tells a hidden figure
    # ("–") from nobody (0). How many stays hidden below k.
    leading = {
        area: tuple(g for g in table.columns if (role_row(area, "lead"), g) in cells)
        for area in areas
    }
    gaps = tuple(area for area in areas if cells and not leading[area])
    support_only = tuple(area for area in gaps if role_row(area, "support") in by_row)
    overlaps = {area: found for area, found in leading.items() if len(found) > 1}
    return RoleMap(table, gaps, support_only, overlaps)


def settled_latest(rows: Iterable[AnswerRow], *, now: datetime, k: int) -> list[AnswerRow]:
    """The role and progress rows as of their settled moments (`releases.settled`): the role
    map moves on per group, progress per objective and group, each once at least k people
    changed their latest answer. A facilitator's proxy answers count for nothing and stay."""
    rows = list(rows)
    proxies = [r for r in rows if r.proxy]
    rows = counted(rows)

    def person(row: AnswerRow) -> str:
        return row.respondent or row.response or f"row:{id(row)}"

    def claims(found: Sequence[AnswerRow]) -> tuple[tuple[str, str], ...]:
        said = list(role_claims(found).values())
        return tuple(sorted(said[0][1].items())) if said else ()

    def latest(found: Sequence[AnswerRow]) -> tuple[float | None, bool]:
        last = max(found, key=lambda r: r.created_at)
        return last.number, last.skipped

    roles = settled(
        [r for r in rows if r.flow_id == ROLES_FLOW],
        figure_of=group_of,
        person_of=person,
        when=lambda r: r.created_at,
        state=claims,
        now=now,
        k=k,
    )
    progress = settled(
        [r for r in rows if r.flow_id == PROGRESS_FLOW],
        figure_of=lambda r: (r.question_key, group_of(r)),
        person_of=person,
        when=lambda r: r.created_at,
        state=latest,
        now=now,
        k=k,
    )
    return roles + progress + proxies


def proxy_responses(rows: Iterable[AnswerRow]) -> int:
    """Responses a facilitator recorded for someone without a phone."""
    return count_responses(r for r in rows if r.proxy)


# ------------------------------------------------------------------------------ chart data

ChartKind = Literal["line", "heatmap", "bars"]


@dataclass(frozen=True)
class Series:
    """One line, one row of a heatmap or one set of bars; None where a figure is hidden."""

    label: str
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class ChartData:
    """Everything a chart shows, already in words: rendering adds nothing but drawing."""

    kind: ChartKind
    title: str
    x_labels: tuple[str, ...]
    series: tuple[Series, ...]
    y_label: str = ""
    note: str = ""
    y_range: tuple[float, float] | None = None
    marked: tuple[str, ...] = ()  # x labels to flag (under-represented groups)
    # A heatmap's words in each cell (row by row) instead of its figure (the alignment matrix).
    cell_texts: tuple[tuple[str, ...], ...] = ()


def _series(
    table: SuppressedTable,
    label: Callable[[str], str],
    columns: Sequence[str],
    *,
    absent: float | None = None,
) -> tuple[Series, ...]:
    """Each row of the table as a series; `absent` stands for a cell nobody is counted in."""

    def value(row: str, column: str) -> float | None:
        if (row, column) not in table.figures:
            return absent
        cell = table.visible(row, column)
        return None if cell is None else round(cell.value, 2)

    return tuple(
        Series(label(row), tuple(value(row, column) for column in columns)) for row in table.rows
    )


def group_label(words: Words, group: str) -> str:
    """A stakeholder group's name."""
    return words("report.group.unknown") if group == NO_GROUP else words(f"group.{group}")


def _note(words: Words, *, k: int, proxies: int, hidden: bool) -> str:
    parts = [words("report.note.hidden", k=k)] if hidden else []
    parts.append(proxy_text(words, proxies, k=k))
    return " ".join(parts)


def proxy_text(words: Words, proxies: int, *, k: int) -> str:
    """The count of proxy responses, itself given as 'fewer than k' when small."""
    if proxies == 0:
        return words("report.proxy.none")
    if proxies < k:
        return words("report.proxy.few", k=k)
    return words("report.proxy.count", count=proxies)


def trust_over_time_chart(
    table: SuppressedTable, words: Words, *, k: int, proxies: int
) -> ChartData:
    """Lines of trust by rating group across weeks."""
    columns = sorted(table.columns)
    return ChartData(
        kind="line",
        title=words("report.trust_time.title"),
        x_labels=tuple(columns),
        series=_series(table, lambda g: group_label(words, g), columns),
        y_label=words("report.trust.axis"),
        note=_note(words, k=k, proxies=proxies, hidden=bool(table.hidden)),
        y_range=(1.0, 5.0),
    )


def trust_matrix_chart(table: SuppressedTable, words: Words, *, k: int, proxies: int) -> ChartData:
    """A heatmap of how each group (rows) rates each other (columns)."""
    return ChartData(
        kind="heatmap",
        title=words("report.trust_matrix.title"),
        x_labels=tuple(group_label(words, g) for g in table.columns),
        series=_series(table, lambda g: group_label(words, g), table.columns),
        y_label=words("report.trust_matrix.axis"),
        note=_note(words, k=k, proxies=proxies, hidden=bool(table.hidden)),
        y_range=(1.0, 5.0),
    )


def response_chart(rates: ResponseRates, words: Words, *, k: int, proxies: int) -> ChartData:
    """Bars of each group's share of responses next to its share of members, in percent."""
    labels = tuple(group_label(words, g.group) for g in rates.groups)
    return ChartData(
        kind="bars",
        title=words("report.response.title"),
        x_labels=labels,
        series=(
            Series(
                words("report.response.share_responses"),
                tuple(
                    None if g.response_share is None else round(100 * g.response_share, 1)
                    for g in rates.groups
                ),
            ),
            Series(
                words("report.response.share_members"),
                tuple(round(100 * g.member_share, 1) for g in rates.groups),
            ),
        ),
        y_label=words("report.response.axis"),
        note=_note(words, k=k, proxies=proxies, hidden=bool(rates.table.hidden)),
        marked=tuple(
            label for label, g in zip(labels, rates.groups, strict=True) if g.under_represented
        ),
    )


def role_row_label(words: Words, row: str) -> str:
    """A role map row in words: the area, and whether its leaders or its supporters."""
    area, role = split_role_row(row)
    return words(_ROLE_ROW_KEYS[role], area=words(f"roles.brings.{area}"))


def role_chart(roles: RoleMap, words: Words, *, k: int, proxies: int) -> ChartData:
    """A grid of leaders and supporters (rows: each area's two) by partner group (columns)."""
    return ChartData(
        kind="heatmap",
        title=words("report.roles.title"),
        x_labels=tuple(group_label(words, g) for g in roles.table.columns),
        series=_series(
            roles.table, lambda row: role_row_label(words, row), roles.table.columns, absent=0.0
        ),
        y_label=words("report.roles.axis"),
        note=_note(words, k=k, proxies=proxies, hidden=bool(roles.table.hidden)),
    )


def progress_chart(table: SuppressedTable, words: Words, *, k: int, proxies: int) -> ChartData:
    """A heatmap of progress (1-5) by objective (rows) and partner group (columns)."""
    return ChartData(
        kind="heatmap",
        title=words("report.progress.title"),
        x_labels=tuple(group_label(words, g) for g in table.columns),
        series=_series(table, lambda o: words(f"report.objective.{o}"), table.columns),
        y_label=words("report.progress.axis"),
        note=_note(words, k=k, proxies=proxies, hidden=bool(table.hidden)),
        y_range=(1.0, 5.0),
    )
