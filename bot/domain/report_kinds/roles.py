"""The role map: who says they lead or support which responsibility area, with gaps and
overlaps."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.figures import AnswerRow
from bot.domain.report_kinds import Context, Figures, Kind, options, report
from bot.domain.reports import ROLES_FLOW, ROLES_QUESTION, role_chart, role_map, role_row_label


@report
class Roles(Kind):
    kind, order = "roles", 40
    latest = True
    reads = (ROLES_FLOW,)

    def figures(self, rows: Sequence[AnswerRow], ctx: Context) -> Figures:
        words, group = ctx.words, ctx.group
        areas = options(ctx.flows, ROLES_FLOW, ROLES_QUESTION)
        roles = role_map(rows, areas=areas, groups=ctx.groups, k=ctx.k)
        chart = role_chart(roles, words, k=ctx.k, proxies=ctx.proxies)

        def area(name: str) -> str:
            return words(f"roles.brings.{name}")

        extra = []
        if roles.gaps:
            extra.append(words("report.roles.gaps", areas=", ".join(map(area, roles.gaps))))
        if roles.support_only:
            supported = ", ".join(map(area, roles.support_only))
            extra.append(words("report.roles.support_only", areas=supported))
        for name, found in roles.overlaps.items():
            names = ", ".join(group(g) for g in found)
            extra.append(words("report.roles.overlap", area=area(name), groups=names))
        row = ctx.total_or(lambda r: role_row_label(words, r))
        return Figures(roles.table, chart, row, group, digits=0, extra=tuple(extra))
