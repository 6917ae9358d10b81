"""Box 6.25 with the partnership's own data: for each kind of objective, the competencies each
sector says it brings (roles flow) and whether they are used (progress ratings)."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.figures import AnswerRow
from bot.domain.objective_reports import alignment_part
from bot.domain.report_kinds import Context, Figures, Kind, options, report
from bot.domain.reports import PROGRESS_FLOW, ROLES_FLOW, ROLES_QUESTION


@report
class Alignment(Kind):
    kind, order = "alignment", 70
    latest = True
    objectives = True
    reads = (ROLES_FLOW, PROGRESS_FLOW)

    def figures(self, rows: Sequence[AnswerRow], ctx: Context) -> Figures:
        made = alignment_part(
            rows,
            objectives=ctx.objectives,
            groups=ctx.groups,
            areas=options(ctx.flows, ROLES_FLOW, ROLES_QUESTION),
            k=ctx.k,
            words=ctx.words,
        )
        return Figures(
            made.table, made.chart, ctx.group, str, 0, extra=made.extra, lines=made.lines
        )
