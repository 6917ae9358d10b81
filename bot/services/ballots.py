"""Ballots: anonymous answers travel sealed, apart from their author, until released in bulk.

While a conversation is open, its anonymous answers sit sealed in the run's memory; when it
ends (finished, cancelled, expired or restarted) they become a sealed ballot with no member
link. The leader releases a flow's ballots into `answer` in one transaction of its own, once at
least k are waiting and no check-in occurrence of the flow is still open: the answers of the
whole batch are shuffled together and stamped with one day, so a database reader can tell
neither who gave which answer nor in which order people answered. That day lies in a period
not yet published (the batch's latest, or else the open one): a released batch never changes
a figure already out.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.releases import Periods, landing_day
from bot.services.sealing import SEALED_MEMORY, Sealer
from bot.storage import ballots as store
from bot.storage.repo import answer_row
from bot.storage.reports import list_pulse_windows

log = logging.getLogger(__name__)
# The run memory's key for its sealed part: flow answer keys are slugs and never start so.
SEALED = SEALED_MEMORY
Row = Mapping[str, Any]
# Pulse results are let go for an occurrence closed longer ago (digests.RESULTS_STALE): its
# figures are out in reports all the same.
RESULTS_LET_GO = timedelta(days=7)


def day_of(moment: datetime) -> datetime:
    """Midnight UTC of the moment's day: the only time a ballot and its answers carry."""
    return datetime.combine(moment.astimezone(UTC).date(), time(0, 0), tzinfo=UTC)


class Ballots:
    """Seals anonymous answers into run memories and ballots, and releases ballots in batches."""

    def __init__(
        self, *, sealer: Sealer, min_group: int, shuffle: random.Random | None = None
    ) -> None:
        self.sealer = sealer
        self.k = min_group
        self.random = shuffle or random.SystemRandom()

    # -- run memories -------------------------------------------------------------------------

    def open_memory(self, stored: Mapping[str, Any] | None) -> tuple[dict[str, Any], list[Row]]:
        """A run's working answers (sealed ones opened) and its anonymous answers to cast."""
        answers = {k: v for k, v in (stored or {}).items() if k != SEALED}
        token = (stored or {}).get(SEALED)
        if not token:
            return answers, []
        try:
            memory = self.sealer.unseal_json(str(token))
        except ValueError:
            log.error("a run's sealed answers cannot be opened with this anonymity key")
            return answers, []
        return {**answers, **memory.get("answers", {})}, list(memory.get("ballot", []))

    def close_memory(
        self, answers: Mapping[str, Any], anonymous: set[str], ballot: Sequence[Row]
    ) -> dict[str, Any]:
        """What a run stores: named answers in clear, the anonymous ones and the ballot sealed."""
        kept = {k: v for k, v in answers.items() if k not in anonymous}
        hidden = {k: v for k, v in answers.items() if k in anonymous}
        if hidden or ballot:
            kept[SEALED] = self.sealer.seal_json({"answers": hidden, "ballot": list(ballot)})
        return kept

    @staticmethod
    def named(stored: Mapping[str, Any] | None) -> dict[str, Any]:
        """A run memory without its sealed part (for an ended run, or for `/mydata`)."""
        return {k: v for k, v in (stored or {}).items() if k != SEALED}

    async def cast(
        self, session: AsyncSession, *, flow_id: str, ballot: Sequence[Row], day: datetime
    ) -> None:
        """Store a ballot of `ballot`'s answers (nothing when empty), sealed, for `day`."""
        if ballot:
            sealed = self.sealer.seal_json({"answers": {}, "ballot": list(ballot)})
            await store.add_ballot(session, flow_id=flow_id, day=day, sealed=sealed)

    @staticmethod
    async def cast_sealed(
        session: AsyncSession, *, flow_id: str, stored: Mapping[str, Any] | None, day: datetime
    ) -> bool:
        """Cast an ended run's sealed memory as it is (no key needed); False if it had none."""
        token = (stored or {}).get(SEALED)
        if token:
            await store.add_ballot(session, flow_id=flow_id, day=day, sealed=str(token))
        return bool(token)

    # -- release ------------------------------------------------------------------------------

    async def release_due(
        self, session: AsyncSession, *, now: datetime, hold_open: bool = True
    ) -> int:
        """Release every flow's ballots that may go now; how many answers were released.

        Run it in a transaction of its own and commit it: the answers must not share a
        transaction with anything a member did. Without `hold_open`, ballots of a flow whose
        occurrence is still open go too.
        """
        waiting = await store.pending_by_flow(session)
        held = await store.flows_with_open_occurrences(session) if hold_open else set()
        released = 0
        for flow_id, count in sorted(waiting.items()):
            if count >= self.k and flow_id not in held:
                released += await self._release(session, flow_id, now)
        return released

    async def _landing_day(
        self, session: AsyncSession, flow_id: str, day: datetime, now: datetime
    ) -> datetime:
        """`day`, or an open period's day when `day`'s period was published already: a week
        once over, an occurrence once its results went out (the batch held for an occurrence
        is released just before they do, and lands in it)."""
        windows = await list_pulse_windows(session, flow_ids=[flow_id])
        periods = Periods(windows.get(flow_id, ()))
        out = await store.published_occurrences(
            session, flow_id=flow_id, let_go_before=now - RESULTS_LET_GO
        )

        def published(when: datetime) -> bool:
            window = periods.window(when)
            return periods.closed(when, now) if window is None else window.key in out

        return landing_day(day, now=now, published=published)

    async def _release(self, session: AsyncSession, flow_id: str, now: datetime) -> int:
        ballots = await store.list_ballots(session, flow_id=flow_id)
        opened: list[tuple[str, list[Row]]] = []
        for ballot in ballots:
            try:
                opened.append((ballot.id, self.sealer.unseal_json(ballot.sealed)["ballot"]))
            except ValueError:
                log.error("a %s ballot cannot be opened with this anonymity key; kept", flow_id)
        if len(opened) < self.k:
            return 0
        latest = max(b.day for b in ballots if b.id in {i for i, _ in opened})
        day = await self._landing_day(session, flow_id, latest, now)
        answers = [
            answer_row(
                flow_id=flow_id,
                question_key=row["key"],
                kind=row["kind"],
                value=row["value"],
                anonymous=True,
                stakeholder_group=row.get("group"),
                day=day,
                quotable=bool(row.get("quotable")),
            )
            for _, rows in opened
            for row in rows
        ]
        self.random.shuffle(answers)
        await store.release(session, ballot_ids=[i for i, _ in opened], answers=answers)
        log.info(
            "released %d anonymous answers of %d %s ballots", len(answers), len(opened), flow_id
        )
        return len(answers)
