"""The decision buttons the outbox sends as plain JSON unpack as the router's factories."""

from __future__ import annotations

from bot.domain.decisions import decide_button, vote_button
from bot.telegram.callbacks import DecisionVote, GuidedStep


def test_decision_buttons_match_their_factories() -> None:
    assert vote_button(12, 3) == DecisionVote(decision_id=12, option=3).pack()
    assert decide_button(12) == GuidedStep(kind="decide", step="", action="new", arg="12").pack()
