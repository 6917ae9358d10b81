"""Progress towards each partner's own targets, per partner group and overall, period by
period, with the trend (ratings tied to the objectives partners stated)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.figures import AnswerRow
from bot.domain.objective_reports import progress_part
from bot.domain.report_kinds import Context, Figures, Kind, report
from bot.domain.reports import PROGRESS_FLOW


@report
class Progress(Kind):
    kind, order = "progress", 50
    reads = (PROGRESS_FLOW,)

    def figures(self, rows: Sequence[AnswerRow], ctx: Context) -> Figures:
        made = progress_part(rows, groups=ctx.groups, k=ctx.k, words=ctx.words)
        return Figures(
            made.table, made.chart, ctx.group, str, 0, extra=made.extra, lines=made.lines
        )
