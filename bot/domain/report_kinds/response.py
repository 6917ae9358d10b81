"""Response rates: each group's share of responses against its share of members, and the
check-ins answered of those sent."""

from __future__ import annotations

from collections.abc import Sequence

from bot.domain.answering import Answering, answered_of_invited
from bot.domain.figures import AnswerRow
from bot.domain.flows import FlowRegistry
from bot.domain.report_kinds import Context, Figures, Kind, report
from bot.domain.reports import HIDDEN_MARK, NOT_RESPONSES, response_chart, response_rates


@report
class Response(Kind):
    kind, order = "response", 30
    members = True
    invited = True

    def flows(self, flows: FlowRegistry) -> list[str]:
        return [f for f in flows.flows if f not in NOT_RESPONSES]

    def figures(self, rows: Sequence[AnswerRow], ctx: Context) -> Figures:
        words = ctx.words
        rates = response_rates(rows, members=ctx.members, k=ctx.k)
        chart = response_chart(rates, words, k=ctx.k, proxies=ctx.proxies)
        under = [ctx.group(g.group) for g in rates.groups if g.under_represented]
        extra = (words("report.response.under", groups=", ".join(under)),) if under else ()
        count = words("report.response.count")
        answering = answered_of_invited(ctx.invited, k=ctx.k, order=ctx.groups)
        more = tuple(answering_lines(answering, ctx)) if answering else ()
        return Figures(
            rates.table, chart, ctx.group, lambda _: count, digits=0, extra=extra, more=more
        )


def answering_lines(answering: Sequence[Answering], ctx: Context) -> list[str]:
    """Answered of invited: a heading, then each group's and the total's check-ins finished of
    those sent (a dash when hidden)."""
    words = ctx.words
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
        group = ctx.group(found.group)
        lines.append(words("report.response.group_figure", group=group, figure=shown))
    return lines
