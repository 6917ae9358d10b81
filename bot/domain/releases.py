"""Releases over fixed periods, so that no two published figures, subtracted, isolate anyone.

Every audience (reports, pulse results, digests, exports) reads answers over the same fixed,
non-overlapping periods: an answer belongs to the pulse occurrence whose window holds it, or
else to its ISO week (what of that week lies outside every occurrence). A `since` is rounded
down to the start of its week.

A figure is a sum over its periods. A period in which fewer than k people answered for a
figure is suppressed on its own, so it is left out of that figure whatever span is asked: every
published figure is then a sum of periods each over at least k people, and subtracting one
published figure from another (weeks 1–3 minus weeks 1–2, a week minus its pulse occurrence)
leaves whole periods over at least k people, or nothing.

Only closed periods are published (an occurrence once its window ended, a week from the next
Monday on): an open period's figure would change as answers arrive, and two reads of it a few
days apart would differ by the few people who answered in between.

Figures of each person's latest answer (the role map, progress on objectives) are read as of a
settled moment instead (`settled`): a Monday, moved on only once at least k people's latest
answers changed since the moment published before, so two releases never differ by fewer.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

T = TypeVar("T")
WEEK = timedelta(days=7)


def week_start(day: date) -> date:
    """The Monday of the ISO week a day falls in."""
    return day - timedelta(days=day.weekday())


def round_since(since: datetime) -> datetime:
    """The start (Monday 00:00 UTC) of the period a `since` falls in."""
    day = week_start(since.astimezone(UTC).date())
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


@dataclass(frozen=True)
class Window:
    """A pulse occurrence's window: answers stamped in [start, end) belong to it."""

    key: str
    start: datetime
    end: datetime


def day_start(moment: datetime) -> datetime:
    """Midnight UTC of the moment's day: anonymous answers carry their day only."""
    return datetime.combine(moment.astimezone(UTC).date(), time(0, 0), tzinfo=UTC)


def occurrence_window(key: str, *, first_send: datetime, last_close: datetime) -> Window:
    """A pulse occurrence's window, opening at the start of its first day (as its answers are
    stamped) and closing with its last window."""
    return Window(key, day_start(first_send), last_close)


@dataclass(frozen=True)
class Periods:
    """The periods answers are read over: occurrence windows, and ISO weeks around them."""

    windows: tuple[Window, ...] = ()

    def of(self, when: datetime) -> str:
        """The period an answer stamped at `when` belongs to (the earliest window holding it)."""
        window = self._holding(when)
        if window is not None:
            return f"occurrence:{window.key}"
        return f"week:{week_start(when.date()).isoformat()}"

    def week_of(self, when: datetime) -> date:
        """The week a period is shown in: an occurrence's first week, else the answer's."""
        window = self._holding(when)
        return week_start((when if window is None else window.start).date())

    def end_of(self, when: datetime) -> datetime:
        """When the period holding `when` closes: its occurrence's window, else its week."""
        window = self._holding(when)
        if window is not None:
            return window.end
        return datetime.combine(week_start(when.date()) + WEEK, time(0, 0), tzinfo=UTC)

    def closed(self, when: datetime, now: datetime) -> bool:
        """Whether the period holding `when` is over at `now`, so its figures may be published."""
        return self.end_of(when) <= now

    def window(self, when: datetime) -> Window | None:
        """The occurrence window holding `when`, if any."""
        return self._holding(when)

    def _holding(self, when: datetime) -> Window | None:
        return next((w for w in self.windows if w.start <= when < w.end), None)


def landing_day(day: datetime, *, now: datetime, published: Callable[[datetime], bool]) -> datetime:
    """The day a batch of anonymous answers released at `now` is stamped with: its own, unless
    that day's period was already published; then the first day from `now`'s on whose period
    was not (a period still open), so that no published figure ever changes."""
    if not published(day):
        return day
    landing = day_start(now)
    while published(landing):
        landing += timedelta(days=1)
    return landing


def releasable(
    rows: Iterable[T],
    *,
    figure_of: Callable[[T], Hashable],
    period_of: Callable[[T], str],
    respondents: Callable[[Sequence[T]], int],
    k: int,
) -> list[T]:
    """The rows of every (figure, period) over at least k respondents, in the order given; the
    rest is withheld from every figure over any span."""
    if k < 1:
        raise ValueError("k must be at least 1")
    rows = list(rows)
    blocks: dict[tuple[Hashable, str], list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        blocks[(figure_of(row), period_of(row))].append(index)
    kept = {
        index
        for found in blocks.values()
        if respondents([rows[i] for i in found]) >= k
        for index in found
    }
    return [row for index, row in enumerate(rows) if index in kept]


def settled(
    rows: Iterable[T],
    *,
    figure_of: Callable[[T], Hashable],
    person_of: Callable[[T], str],
    when: Callable[[T], datetime],
    state: Callable[[Sequence[T]], Hashable],
    now: datetime,
    k: int,
) -> list[T]:
    """The rows a figure of latest answers is read over: those before its settled moment.

    The candidate moments are the Mondays (00:00 UTC) up to `now`. A figure's first moment is
    the first at which at least k people answered; it moves on to a later Monday only once at
    least k people's `state` (what their latest answer says, from their rows before it) differs
    from every moment published before (people changing back cannot bring two releases within
    fewer than k of each other). Past rows never change, so every release reads one of these
    moments, and any two of them differ by at least k people.
    """
    if k < 1:
        raise ValueError("k must be at least 1")
    rows = list(rows)
    by_figure: dict[Hashable, dict[str, list[T]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by_figure[figure_of(row)][person_of(row)].append(row)
    moments: dict[Hashable, datetime] = {}
    last = round_since(now)
    for figure, people in by_figure.items():

        def states(at: datetime, people: dict[str, list[T]] = people) -> dict[str, Hashable]:
            before = {who: [r for r in found if when(r) < at] for who, found in people.items()}
            return {who: state(found) for who, found in before.items() if found}

        first = min(when(r) for found in people.values() for r in found)
        moment = round_since(first) + WEEK
        published: list[dict[str, Hashable]] = [{}]
        while moment <= last:
            current = states(moment)
            if all(_changed(current, before) >= k for before in published):
                moments[figure] = moment
                published.append(current)
            moment += WEEK
    return [
        row for row in rows if figure_of(row) in moments and when(row) < moments[figure_of(row)]
    ]


def _changed(current: dict[str, Hashable], before: dict[str, Hashable]) -> int:
    """How many people's state differs between two moments (appearing counts as a change)."""
    return sum(1 for who in current.keys() | before.keys() if current.get(who) != before.get(who))
