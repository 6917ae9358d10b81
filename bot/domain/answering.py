"""Answered of invited: per group, the check-ins finished of those sent, k-anonymous.

A group's figures are shown only when at least k of its members were sent a check-in and at
least k finished one; the total is checked as a margin (secondary suppression), so a hidden
group's answering cannot be worked out from the others and the total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.domain.anonymity import ALL, Cell, suppress

FINISHED = "finished"


@dataclass(frozen=True)
class Invited:
    """A group's check-ins over a span: how many were sent and finished, by how many people."""

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
    counts: Mapping[str, Invited], *, k: int, order: Sequence[str] = ()
) -> list[Answering]:
    """Each group's answering (in `order`, then the others), then the total (ALL)."""
    sent = {group: c for group, c in counts.items() if c.sent}
    if not sent:
        return []
    table = suppress(
        {
            (group, FINISHED): Cell(min(c.members, c.answerers), c.finished)
            for group, c in sent.items()
        },
        k=k,
        order=(order, ()),
    )
    found = []
    for group in table.rows:
        cell = table.visible(group, FINISHED)
        shown = cell is not None
        found.append(
            Answering(
                group,
                int(cell.value) if cell is not None else None,
                sent[group].sent if shown else None,
            )
        )
    total = table.total()
    found.append(
        Answering(
            ALL,
            None if total is None else int(total.value),
            None if total is None else sum(c.sent for c in sent.values()),
        )
    )
    return found
