"""Coordinators' reports: k-anonymous figures from the answers, as PNG charts with a short text
(in chat) or tables (on the command line)."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import bot.domain.report_kinds as report_kinds
from bot.domain.answering import Invited
from bot.domain.clock import Clock, SystemClock
from bot.domain.figures import AnswerRow, counted, in_periods
from bot.domain.flows import FlowRegistry
from bot.domain.objectives import StatedObjective
from bot.domain.releases import Periods, round_since
from bot.domain.report_kinds import REPORTS, Context, table_lines
from bot.domain.reports import (
    PROGRESS_FLOW,
    ChartData,
    Words,
    proxy_responses,
    proxy_text,
    settled_latest,
)
from bot.services.charts import render_png
from bot.services.registries import import_package
from bot.storage.db import SessionFactory
from bot.storage.objectives import list_objectives, list_rating_rows
from bot.storage.reports import (
    count_invited_by_group,
    count_members_by_group,
    list_answer_rows,
    list_pulse_windows,
)

# Every module of bot/domain/report_kinds registers its report on import.
import_package(report_kinds)
KINDS = report_kinds.kinds()


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
        self.use(flows)

    def use(self, flows: FlowRegistry, catalogs: object = None) -> None:
        """Read the flows (again, after a reload): which flows and groups the reports cover."""
        self.flows = flows
        self.groups = flows.options_for("stakeholder_group")

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
        reports = [REPORTS[kind] for kind in kinds]
        flow_ids = sorted({flow for r in reports for flow in r.flows(self.flows)})
        asked, since = since, None if since is None else round_since(since)
        async with reads() as session:
            windows = await list_pulse_windows(session, flow_ids=flow_ids)
            rows = await list_answer_rows(session, flow_ids=flow_ids, since=since)
            counts = any(r.members for r in reports)
            members = await count_members_by_group(session) if counts else {}
            asks = sorted({f for r in reports if r.invited for f in r.flows(self.flows)})
            invited = (
                await count_invited_by_group(
                    session, flow_ids=asks, since=since, closed_by=self.clock.now()
                )
                if asks
                else {}
            )
            if PROGRESS_FLOW in flow_ids:  # ratings tied to objectives (bot/domain/objectives.py)
                rows += await list_rating_rows(session, since=since)
            stated = await list_objectives(session) if any(r.objectives for r in reports) else []
        periods = {flow: Periods(windows.get(flow, ())) for flow in flow_ids}
        closed, latest = await asyncio.to_thread(
            _published, rows, periods, now=self.clock.now(), k=self.k
        )
        # Figures and drawing take a moment per report: off the event loop, one per call.
        return [
            await asyncio.to_thread(
                self.part,
                r.kind,
                latest if r.latest else closed,
                members=members,
                since=since,
                asked=asked,
                words=words,
                invited=invited,
                objectives=stated,
            )
            for r in reports
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
        found = REPORTS.get(kind)
        if found is None:
            raise ValueError(f"unknown report {kind!r}")
        flows = set(found.flows(self.flows))
        used = [r for r in rows if r.flow_id in flows]
        proxies = proxy_responses(used)
        ctx = Context(
            self.k, self.groups, self.flows, members, proxies, words, invited or {}, objectives
        )
        figures = found.figures(counted(used), ctx)
        table, chart, k = figures.table, figures.chart, self.k
        if figures.lines is None:
            lines = table_lines(table, figures.rows, figures.columns, digits=figures.digits)
        else:
            lines = list(figures.lines)
        lines += figures.more
        empty = [words("report.empty")] if not table.figures else []
        extra = [*empty, *figures.extra, *figures.more]
        text = "\n".join(
            [
                f"<b>{html.escape(chart.title)}</b>",
                self._period_words(words, since, asked),
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


def _published(
    rows: Sequence[AnswerRow], periods: dict[str, Periods], *, now: datetime, k: int
) -> tuple[list[AnswerRow], list[AnswerRow]]:
    """The rows of closed periods, with the period and week of their flow's check-ins; and the
    rows the role map and progress read as of their settled moments (for a worker thread)."""
    closed = in_periods(rows, lambda row: periods[row.flow_id], closed_by=now)
    return closed, settled_latest(rows, now=now, k=k)
