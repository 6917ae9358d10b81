"""Sealed filing: what a member does anonymously is written in their transaction only sealed,
and the leader files it in a transaction of its own.

A reader of the database (its rows' `xmin` or `ctid`, SQLite's or PostgreSQL's WAL) pairs
whatever one transaction wrote. So an anonymous concern, an anonymous raiser's reply or an
anonymous vote by button is stored in the member's transaction as a sealed ballot of its kind
(`bot.storage.ballots`, padded by `Sealer.seal_json`), beside nothing of it in clear; the
leader opens the waiting ballots and files them, shuffled, with the filer each kind registered
(`Concerns`, `Decisions`), at once after the member's commit (`when_sealed`) or at its next
pass.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.services.ballots import day_of
from bot.services.sealing import Sealer
from bot.storage import ballots as store
from bot.storage.db import after_commit

log = logging.getLogger(__name__)
Sealed = Mapping[str, Any]
Filer = Callable[[AsyncSession, Sealed], Awaitable[None]]


class SealedFiling:
    """Seals values by kind in a member's transaction; files them in the leader's."""

    def __init__(
        self, *, clock: Clock, sealer: Sealer, shuffle: random.Random | None = None
    ) -> None:
        self.clock = clock
        self.sealer = sealer
        self.random = shuffle or random.SystemRandom()
        self._filers: dict[str, Filer] = {}
        # Told once a sealed value is committed (the leader files it).
        self._on_sealed: Callable[[], None] = lambda: None

    def files(self, kind: str, filer: Filer) -> None:
        """`filer` files the values sealed as `kind` (one of `store.SEALED_KINDS`)."""
        assert kind in store.SEALED_KINDS, kind
        self._filers[kind] = filer

    async def seal(self, session: AsyncSession, kind: str, value: Sealed) -> None:
        """Store `value` sealed, for the leader to file once this transaction is committed."""
        sealed = self.sealer.seal_json(dict(value))
        day = day_of(self.clock.now())
        await store.add_ballot(session, flow_id=kind, day=day, sealed=sealed)
        after_commit(session, self._file_soon)

    def when_sealed(self, listener: Callable[[], None]) -> None:
        """Call `listener` each time a sealed value is committed: the leading instance's
        scheduler files it at once rather than at its next sweep (a scheduler that starts
        leading replaces the one before)."""
        self._on_sealed = listener

    def _file_soon(self) -> None:
        self._on_sealed()

    async def waiting(self, session: AsyncSession, kind: str) -> list[tuple[str, Sealed]]:
        """The ballots of `kind` waiting, opened: (ballot id, value); read only."""
        opened = []
        for ballot in await store.list_ballots(session, flow_id=kind):
            try:
                opened.append((ballot.id, self.sealer.unseal_json(ballot.sealed)))
            except ValueError:
                log.error("a sealed %s cannot be opened with this anonymity key; kept", kind)
        return opened

    async def file_sealed(self, session: AsyncSession, kinds: Sequence[str] | None = None) -> int:
        """File every waiting ballot of `kinds` (all registered ones by default), kind by kind
        in the order registered, in no particular order within a kind; how many. Run it in a
        transaction no member's action shares (the leader's), and commit it."""
        filed = 0
        for kind in self._filers if kinds is None else kinds:
            waiting = await self.waiting(session, kind)
            # Stored in the order they were sent: filed so, their ids would follow the members.
            self.random.shuffle(waiting)
            for ballot_id, value in waiting:
                if not await store.take_ballot(session, ballot_id=ballot_id):
                    continue  # another instance filed it
                await self._filers[kind](session, value)
                filed += 1
        return filed
