"""What a caucus round's results, brief and joint brief say (HTML), from a k-anonymous
`Summary`: hidden figures are said to be hidden, never shown."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from bot.domain.caucus import Summary
from bot.i18n import Translator

JOINT_QUOTES = 3  # a group's most pressing consented words in the joint brief


def figure_lines(summary: Summary, t: Translator) -> list[str]:
    """Each kind's count and mean priority, or why nothing is shown."""
    if summary.withheld:
        return [t("caucus.results.withheld", k=summary.k)]
    lines = []
    for figures in (*summary.kinds, summary.total):
        kind = t(f"caucus.kind.{'all' if figures is summary.total else figures.kind}")
        if figures.count is None:
            lines.append(t("caucus.results.kind_hidden", kind=kind, k=summary.k))
        elif figures.count == 0 or figures.priority is None:
            lines.append(t("caucus.results.kind_count", kind=kind, count=figures.count))
        else:
            priority = f"{figures.priority:.1f}"
            lines.append(
                t("caucus.results.kind", kind=kind, count=figures.count, priority=priority)
            )
    return lines


def quote_lines(summary: Summary, t: Translator, limit: int | None = None) -> list[str]:
    """The consented words, most pressing first (none below k people)."""
    quotes = summary.quotes if limit is None else summary.quotes[:limit]
    return [
        t(
            "caucus.results.quote",
            text=html.escape(q.text),
            kind=t(f"caucus.kind.{q.kind}"),
            priority=q.priority,
        )
        for q in quotes
    ]


def _count(value: int | None, t: Translator, k: int) -> str:
    return t("caucus.hidden", k=k) if value is None else str(value)


def results_text(summary: Summary, t: Translator, params: Mapping[str, Any]) -> str:
    """What the group itself sees first, before anyone else."""
    lines = [t("caucus.results.header", people=summary.respondents, **params)]
    lines += figure_lines(summary, t)
    quotes = quote_lines(summary, t)
    if quotes:
        lines += ["", t("caucus.results.quotes_header"), *quotes]
    lines += ["", t("caucus.results.react", **params)]
    return "\n".join(lines)


def brief_text(summary: Summary, t: Translator, params: Mapping[str, Any]) -> str:
    """The consolidated brief the committee receives when the round closes."""
    lines = [t("caucus.brief.header", people=summary.respondents, **params)]
    lines += figure_lines(summary, t)
    if not summary.withheld:
        reactions = summary.reactions
        lines.append(
            t(
                "caucus.brief.reactions",
                agree=_count(reactions.get("agree"), t, summary.k),
                disagree=_count(reactions.get("disagree"), t, summary.k),
            )
        )
    quotes = quote_lines(summary, t)
    lines += ["", *(quotes and [t("caucus.brief.quotes_header"), *quotes])]
    if not quotes:
        lines.append(t("caucus.brief.no_quotes"))
    return "\n".join(lines)


def joint_text(
    parts: Sequence[tuple[Summary, Mapping[str, Any]]], t: Translator, *, committee: str
) -> str:
    """Several groups' rounds side by side, for one joint meeting."""
    lines = [t("caucus.joint.header", committee=html.escape(committee), count=len(parts))]
    for summary, params in parts:
        lines += ["", t("caucus.joint.group", people=summary.respondents, **params)]
        lines += figure_lines(summary, t)
        lines += quote_lines(summary, t, JOINT_QUOTES)
    return "\n".join(lines)
