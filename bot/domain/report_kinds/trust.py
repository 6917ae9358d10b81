"""Trust over time: the trust index by rating group and week."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.figures import AnswerRow
from bot.domain.report_kinds import Context, Figures, Kind, report
from bot.domain.reports import TRUST_FLOW, trust_over_time, trust_over_time_chart


@report
class Trust(Kind):
    kind, order = "trust", 10
    reads = (TRUST_FLOW,)

    def figures(self, rows: Sequence[AnswerRow], ctx: Context) -> Figures:
        table = trust_over_time(rows, groups=ctx.groups, k=ctx.k)
        chart = trust_over_time_chart(table, ctx.words, k=ctx.k, proxies=ctx.proxies)
        return Figures(table, chart, ctx.group, lambda week: week, digits=2)
