"""The trust matrix: how each group rates each other group."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.figures import AnswerRow
from bot.domain.report_kinds import Context, Figures, Kind, report
from bot.domain.reports import TRUST_FLOW, trust_matrix, trust_matrix_chart


@report
class Matrix(Kind):
    kind, order = "matrix", 20
    reads = (TRUST_FLOW,)

    def figures(self, rows: Sequence[AnswerRow], ctx: Context) -> Figures:
        table = trust_matrix(rows, groups=ctx.groups, k=ctx.k)
        chart = trust_matrix_chart(table, ctx.words, k=ctx.k, proxies=ctx.proxies)
        return Figures(table, chart, ctx.group, ctx.group, digits=2)
