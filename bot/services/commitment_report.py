"""The commitments report for coordinators: where every commitment stands, its variations, and
the counter-parties' ratings of delivery and spirit, k-anonymous.

Kept on its own so that a report registry can list it with one line: `build` takes a session,
the reader's translator and k, and returns the report's HTML text.
"""

from __future__ import annotations

import html
from collections import Counter

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import commitments as rules
from bot.domain.anonymity import ALL, Cell, SuppressedTable, suppress
from bot.i18n import Translator
from bot.storage import commitments as store
from bot.storage.commitment_models import Commitment, CommitmentTally

KIND = "commitments"
DELIVERY, SPIRIT = "delivery", "spirit"


def ratings_table(
    rows: list[Commitment], tallies: dict[int, CommitmentTally], k: int
) -> SuppressedTable:
    """Mean delivery and spirit per commitment, each over its raters; a commitment rated by
    fewer than k is hidden, and so is whatever would give it away."""
    cells: dict[tuple[str, str], Cell] = {}
    margins: dict[tuple[str, str], int] = {}
    for c in rows:
        tally = tallies.get(c.id or 0)
        if tally is None or tally.raters == 0:
            continue
        n, row = tally.raters, str(c.id)
        cells[(row, DELIVERY)] = Cell(n, rules.mean(tally.delivery_sum, n))
        cells[(row, SPIRIT)] = Cell(n, rules.mean(tally.spirit_sum, n))
        margins[(row, ALL)] = n  # the same raters answered both
    total = sum(margins.values())
    margins.update({(ALL, DELIVERY): total, (ALL, SPIRIT): total, (ALL, ALL): total})
    return suppress(cells, k=k, kind="mean", margin_respondents=margins)


async def build(session: AsyncSession, t: Translator, *, k: int) -> str:
    """The report's text."""
    rows = await store.list_commitments(session)
    if not rows:
        return "\n".join((t("commitments.report.title"), t("commitments.none")))
    table = ratings_table(rows, await store.list_tallies(session), k)
    variations = await store.list_variations(session)
    by_status = Counter(c.status for c in rows)
    lines = [
        t("commitments.report.title"),
        t(
            "commitments.report.counts",
            total=len(rows),
            **{s: by_status.get(s, 0) for s in rules.STATUSES},
        ),
        t(
            "commitments.report.variations",
            open=sum(v.status == rules.OPEN for v in variations),
            accepted=sum(v.status == rules.ACCEPTED for v in variations),
            rejected=sum(v.status == rules.REJECTED for v in variations),
        ),
        "",
    ]
    for c in rows:
        row = str(c.id)
        delivery, spirit = table.visible(row, DELIVERY), table.visible(row, SPIRIT)
        if delivery is not None and spirit is not None:
            rating = t(
                "commitments.report.rated",
                delivery=f"{delivery.value:.1f}",
                spirit=f"{spirit.value:.1f}",
                n=delivery.respondents,
            )
        elif table.is_hidden(row, DELIVERY):
            rating = t("commitments.report.rating_hidden", k=k)
        else:
            rating = t("commitments.report.unrated")
        lines.append(
            t(
                "commitments.report.line",
                id=c.id,
                owner=html.escape(c.owner_org),
                what=html.escape(c.what),
                due=c.due_on.isoformat(),
                status=t(f"commitments.status.{c.status}"),
                rating=rating,
            )
        )
    total = table.total()
    if total is not None:
        lines += ["", t("commitments.report.overall", n=total.respondents)]
    lines += ["", t("commitments.report.k", k=k)]
    return "\n".join(lines)
