"""Answered of invited: sums of check-in occurrences over k people each; a group with none is
hidden and counts in no total."""

from __future__ import annotations

from bot.domain.anonymity import ALL
from bot.domain.answering import Answering, Invited, answered_of_invited


def test_every_group_over_k_is_shown_with_the_total() -> None:
    counts = {
        "municipality": [Invited(8, 6, 8, 6)],
        "community": [Invited(20, 10, 12, 9), Invited(12, 6, 12, 6)],
    }
    assert answered_of_invited(counts, k=5, order=("community", "municipality")) == [
        Answering("community", 16, 32),
        Answering("municipality", 6, 8),
        Answering(ALL, 22, 40),
    ]
    assert Answering("municipality", 6, 8).rate == 0.75


def test_an_occurrence_under_k_is_withheld_whatever_the_span() -> None:
    """Two answered in the second week: the figure is the first week's alone, so reports over
    both weeks and over the first one differ by nobody."""
    first, second = Invited(6, 6, 6, 6), Invited(6, 2, 6, 2)
    both = answered_of_invited({"community": [first, second]}, k=5)
    alone = answered_of_invited({"community": [first]}, k=5)
    assert both == alone == [Answering("community", 6, 6), Answering(ALL, 6, 6)]


def test_a_group_with_every_occurrence_under_k_is_hidden_and_in_no_total() -> None:
    counts = {
        "municipality": [Invited(8, 6, 8, 6)],
        "civil_society": [Invited(10, 5, 10, 5)],
        "community": [Invited(6, 2, 6, 2)],
    }
    found = {a.group: a for a in answered_of_invited(counts, k=5)}
    assert found["community"] == Answering("community", None, None)
    assert found[ALL] == Answering(ALL, 11, 18)


def test_nothing_sent_shows_nothing() -> None:
    assert answered_of_invited({"community": [Invited(0, 0, 0, 0)]}, k=5) == []
