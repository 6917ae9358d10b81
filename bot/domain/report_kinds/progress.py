"""Progress on the objectives, by partner group: each person's latest rating."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.figures import AnswerRow
from bot.domain.report_kinds import Context, Figures, Kind, report, scale_questions
from bot.domain.reports import PROGRESS_FLOW, objective_progress, progress_chart


@report
class Progress(Kind):
    kind, order = "progress", 50
    latest = True
    reads = (PROGRESS_FLOW,)

    def figures(self, rows: Sequence[AnswerRow], ctx: Context) -> Figures:
        objectives = scale_questions(ctx.flows, PROGRESS_FLOW)
        table = objective_progress(rows, objectives=objectives, groups=ctx.groups, k=ctx.k)
        chart = progress_chart(table, ctx.words, k=ctx.k, proxies=ctx.proxies)
        objective = ctx.total_or(lambda o: ctx.words(f"report.objective.{o}"))
        return Figures(table, chart, objective, ctx.group, digits=2)
