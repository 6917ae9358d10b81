"""Ties to parent organisations: the "marginalised" trend by group, then each measure."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.figures import AnswerRow
from bot.domain.parent_ties import ALERT_MEASURE, PARENT_FLOW, trend_chart, trends
from bot.domain.report_kinds import Context, Figures, Kind, report, table_lines


@report
class Parent(Kind):
    kind, order = "parent", 60
    reads = (PARENT_FLOW,)

    def figures(self, rows: Sequence[AnswerRow], ctx: Context) -> Figures:
        tables = trends(rows, groups=ctx.groups, k=ctx.k)
        table = tables[ALERT_MEASURE]
        chart = trend_chart(table, ctx.words, k=ctx.k)
        lines = tuple(
            line
            for measure, found in tables.items()
            for line in (
                ctx.words(f"parent.measure.{measure}"),
                *table_lines(found, ctx.group, str, digits=1),
            )
        )
        return Figures(table, chart, ctx.group, str, digits=1, lines=lines)
