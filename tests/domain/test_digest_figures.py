"""Digest content from plain rows: k-anonymous figures, quotes, "you said, we did"."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from bot.domain.digests import (
    TicketRow,
    acted_on,
    pick_quotes,
    pulse_results,
    suppress_counts,
    voice_digest,
)
from bot.domain.figures import AnswerRow
from bot.domain.flows import parse_flow

K = 5
DAY = datetime(2026, 11, 2, tzinfo=UTC)


def row(question: str, group: str | None, value: float | None, **kw: Any) -> AnswerRow:
    """One anonymous pulse answer, as the digests read it."""
    return AnswerRow("trust_pulse", question, group, DAY, number=value, **kw)


def answers(group: str, n: int, value: float, question: str = "heard") -> list[AnswerRow]:
    return [row(question, group, value) for _ in range(n)]


@pytest.mark.parametrize(("respondents", "shown"), [(4, False), (5, True)])
def test_a_lone_group_shows_from_five_respondents(respondents: int, shown: bool) -> None:
    results = pulse_results(answers("community", respondents, 4.0), questions=["heard"], k=K)
    assert results.empty is not shown
    [figure] = results.figures
    assert (figure.overall is not None) is shown
    assert (figure.by_group["community"] is not None) is shown
    assert (results.respondents.total is not None) is shown


def test_a_small_group_is_hidden_and_cannot_be_worked_out_from_the_total() -> None:
    rows = answers("community", 6, 4.0) + answers("municipality", 7, 2.0)
    rows += answers("private_sector", 4, 1.0)
    results = pulse_results(rows, questions=["heard"], k=K)
    [figure] = results.figures
    assert figure.by_group["private_sector"] is None
    # The small group is withheld: the overall mean and the total are the other groups' only,
    # so nothing subtracts to it.
    assert figure.overall == (6 * 4.0 + 7 * 2.0) / 13
    counts = results.respondents
    assert counts.counts["private_sector"] is None
    assert counts.total == 13
    assert results.suppressed


def test_skipped_answers_count_as_respondents_but_not_in_the_mean() -> None:
    rows = answers("community", 5, 4.0, "municipality") + [
        row("municipality", "community", None, skipped=True)
    ]
    rows += answers("community", 6, 3.0, "heard")
    results = pulse_results(rows, questions=["municipality", "heard"], k=K)
    assert results.respondents.counts == {"community": 6}
    assert [f.overall for f in results.figures] == [4.0, 3.0]


def test_groups_follow_the_given_order_and_no_group_counts_as_other() -> None:
    rows = answers("municipality", 5, 3.0) + [row("heard", None, 5.0) for _ in range(5)]
    rows += answers("community", 5, 4.0)
    results = pulse_results(
        rows, questions=["heard"], groups=("community", "municipality", "other"), k=K
    )
    assert list(results.respondents.counts) == ["community", "municipality", "other"]


def test_counts_of_nothing_stay_empty() -> None:
    empty = suppress_counts({}, k=K)
    assert (empty.counts, empty.total) == ({}, 0)


def test_quotes_are_few_trimmed_and_once_each() -> None:
    texts = ["  More   meetings  ", "More meetings", "", "x" * 500, "Fourth", "Fifth"]
    quotes = pick_quotes(texts)
    assert quotes[0] == "More meetings"
    assert len(quotes) == 3
    assert len(quotes[1]) == 300 and quotes[1].endswith("…")


def test_voice_digest_suppresses_concerns_by_category() -> None:
    digest = voice_digest(
        responses={"community": 9, "municipality": 5},
        open_concerns={"roles": 6, "trust": 2},
        pulse_rows=[],
        pulse_questions=["heard"],
        quotes=["Thank you"],
        categories=("roles", "trust"),
        k=K,
    )
    assert digest.responses.counts == {"community": 9, "municipality": 5}
    assert digest.concerns.counts["trust"] is None
    assert digest.concerns.total is None or digest.concerns.counts["roles"] is None
    assert digest.pulse.empty
    assert digest.quotes == ("Thank you",)
    assert digest.suppressed


def test_acted_on_keeps_outcomes_and_reasons_only() -> None:
    tickets = [
        TicketRow(1, "roles", "municipality", "declined", "Out of our remit"),
        TicketRow(2, "trust", "partnership", "done", "ignored for done"),
        TicketRow(3, "resources", "civil_society", "agreed", None),
        TicketRow(4, "other", "partnership", "received", None),
    ]
    lines = acted_on(tickets, {2: "  Meetings are now public. ", 3: ""})
    assert [(x.status, x.category) for x in lines] == [
        ("done", "trust"),
        ("agreed", "resources"),
        ("declined", "roles"),
    ]
    assert lines[0].summary == "Meetings are now public."
    assert lines[0].reason is None
    assert lines[1].summary is None
    assert lines[2].reason == "Out of our remit"


def _flow(quote: dict[str, object]) -> dict[str, object]:
    return {
        "schema": 1,
        "id": "pulse",
        "version": 1,
        "title": "t",
        "start": "comment",
        "nodes": [
            {"id": "comment", "ask": "text", "text": "c", "next": "quote"},
            {"id": "quote", "text": "q", "next": "end", **quote},
            {"id": "end", "end": True},
        ],
    }


@pytest.mark.parametrize(
    ("quote", "problem"),
    [
        ({"ask": "yes_no", "quote_consent": "comment"}, None),
        ({"ask": "yes_no", "quote_consent": "nothing"}, "quote_consent names no text answer"),
        ({"ask": "text", "quote_consent": "comment"}, "belongs on a yes_no question"),
    ],
)
def test_quote_consent_is_checked_at_load(quote: dict[str, object], problem: str | None) -> None:
    flow, problems = parse_flow(_flow(quote), source="pulse.yaml")
    if problem is None:
        assert problems == [] and flow is not None
        assert flow.quote_consents() == {"quote": "comment"}
    else:
        assert flow is None and problem in str(problems[0])
