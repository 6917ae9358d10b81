"""Coordinators' reports: k-anonymous figures from the answers, as PNG charts with a short text
(in chat) or tables (on the command line)."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from bot.domain.anonymity import ALL, SuppressedTable
from bot.domain.answering import Answering, Invited, answered_of_invited
from bot.domain.clock import Clock, SystemClock
from bot.domain.figures import AnswerRow, counted, in_periods
from bot.domain.flows import AskNode, FlowRegistry
from bot.domain.objectives import StatedObjective
from bot.domain.parent_ties import ALERT_MEASURE, PARENT_FLOW
from bot.domain.parent_ties import trend_chart as parent_trend_chart
from bot.domain.parent_ties import trends as parent_trends
from bot.domain.releases import Periods, round_since
from bot.domain.reports import (
    NOT_RESPONSES,
    PROGRESS_FLOW,
    ROLES_FLOW,
    ROLES_QUESTION,
    TRUST_FLOW,
    ChartData,
    Words,
    group_label,
    proxy_responses,
    proxy_text,
    response_chart,
    response_rates,
    role_chart,
    role_map,
    role_row_label,
    settled_latest,
    trust_matrix,
    trust_matrix_chart,
    trust_over_time,
    trust_over_time_chart,
)
from bot.services.charts import HIDDEN_MARK, render_png
from bot.services.objective_reports import OBJECTIVE_KINDS, objective_part
from bot.storage.db import SessionFactory
from bot.storage.objectives import list_objectives, list_rating_rows
from bot.storage.reports import (
    count_invited_by_group,
    count_members_by_group,
    list_answer_rows,
    list_pulse_windows,
)

KINDS = ("trust", "matrix", "response", "roles", "progress", "parent", "alignment")
# Figures of each person's latest answer, read as of a settled moment rather than by period.
LATEST_KINDS = frozenset({"roles", "alignment"})


@dataclass(frozen=True)
class ReportPart:
    """One report: its chart (data and PNG), a short HTML text and the table as plain lines."""

    kind: str
    chart: ChartData
    png: bytes
    text: str
    lines: tuple[str, ...]


def parse_since(value: str) -> datetime:
    """A `YYYY-MM-DD` day as the UTC moment it starts; ValueError otherwise."""
    return datetime.combine(date.fromisoformat(value), time(0, 0), tzinfo=UTC)


class Reports:
    """Builds the reports; what counts as a trust rating, a role or an objective comes from the
    flows."""

    def __init__(self, *, flows: FlowRegistry, min_group: int, clock: Clock | None = None) -> None:
        self.k = min_group
        self.clock = clock or SystemClock()
        self.groups = flows.options_for("stakeholder_group")
        self.areas = _options(flows, ROLES_FLOW, ROLES_QUESTION)
        self.response_flows = [f for f in flows.flows if f not in NOT_RESPONSES]

    async def build(
        self,
        reads: SessionFactory,
        *,
        kinds: Sequence[str] = KINDS,
        since: datetime | None,
        words: Words,
    ) -> list[ReportPart]:
        """The asked-for reports over the answers given since `since` (all when None), which
        is rounded down to the start of its week: every report reads whole, closed periods, and
        the role map and progress their settled moments (`bot.domain.releases`). Read in one
        snapshot of `reads` (sessions that take no write lock), then computed and drawn."""
        flows = {
            "trust": [TRUST_FLOW],
            "matrix": [TRUST_FLOW],
            "response": self.response_flows,
            "roles": [ROLES_FLOW],
            "progress": [PROGRESS_FLOW],
            "parent": [PARENT_FLOW],
            "alignment": [ROLES_FLOW, PROGRESS_FLOW],
        }
        flow_ids = sorted({flow for kind in kinds for flow in flows[kind]})
        asked, since = since, None if since is None else round_since(since)
        async with reads() as session:
            windows = await list_pulse_windows(session, flow_ids=flow_ids)
            rows = await list_answer_rows(session, flow_ids=flow_ids, since=since)
            members = await count_members_by_group(session) if "response" in kinds else {}
            invited = (
                await count_invited_by_group(
                    session, flow_ids=self.response_flows, since=since, closed_by=self.clock.now()
                )
                if "response" in kinds
                else {}
            )
            if PROGRESS_FLOW in flow_ids:  # ratings tied to objectives (bot/domain/objectives.py)
                rows += await list_rating_rows(session, since=since)
            objectives = await list_objectives(session) if "alignment" in kinds else []
        periods = {flow: Periods(windows.get(flow, ())) for flow in flow_ids}
        closed, latest = await asyncio.to_thread(
            _published, rows, periods, now=self.clock.now(), k=self.k
        )
        # Figures and drawing take a moment per report: off the event loop, one per call.
        return [
            await asyncio.to_thread(
                self.part,
                kind,
                latest if kind in LATEST_KINDS else closed,
                members=members,
                since=since,
                asked=asked,
                words=words,
                invited=invited,
                objectives=objectives,
            )
            for kind in kinds
        ]

    def part(
        self,
        kind: str,
        rows: Sequence[AnswerRow],
        *,
        members: dict[str, int],
        since: datetime | None,
        words: Words,
        asked: datetime | None = None,
        invited: Mapping[str, Sequence[Invited]] | None = None,
        objectives: Sequence[StatedObjective] = (),
    ) -> ReportPart:
        """One report from plain rows (pure apart from drawing); `since` starts a period."""
        k = self.k
        flow = {
            "trust": TRUST_FLOW,
            "matrix": TRUST_FLOW,
            "roles": ROLES_FLOW,
            "progress": PROGRESS_FLOW,
            "parent": PARENT_FLOW,
        }.get(kind)
        if kind == "alignment":
            used = [r for r in rows if r.flow_id in (ROLES_FLOW, PROGRESS_FLOW)]
        elif flow is None:
            used = [r for r in rows if r.flow_id in self.response_flows]
        else:
            used = [r for r in rows if r.flow_id == flow]
        proxies = proxy_responses(used)
        used = counted(used)
        period = self._period_words(words, since, asked)
        extra: list[str] = []
        group = self._group_words(words)
        if kind == "trust":
            table = trust_over_time(used, groups=self.groups, k=k)
            chart = trust_over_time_chart(table, words, k=k, proxies=proxies)
            lines = table_lines(table, group, lambda c: c, digits=2)
        elif kind == "matrix":
            table = trust_matrix(used, groups=self.groups, k=k)
            chart = trust_matrix_chart(table, words, k=k, proxies=proxies)
            lines = table_lines(table, group, group, digits=2)
        elif kind == "response":
            rates = response_rates(used, members=members, k=k)
            chart = response_chart(rates, words, k=k, proxies=proxies)
            table = rates.table
            lines = table_lines(table, group, lambda _: words("report.response.count"), digits=0)
            under = [group(g.group) for g in rates.groups if g.under_represented]
            if under:
                extra.append(words("report.response.under", groups=", ".join(under)))
            answering = answered_of_invited(invited or {}, k=k, order=self.groups)
            if answering:
                said = answering_lines(answering, words, group)
                extra.extend(said)
                lines = [*lines, *said]
        elif kind == "roles":
            roles = role_map(used, areas=self.areas, groups=self.groups, k=k)
            chart = role_chart(roles, words, k=k, proxies=proxies)
            table = roles.table
            row = self._role_row_words(words)
            lines = table_lines(table, row, group, digits=0)
            area = self._area_words(words)
            if roles.gaps:
                gaps = ", ".join(area(a) for a in roles.gaps)
                extra.append(words("report.roles.gaps", areas=gaps))
            if roles.support_only:
                supported = ", ".join(area(a) for a in roles.support_only)
                extra.append(words("report.roles.support_only", areas=supported))
            for name, found in roles.overlaps.items():
                names = ", ".join(group(g) for g in found)
                extra.append(words("report.roles.overlap", area=area(name), groups=names))
        elif kind in OBJECTIVE_KINDS:
            made = objective_part(
                kind,
                used,
                objectives=objectives,
                groups=self.groups,
                areas=self.areas,
                k=k,
                words=words,
            )
            chart, table, lines = made.chart, made.table, list(made.lines)
            extra += made.extra
        elif kind == "parent":  # ties to parent organisations: "marginalised", then each measure
            tables = parent_trends(used, groups=self.groups, k=k)
            table = tables[ALERT_MEASURE]
            chart = parent_trend_chart(table, words, k=k)
            lines = [
                line
                for measure, found in tables.items()
                for line in (
                    words(f"parent.measure.{measure}"),
                    *table_lines(found, group, str, digits=1),
                )
            ]
        else:
            raise ValueError(f"unknown report {kind!r}")
        if not table.figures:
            extra.insert(0, words("report.empty"))
        text = "\n".join(
            [
                f"<b>{html.escape(chart.title)}</b>",
                period,
                words("report.periods", k=k),
                *extra,
                *([words("report.note.hidden", k=k)] if table.hidden else []),
                proxy_text(words, proxies, k=k),
            ]
        )
        return ReportPart(kind, chart, render_png(chart), text, (chart.title, *lines))

    def _period_words(self, words: Words, since: datetime | None, asked: datetime | None) -> str:
        if since is None:
            return words("report.ever")
        day = since.date().isoformat()
        if asked is None or asked.date() == since.date():
            return words("report.since", day=day)
        return words("report.since_week", day=day, asked=asked.date().isoformat())

    def _group_words(self, words: Words) -> Callable[[str], str]:
        return lambda g: words("report.total") if g == ALL else group_label(words, g)

    def _area_words(self, words: Words) -> Callable[[str], str]:
        return lambda a: words(f"roles.brings.{a}")

    def _role_row_words(self, words: Words) -> Callable[[str], str]:
        return lambda r: words("report.total") if r == ALL else role_row_label(words, r)


def answering_lines(
    answering: Sequence[Answering], words: Words, group: Callable[[str], str]
) -> list[str]:
    """Answered of invited: a heading, then each group's and the total's check-ins finished of
    those sent (a dash when hidden)."""
    lines = [words("report.response.answering")]
    for found in answering:
        rate = found.rate
        if found.finished is None or found.sent is None or rate is None:
            shown = HIDDEN_MARK
        else:
            shown = words(
                "report.response.answered_of",
                finished=found.finished,
                sent=found.sent,
                percent=round(100 * rate),
            )
        lines.append(words("report.response.group_figure", group=group(found.group), figure=shown))
    return lines


def table_lines(
    table: SuppressedTable,
    row_label: Callable[[str], str],
    column_label: Callable[[str], str],
    *,
    digits: int,
) -> list[str]:
    """A suppressed table with its margins as aligned text; hidden figures show a dash."""

    def shown(key: tuple[str, str]) -> str:
        if key not in table.figures:
            return ""
        cell = table.visible(*key)
        return HIDDEN_MARK if cell is None else f"{cell.value:.{digits}f}"

    if not table.figures:
        return []
    columns = list(table.columns)
    two_d = len(table.rows) > 1 and len(columns) > 1
    margin = [ALL] if two_d else []
    lines = [["", *(column_label(c) for c in columns), *(row_label(ALL) for _ in margin)]]
    for row in table.rows:
        lines.append([row_label(row), *(shown((row, c)) for c in [*columns, *margin])])
    if two_d:
        lines.append([row_label(ALL), *(shown((ALL, c)) for c in [*columns, ALL])])
    else:
        lines.append([row_label(ALL), shown((ALL, ALL)), *("" for _ in columns[1:])])
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    return [
        "  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip() for line in lines
    ]


def _published(
    rows: Sequence[AnswerRow], periods: dict[str, Periods], *, now: datetime, k: int
) -> tuple[list[AnswerRow], list[AnswerRow]]:
    """The rows of closed periods, with the period and week of their flow's check-ins; and the
    rows the role map and progress read as of their settled moments (for a worker thread)."""
    closed = in_periods(rows, lambda row: periods[row.flow_id], closed_by=now)
    return closed, settled_latest(rows, now=now, k=k)


def _options(flows: FlowRegistry, flow_id: str, question: str) -> tuple[str, ...]:
    flow = flows.flows.get(flow_id)
    node = flow.nodes.get(question) if flow else None
    return tuple(o.value for o in node.options) if isinstance(node, AskNode) else ()
