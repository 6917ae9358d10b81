"""The decision rules: options, the reminder's moment, the k rule, results and links."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.decisions import (
    DEFAULT_OPTIONS,
    DecisionError,
    Tally,
    counts_of,
    custom_options,
    latest_votes,
    referenced,
    remind_at,
    result,
    shown,
    vote_button,
)

K = 5


def test_custom_options_are_lines_or_semicolons_without_repeats() -> None:
    assert custom_options("Now\n After the rains ;Never\nNow") == (
        "Now",
        "After the rains",
        "Never",
    )
    for text, code in (("Only one", "options_count"), ("a;" * 11, "options_count")):
        with pytest.raises(DecisionError) as exc:
            custom_options(text)
        assert exc.value.code == code
    with pytest.raises(DecisionError, match="option_too_long"):
        custom_options("x" * 101 + "\nshort")


def test_the_reminder_is_a_day_before_or_half_way() -> None:
    opened = datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert remind_at(opened, opened + timedelta(days=3)) == opened + timedelta(days=2)
    assert remind_at(opened, opened + timedelta(hours=10)) == opened + timedelta(hours=5)


@pytest.mark.parametrize(
    ("counts", "asked", "anonymous", "closed", "expected"),
    [
        ({0: 1}, 3, False, False, "totals"),  # named: always
        ({0: 4}, 9, True, False, "hidden"),  # anonymous, under k voters while open
        ({0: 5}, 9, True, False, "totals"),
        ({0: 4}, 9, True, True, "totals"),  # closed, an audience of at least k
        ({0: 4}, 4, True, True, "outcome_only"),  # closed, an audience under k
        ({0: 4}, 4, True, False, "hidden"),
    ],
)
def test_the_k_rule(
    counts: dict[int, int], asked: int, anonymous: bool, closed: bool, expected: str
) -> None:
    tally = Tally(counts, asked)
    assert shown(tally, anonymous=anonymous, closed=closed, k=K) == expected


def test_results() -> None:
    default = list(DEFAULT_OPTIONS)
    assert result(default, Tally({0: 3, 2: 1}, 5), custom=False) == "pass"
    assert result(default, Tally({0: 3, 2: 1, 3: 1}, 5), custom=False) == "fail"  # a block
    assert result(default, Tally({0: 1, 2: 1}, 5), custom=False) == "fail"
    assert result(default, Tally({}, 5), custom=False) == "fail"
    own = ["Now", "Later", "Never"]
    assert result(own, Tally({1: 2, 2: 1}, 5), custom=True) == "1"
    assert result(own, Tally({0: 1, 2: 1}, 5), custom=True) == "tie"
    assert result(own, Tally({}, 5), custom=True) == "none"


def test_references_and_buttons() -> None:
    assert referenced("See #D3 and #d12, and #D3 again; not #Dx or D4") == [3, 12]
    assert len(vote_button(2**40, 9).encode()) <= 64


def test_the_latest_revision_of_an_anonymous_vote_counts_whatever_order_it_came_in() -> None:
    filed = {"a": (2, 0), "b": (1, 3)}
    waiting = [("a", (1, 2)), ("b", (3, 1)), ("b", (2, 2)), ("c", (1, 0))]
    votes = latest_votes(filed, waiting)
    assert votes == {"a": (2, 0), "b": (3, 1), "c": (1, 0)}
    assert counts_of(votes) == {0: 2, 1: 1}
