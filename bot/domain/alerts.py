"""Trust alerts: a group's trust index falling between two periods, read from released figures.

Only figures a report would show count: a cell hidden by k-anonymity (for its own size or to
protect another) is never compared, so an alert tells nothing a report does not.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.anonymity import SuppressedTable

DIGITS = 2  # as reports show the trust index


@dataclass(frozen=True)
class TrustDrop:
    """A group's trust index in the period before and in the latest period."""

    group: str
    period: str
    before: float
    after: float


def trust_drops(table: SuppressedTable, *, drop: float) -> list[TrustDrop]:
    """Groups whose visible trust index fell by `drop` or more from the period before the
    latest (the table's columns, sortable periods) to the latest, both visible."""
    periods = sorted(table.columns)
    if len(periods) < 2:
        return []
    previous, latest = periods[-2], periods[-1]
    found = []
    for group in table.rows:
        before, after = table.visible(group, previous), table.visible(group, latest)
        if before is None or after is None:
            continue
        shown_before, shown_after = round(before.value, DIGITS), round(after.value, DIGITS)
        if round(shown_before - shown_after, DIGITS) >= drop:
            found.append(TrustDrop(group, latest, shown_before, shown_after))
    return found
