"""Answered of invited: groups shown only over k members who answered, the total as a margin."""

from __future__ import annotations

from bot.domain.anonymity import ALL
from bot.domain.answering import Answering, Invited, answered_of_invited


def test_every_group_over_k_is_shown_with_the_total() -> None:
    counts = {"municipality": Invited(8, 6, 8, 6), "community": Invited(20, 10, 12, 9)}
    assert answered_of_invited(counts, k=5, order=("community", "municipality")) == [
        Answering("community", 10, 20),
        Answering("municipality", 6, 8),
        Answering(ALL, 16, 28),
    ]
    assert Answering("municipality", 6, 8).rate == 0.75


def test_a_group_with_few_answerers_cannot_be_worked_out() -> None:
    counts = {
        "municipality": Invited(8, 6, 8, 6),
        "civil_society": Invited(10, 5, 10, 5),
        "community": Invited(6, 2, 6, 2),
    }
    found = {a.group: a for a in answered_of_invited(counts, k=5)}
    assert found["community"].finished is None and found["community"].sent is None
    hidden = [g for g, a in found.items() if a.finished is None]
    assert len(hidden) >= 2  # one more figure (a group or the total) hides the community's


def test_nothing_sent_shows_nothing() -> None:
    assert answered_of_invited({"community": Invited(0, 0, 0, 0)}, k=5) == []
