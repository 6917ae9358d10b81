"""Outbox leases: who holds one, and the heartbeat that keeps a live sender's leases.

A sender renews the leases of the rows it holds several times per lease, so a lease can be
short and a dead sender's rows come back within seconds. A lease also names its holder so that
an instance started again after a crash takes back at once the rows its previous run held
(`bot.storage.outbox.take_back`) instead of leaving them to their leases; rows of an instance
that does not come back return when their leases end.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import Callable
from datetime import timedelta

from bot.config import Settings
from bot.delivery.breaker import Breaker
from bot.domain.clock import Clock
from bot.storage import outbox
from bot.storage.db import SessionFactory
from bot.storage.models import OutboxMessage

log = logging.getLogger(__name__)

# Leases are renewed this many times per lease, so one late renewal never lets one lapse.
RENEWALS_PER_LEASE = 3


def instance_name(settings: Settings) -> str:
    """INSTANCE_NAME, else the host's name and the webhook port (unique per host and port)."""
    return settings.instance_name or f"{socket.gethostname()}:{settings.webhook_port}"


def lease_owner(settings: Settings) -> str:
    """The holder written on this run's leases: "<instance>/<run>"."""
    return f"{instance_name(settings)}/{secrets.token_hex(4)}"


class Heartbeat:
    """Renews the leases of a sender's held rows while the database answers; `run`, `stop`."""

    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        clock: Clock,
        breaker: Breaker,
        lease_lock: asyncio.Lock,
        held: dict[int, OutboxMessage],
        lease: timedelta,
        on_lost: Callable[[set[int]], None],
        on_failed: Callable[[], None],
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.breaker = breaker
        # Renewals and outcome commits both rewrite a held row's lease token: one at a time.
        self._lease_lock = lease_lock
        # The sender's held rows (claimed, or written leased by this instance), by id.
        self._held = held
        self.lease = lease
        self.renew_every = lease.total_seconds() / RENEWALS_PER_LEASE
        self._on_lost = on_lost
        self._on_failed = on_failed
        self._now = asyncio.Event()
        self._stopping = False

    def renew_soon(self) -> None:
        """Renew now (the database answers again: leases may have lapsed meanwhile)."""
        self._now.set()

    def stop(self) -> None:
        self._stopping = True
        self._now.set()

    async def run(self) -> None:
        """Renew every `renew_every` seconds until stopped."""
        loop = asyncio.get_running_loop()
        self._stopping = False
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.renew_every):
                    await self._now.wait()
            self._now.clear()
            if self._stopping or self.breaker.is_open or not self._held:
                continue
            try:
                await self.renew()
            except Exception as exc:
                self.breaker.failed(exc, loop.time())
                self._on_failed()

    async def renew(self) -> None:
        """Extend the leases of the rows held; tell the sender of those another sender took."""
        async with self._lease_lock:
            held = list(self._held.values())
            lease_until = self.clock.now() + self.lease
            async with self.session_factory() as session:
                kept = await outbox.renew_leases(session, held=held, lease_until=lease_until)
                await session.commit()
            for message in held:
                if message.id in kept:
                    message.lease_until = lease_until
        lost = {m.id for m in held if m.id is not None and m.id not in kept}
        if lost:
            self._on_lost(lost)
