"""What members and coordinators read of a decision: its options, tally, result and the log."""

from __future__ import annotations

import html
from collections.abc import Mapping
from datetime import datetime

from bot.domain import decisions as rules
from bot.domain.decisions import Tally
from bot.i18n import Translator
from bot.storage.decision_models import Decision

DAY = "%Y-%m-%d"


def option_labels(decision: Decision, t: Translator) -> list[str]:
    """The options as the reader reads them (the coordinator's own, as typed)."""
    if decision.custom:
        return [html.escape(o) for o in decision.options]
    return [t(f"decisions.option.{o}") for o in decision.options]


def tally_of(decision: Decision, counts: Mapping[int, int]) -> Tally:
    return Tally(counts=dict(counts), asked=decision.asked)


def result_text(decision: Decision, result: str, t: Translator) -> str:
    if result.isdigit():
        return option_labels(decision, t)[int(result)]
    return t(f"decisions.result.{result}")


def tally_text(decision: Decision, counts: Mapping[int, int], t: Translator, *, k: int) -> str:
    """The totals, or why they are not shown (the k rule, `rules.shown`)."""
    tally = tally_of(decision, counts)
    closed = decision.status != "open"
    seen = rules.shown(tally, anonymous=decision.anonymous, closed=closed, k=k)
    if seen == "hidden":
        return t("decisions.tally.hidden", k=k)
    if seen == "outcome_only":
        return t("decisions.tally.outcome_only", k=k, asked=decision.asked)
    parts = [
        f"{label} {tally.counts.get(i, 0)}" for i, label in enumerate(option_labels(decision, t))
    ]
    return t(
        "decisions.tally.totals", totals=" · ".join(parts), voted=tally.voters, asked=tally.asked
    )


def proposal_text(decision: Decision, t: Translator, closes: str) -> str:
    how = t("decisions.anonymous" if decision.anonymous else "decisions.named")
    return t(
        "decisions.ask",
        id=decision.id,
        question=html.escape(decision.question),
        closes=closes,
        how=how,
    )


def outcome_text(decision: Decision, counts: Mapping[int, int], t: Translator, *, k: int) -> str:
    """The outcome as everyone asked, the group and the log read it."""
    decided = decision.decided_at or decision.closed_at or decision.opened_at
    return t(
        "decisions.outcome",
        id=decision.id,
        day=day(decided),
        question=html.escape(decision.question),
        result=result_text(decision, decision.result or "none", t),
        tally=tally_text(decision, counts, t, k=k),
        statement=html.escape(decision.statement or ""),
    )


def log_line(decision: Decision, t: Translator) -> str:
    """One decided line of /decisions: date, question, result and statement."""
    return t(
        "decisions.log.line",
        id=decision.id,
        day=day(decision.decided_at or decision.opened_at),
        question=html.escape(decision.question),
        result=result_text(decision, decision.result or "none", t),
        statement=html.escape(decision.statement or ""),
    )


def link_text(decision: Decision, t: Translator) -> str:
    """How a ticket answer names a decision: "decided on 12 March: …"."""
    return t(
        "decisions.link",
        day=day(decision.decided_at or decision.opened_at),
        question=decision.question,
        result=result_text(decision, decision.result or "none", t),
        statement=decision.statement or "",
    )


def day(moment: datetime) -> str:
    return moment.strftime(DAY)
