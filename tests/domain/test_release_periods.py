"""Releases over fixed periods: no two published spans, subtracted, isolate fewer than k people."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.releases import (
    Periods,
    Window,
    landing_day,
    releasable,
    round_since,
    settled,
    week_start,
)

K = 5


def spans(periods: int) -> list[tuple[int, int]]:
    return [(a, b) for a in range(periods) for b in range(a, periods)]


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=6),
    figures=st.integers(min_value=1, max_value=3),
)
def test_no_difference_of_two_published_spans_isolates_fewer_than_k(
    counts: list[int], figures: int
) -> None:
    # One row per respondent: (figure, period, respondent)
    rows = [
        (figure, period, person)
        for figure in range(figures)
        for period, n in enumerate(counts)
        for person in range(n + figure)
    ]
    published: list[set[tuple[int, int, int]]] = []
    for first, last in spans(len(counts)):
        asked = [r for r in rows if first <= r[1] <= last]
        kept = releasable(
            asked, figure_of=lambda r: r[0], period_of=lambda r: str(r[1]), respondents=len, k=K
        )
        published.append(set(kept))
    for one in published:
        for other in published:
            for figure in range(figures):
                left = {r for r in one - other if r[0] == figure}
                # whatever one span holds beyond another is whole periods of k or more people
                by_period: dict[int, int] = {}
                for _, period, _ in left:
                    by_period[period] = by_period.get(period, 0) + 1
                assert all(n >= K for n in by_period.values()), (one, other)


@given(counts=st.lists(st.integers(min_value=0, max_value=12), min_size=1, max_size=6))
def test_a_span_keeps_every_period_that_reaches_k_on_its_own(counts: list[int]) -> None:
    rows = [(period, person) for period, n in enumerate(counts) for person in range(n)]
    kept = releasable(
        rows, figure_of=lambda _: 0, period_of=lambda r: str(r[0]), respondents=len, k=K
    )
    assert len(kept) == sum(n for n in counts if n >= K)


def test_the_since_attack_finds_the_same_figure() -> None:
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert round_since(monday + timedelta(days=1, hours=5)) == datetime(2026, 11, 30, tzinfo=UTC)
    assert round_since(monday) == round_since(monday + timedelta(days=6, hours=14))
    assert week_start(date(2026, 12, 6)) == date(2026, 11, 30)


def test_an_answer_belongs_to_its_occurrence_else_to_the_rest_of_its_week() -> None:
    start = datetime(2026, 12, 2, tzinfo=UTC)
    periods = Periods((Window("7", start, start + timedelta(days=2)),))
    assert periods.of(start + timedelta(hours=3)) == "occurrence:7"
    assert periods.of(start + timedelta(days=2)) == "week:2026-11-30"
    assert periods.of(start - timedelta(days=2)) == "week:2026-11-30"
    assert periods.week_of(start + timedelta(days=1)) == date(2026, 11, 30)


def test_k_must_be_positive() -> None:
    with pytest.raises(ValueError):
        releasable([], figure_of=str, period_of=str, respondents=len, k=0)


def test_a_period_is_published_once_it_is_over() -> None:
    start = datetime(2026, 12, 2, tzinfo=UTC)
    periods = Periods((Window("7", start, start + timedelta(days=2)),))
    in_round, after = start + timedelta(hours=3), start + timedelta(days=3)
    assert not periods.closed(in_round, start + timedelta(days=1))
    assert periods.closed(in_round, start + timedelta(days=2))
    assert not periods.closed(after, datetime(2026, 12, 6, 23, 59, tzinfo=UTC))
    assert periods.closed(after, datetime(2026, 12, 7, tzinfo=UTC))


@settings(max_examples=200, deadline=None)
@given(
    changes=st.lists(
        st.tuples(st.integers(0, 7), st.integers(0, 11), st.integers(0, 2)), max_size=40
    ),
    weeks=st.integers(min_value=1, max_value=9),
)
def test_two_releases_of_latest_answers_differ_by_at_least_k_people_or_not_at_all(
    changes: list[tuple[int, int, int]], weeks: int
) -> None:
    """Rows (week, person, answer): every Monday's release of each person's latest answer."""
    monday = datetime(2026, 1, 5, tzinfo=UTC)
    rows = [(monday + timedelta(weeks=w, hours=p), p, a) for w, p, a in changes]

    def release(now: datetime) -> dict[int, int]:
        kept = settled(
            rows,
            figure_of=lambda _: 0,
            person_of=lambda r: str(r[1]),
            when=lambda r: r[0],
            state=lambda found: max(found)[2],
            now=now,
            k=K,
        )
        return {person: answer for _, person, answer in sorted(kept)}

    releases = [release(monday + timedelta(weeks=w, days=d)) for w in range(weeks) for d in (2, 4)]
    for one in releases:
        for other in releases:
            differing = {p for p in one.keys() | other.keys() if one.get(p) != other.get(p)}
            assert not differing or len(differing) >= K


def test_a_batch_lands_in_its_own_period_unless_that_one_is_out_already() -> None:
    """Answers of a week still open, or of an occurrence whose results are not out, keep their
    day; a published one's go to the first day from the release on whose period is not."""
    monday = datetime(2026, 1, 12, tzinfo=UTC)
    occurrence = Window("7", monday + timedelta(days=1), monday + timedelta(days=3, hours=10))
    periods = Periods((occurrence,))
    thursday = monday + timedelta(days=3, hours=12)

    def published_by(now: datetime, out: set[str]) -> Callable[[datetime], bool]:
        def published(day: datetime) -> bool:
            window = periods.window(day)
            return periods.closed(day, now) if window is None else window.key in out

        return published

    tuesday = monday + timedelta(days=1)
    # The round closed this morning, its results are about to go: its batch lands in it.
    assert landing_day(tuesday, now=thursday, published=published_by(thursday, set())) == tuesday
    # Its results went out: a late batch skips today (still the round's) for Friday.
    late = landing_day(tuesday, now=thursday, published=published_by(thursday, {"7"}))
    assert late == monday + timedelta(days=4)
    # Sunday's ballots released on Monday: the week is over, so the new week's Monday.
    next_monday = monday + timedelta(days=7, hours=1)
    sunday = monday + timedelta(days=6)
    assert landing_day(
        sunday, now=next_monday, published=published_by(next_monday, {"7"})
    ) == monday + timedelta(days=7)
