"""Decisions: a proposal put to a committee or an audience, its votes and its outcome.

Pure rules: the options (agree / abstain / disagree / block, or the coordinator's own), when
the one reminder is due, what a tally may show under the k rule, the result, and the
`#D<id>` references a coordinator's text may carry to link a decision.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

DEFAULT_OPTIONS = ("agree", "abstain", "disagree", "block")
MAX_OPTIONS = 10  # Telegram allows 12 poll options; ten buttons fit a phone
MAX_OPTION = 100  # a poll option's length in Telegram
MAX_QUESTION = 300  # a poll question's length in Telegram
VOTE_PREFIX = "dv"  # dv:<decision id>:<option index>, bot.telegram.callbacks.DecisionVote
REMIND_BEFORE = timedelta(days=1)
_REF = re.compile(r"#D(\d+)\b", re.IGNORECASE)

Shown = Literal["totals", "hidden", "outcome_only"]
Cast = tuple[int, int]  # an anonymous vote: (revision, option index)


class DecisionError(ValueError):
    """A proposal that cannot be made, voted on or closed as asked (`code` names why)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def custom_options(text: str) -> tuple[str, ...]:
    """A coordinator's own options, one a line (or separated by `;`)."""
    parts = [p.strip() for p in re.split(r"[\n;]", text)]
    options = tuple(dict.fromkeys(p for p in parts if p))
    if not 2 <= len(options) <= MAX_OPTIONS:
        raise DecisionError("options_count")
    if any(len(o) > MAX_OPTION for o in options):
        raise DecisionError("option_too_long")
    return options


def clean_question(text: str) -> str:
    question = " ".join(text.split())
    if not question:
        raise DecisionError("question_blank")
    if len(question) > MAX_QUESTION:
        raise DecisionError("question_too_long")
    return question


def remind_at(opened: datetime, closes: datetime) -> datetime:
    """The moment the one reminder is due: a day before closing, or half-way when shorter."""
    return closes - min(REMIND_BEFORE, (closes - opened) / 2)


def vote_button(decision_id: int, option: int) -> str:
    """A vote button's callback data (within Telegram's 64 bytes)."""
    return f"{VOTE_PREFIX}:{decision_id}:{option}"


def decide_button(decision_id: int) -> str:
    """The callback data starting /decide for a decision (bot.telegram.callbacks.GuidedStep,
    kind `decide`, action `new`), for the message the outbox sends at closing."""
    return f"g:decide::new:{decision_id}"


@dataclass(frozen=True)
class Tally:
    """Votes per option (by index) and how many were asked."""

    counts: Mapping[int, int]
    asked: int

    @property
    def voters(self) -> int:
        return sum(self.counts.values())


def shown(tally: Tally, *, anonymous: bool, closed: bool, k: int) -> Shown:
    """What may be shown of a tally. Named: the totals. Anonymous: totals under k voters are
    hidden while it is open; once closed, an audience under k learns only the outcome (with
    totals, a small committee could tell who voted how)."""
    if not anonymous:
        return "totals"
    if not closed:
        return "totals" if tally.voters >= k else "hidden"
    return "totals" if tally.asked >= k else "outcome_only"


def result(options: Sequence[str], tally: Tally, *, custom: bool) -> str:
    """The outcome: `pass` or `fail` for the default options (passes when more agree than
    disagree and nobody blocks), else the leading option's index as text, `tie`, or `none`."""
    if not custom:
        agree, disagree, block = (
            tally.counts.get(options.index(o), 0) for o in ("agree", "disagree", "block")
        )
        return "pass" if block == 0 and agree > disagree else "fail"
    if tally.voters == 0:
        return "none"
    most = max(tally.counts.values())
    leaders = [i for i, n in tally.counts.items() if n == most]
    return str(leaders[0]) if len(leaders) == 1 else "tie"


def latest_votes(filed: Mapping[str, Cast], waiting: Iterable[tuple[str, Cast]]) -> dict[str, Cast]:
    """Each anonymous voter's vote (by tag): of the one filed and those waiting to be filed,
    the latest (highest revision), whatever order they came in."""
    votes = dict(filed)
    for voter, cast in waiting:
        if voter not in votes or cast[0] > votes[voter][0]:
            votes[voter] = cast
    return votes


def counts_of(votes: Mapping[str, Cast]) -> dict[int, int]:
    """Votes per option index."""
    return dict(Counter(option for _, option in votes.values()))


def referenced(text: str) -> list[int]:
    """The decision ids `#D<id>` a text names, in order, once each."""
    return list(dict.fromkeys(int(m) for m in _REF.findall(text)))
