"""Answered of invited: per group, the check-ins finished of those sent, k-anonymous.

Like every release (`bot.domain.releases`), the figures are sums of fixed periods, here the
check-in occurrences, each over at least k people: an occurrence in which fewer than k of a
group's members were sent a check-in or finished one is withheld from that group, so no two
reports over different spans differ by fewer than k people, and a hidden group counts in no
total (nothing is left to subtract).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain.anonymity import ALL, Cell, suppress

FINISHED = "finished"


@dataclass(frozen=True)
class Invited:
    """A group's check-ins of one occurrence: how many were sent and finished, by how many
    people."""

    sent: int
    finished: int
    members: int  # distinct members sent one
    answerers: int  # distinct members who finished one


@dataclass(frozen=True)
class Answering:
    """Check-ins finished of those sent, for a group or the total (ALL); None when hidden."""

    group: str
    finished: int | None
    sent: int | None

    @property
    def rate(self) -> float | None:
        """Finished of sent, 0 to 1."""
        if self.finished is None or not self.sent:
            return None
        return self.finished / self.sent


def answered_of_invited(
    periods: Mapping[str, Sequence[Invited]], *, k: int, order: Sequence[str] = ()
) -> list[Answering]:
    """Each group's answering over its check-in occurrences (in `order`, then the others),
    then the total (ALL). An occurrence in which fewer than k of a group's members were sent a
    check-in or finished one is withheld from that group's figure, whatever span is asked: a
    group with none left is shown hidden and counts in no total."""
    sent_any = {group: found for group, found in periods.items() if any(p.sent for p in found)}
    if not sent_any:
        return []
    kept = {
        group: [p for p in found if p.sent and min(p.members, p.answerers) >= k]
        for group, found in sent_any.items()
    }
    table = suppress(
        {
            (group, FINISHED): Cell(
                sum(min(p.members, p.answerers) for p in found), sum(p.finished for p in found)
            )
            for group, found in kept.items()
            if found
        },
        k=k,
        order=(order, ()),
        withheld={(group, FINISHED): Cell(0, 0) for group, found in kept.items() if not found},
    )
    sent = {group: sum(p.sent for p in found) for group, found in kept.items()}
    result = []
    for group in table.rows:
        cell = table.visible(group, FINISHED)
        shown = cell is not None
        result.append(
            Answering(
                group, int(cell.value) if cell is not None else None, sent[group] if shown else None
            )
        )
    total = table.total()
    result.append(
        Answering(
            ALL,
            None if total is None else int(total.value),
            None if total is None else sum(sent[g] for g, found in kept.items() if found),
        )
    )
    return result
