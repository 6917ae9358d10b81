"""Caucus rounds' pure rules: what may be shown of a round, and which step it may take."""

from __future__ import annotations

import pytest

from bot.domain.caucus import (
    CaucusError,
    Entry,
    entry_from_answers,
    may_close,
    may_share,
    react_counts,
    summarise,
)


def entry(person: str, kind: str = "issue", priority: int = 4, quote: bool = True) -> Entry:
    return Entry(kind, f"said by {person}", priority, quote, person)


def test_below_k_people_nothing_is_shown_not_even_consented_words() -> None:
    shown = summarise([entry("a"), entry("b"), entry("b", "opportunity")], k=3)
    assert shown.withheld and shown.respondents == 2
    assert shown.quotes == () and shown.total.count is None
    assert all(k.count is None and k.priority is None for k in shown.kinds)


def test_a_kind_under_k_people_is_hidden_and_so_is_the_total_that_gives_it_away() -> None:
    # Three people; "b" brought both kinds: opportunities stand for one person only.
    entries = [entry("a", priority=5), entry("b", priority=3), entry("c", priority=4)]
    entries.append(entry("b", "opportunity", priority=2, quote=False))
    shown = summarise(entries, k=3)
    issue, opportunity = shown.kinds
    assert (issue.count, issue.priority) == (3, 4.0)
    assert (opportunity.count, opportunity.priority) == (None, None)
    assert (shown.total.count, shown.total.priority) == (None, None)
    assert [q.respondent for q in shown.quotes] == ["a", "c", "b"]  # most pressing first


def test_the_total_counts_people_once() -> None:
    # Two kinds each under k people, three people in all: only the total is shown.
    entries = [entry("a"), entry("b"), entry("c", "opportunity"), entry("a", "opportunity")]
    shown = summarise(entries, k=3)
    assert [k.count for k in shown.kinds] == [None, None]
    assert shown.total.count == 4 and shown.respondents == 3


def test_kinds_over_k_people_are_shown_and_an_absent_kind_is_zero() -> None:
    shown = summarise([entry(p, priority=n) for n, p in enumerate("abc", 3)], k=3)
    issue, opportunity = shown.kinds
    assert (issue.count, issue.priority, opportunity.count) == (3, 4.0, 0)


def test_reactions_under_k_are_hidden() -> None:
    # Their total is not published: five agreeing say nothing of the one who did not.
    assert react_counts({"agree": 5, "disagree": 1}, k=3) == {"agree": 5, "disagree": None}
    assert react_counts({"agree": 4}, k=3) == {"agree": 4, "disagree": 0}
    assert react_counts({"agree": 3, "disagree": 3}, k=3) == {"agree": 3, "disagree": 3}


def test_an_entry_is_read_from_the_flows_answers() -> None:
    answers = {"kind": "issue", "text": " Dry taps ", "priority": 5, "quote": "yes"}
    assert entry_from_answers(answers, respondent="t", added=False) == Entry(
        "issue", "Dry taps", 5, True, "t"
    )
    with pytest.raises(CaucusError):
        entry_from_answers({**answers, "kind": "rumour"}, respondent="t", added=False)


def test_the_group_sees_its_results_before_the_committee() -> None:
    may_share("open")
    with pytest.raises(CaucusError, match="share_first"):
        may_close("open")
    may_close("shared")
    with pytest.raises(CaucusError, match="not_open"):
        may_share("shared")
