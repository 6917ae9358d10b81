"""One leader among the instances sharing a database; it alone runs the scheduler and sender.

On PostgreSQL the leader holds a session-level advisory lock (`pg_try_advisory_lock`) on a
connection of its own, in autocommit so that no transaction stays open. PostgreSQL releases
the lock when that session ends — the process died or its connection broke — and a follower,
which tries every `poll_interval` seconds, takes over. The leader checks its connection as
often and steps down when it is gone. Should two instances ever both believe they lead (a
partition, for at most one interval), the rows stay safe: outbox claims are leased and taken
with SKIP LOCKED, and a check-in is unique per schedule, occurrence and member.

SQLite serves a single instance, which always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.cluster.locks import advisory_key
from bot.ops.failures import FailureLog

log = logging.getLogger(__name__)
Callback = Callable[[], Awaitable[None]]


class Leadership:
    """Campaigns for the leader lock; calls `on_elected` on winning and `on_deposed` on losing."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        namespace: str,
        poll_interval: float,
        on_elected: Callback,
        on_deposed: Callback,
    ) -> None:
        self.engine = engine
        self.key = advisory_key(namespace, "leader")
        self.poll_interval = poll_interval
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self._campaigning = FailureLog(
            log, "campaigning for leadership", meanwhile="trying again each poll"
        )
        self.is_leader = False
        self.elected_at: float | None = None  # time.time() of the current term's start
        self.terms = 0
        self._connection: AsyncConnection | None = None
        self._holding = False  # the lock connection holds the lock
        self._task: asyncio.Task[None] | None = None
        self._stop = asyncio.Event()

    @property
    def shared(self) -> bool:
        """Whether instances share the database (PostgreSQL) and so must elect a leader."""
        return self.engine.dialect.name == "postgresql"

    async def start(self) -> None:
        """Try once now (so a lone instance leads from the start), then keep watching."""
        self._stop.clear()
        if not self.shared:
            await self._elected()
            return
        await self._campaign()
        self._task = asyncio.create_task(self._watch(), name="leader-election")

    async def stop(self) -> None:
        """Stop campaigning; a leader first stops leading, then releases the lock."""
        self._stop.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self.is_leader:
            await self._deposed()
        await self._release()

    async def _watch(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self.poll_interval)
            if self._stop.is_set():
                return
            if self.is_leader:
                if not await self._still_connected():
                    log.error("lost the leader lock's database connection; stepping down")
                    await self._deposed()
                    await self._release()
            else:
                await self._campaign()

    async def _campaign(self) -> None:
        try:
            if self._connection is None:
                connection = await self.engine.connect()
                self._connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
            result = await self._connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}
            )
            won = bool(result.scalar())
        except Exception as exc:
            self._campaigning.failed(exc)
            await self._release()
            return
        self._campaigning.succeeded()
        if won:
            self._holding = True
            await self._elected()

    async def _still_connected(self) -> bool:
        assert self._connection is not None
        try:
            async with asyncio.timeout(max(1.0, self.poll_interval)):
                await self._connection.execute(text("SELECT 1"))
        except Exception:
            return False
        return True

    async def _elected(self) -> None:
        self.is_leader = True
        self.elected_at = time.time()
        self.terms += 1
        log.info("this instance leads: it runs the scheduler and the outbox sender")
        try:
            await self.on_elected()
        except Exception:
            log.exception("starting the leader's work failed")

    async def _deposed(self) -> None:
        self.is_leader = False
        self.elected_at = None
        try:
            await self.on_deposed()
        except Exception:
            log.exception("stopping the leader's work failed")
        log.info("this instance no longer leads")

    async def _release(self) -> None:
        """Unlock and drop the lock's connection (closing it releases the lock regardless)."""
        connection, self._connection = self._connection, None
        holding, self._holding = self._holding, False
        if connection is None:
            return
        if holding:
            with contextlib.suppress(Exception):
                await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        # Never hand a session that may still hold the lock back to the pool.
        with contextlib.suppress(Exception):
            await connection.invalidate()
        with contextlib.suppress(Exception):
            await connection.close()
