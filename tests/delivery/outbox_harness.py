"""A running sender against the emulator and a real, migrated database, for delivery tests.

A module rather than a conftest.py: a second conftest module would shadow the root one that
other test modules import from.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from bot.config import Settings
from bot.delivery.sender import Sender
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator, RateLimits
from bot.storage import migrate, outbox, repo
from bot.storage.db import SessionFactory, create_engine, create_session_factory
from bot.storage.models import Member, MemberStatus, OutboxMessage
from bot.telegram.sending import build_transport

# Fast enough for short tests, slow enough that pacing is really exercised.
TEST_LIMITS: dict[str, Any] = {
    "send_rate_per_s": 50.0,
    "send_per_chat_per_s": 20.0,
    "send_group_per_min": 600.0,
}


@dataclass
class Delivery:
    """The sender under test, the database it drains and helpers to fill and read it."""

    emulator: BotAPIEmulator
    settings: Settings
    clock: ManualClock
    session_factory: SessionFactory
    sender: Sender

    async def member(
        self,
        user_id: int,
        *,
        chat_id: int | None = None,
        status: MemberStatus = MemberStatus.ACTIVE,
        open_chat: bool = True,
    ) -> Member:
        """A member whose chat the emulator knows (unless `open_chat` is False)."""
        chat = user_id if chat_id is None else chat_id
        async with self.session_factory() as session:
            member = await repo.create_member(
                session,
                telegram_user_id=user_id,
                chat_id=chat,
                display_name=f"Member {user_id}",
                language="en",
                now=self.clock.now(),
            )
            if status != MemberStatus.ACTIVE:
                await repo.update_member(
                    session, member=member, changes={"status": status}, now=self.clock.now()
                )
            await session.commit()
        if open_chat:
            self.emulator.open_chat(chat)
        return member

    async def enqueue(self, member: Member, text: str, **options: Any) -> list[OutboxMessage]:
        """Queue a message to the member in a transaction of its own, then wake the sender."""
        async with self.session_factory() as session:
            rows = await outbox.enqueue(
                session,
                chat_id=options.pop("chat_id", member.chat_id),
                member_id=member.id,
                text=text,
                now=self.clock.now(),
                **options,
            )
            await session.commit()
        self.sender.wake()
        return rows

    async def rows(self, **filters: Any) -> list[OutboxMessage]:
        """Outbox rows as stored now."""
        async with self.session_factory() as session:
            return await outbox.list_messages(session, **filters)

    async def reload(self, member: Member) -> Member:
        """The member as stored now."""
        assert member.id is not None
        async with self.session_factory() as session:
            found = await repo.get_member(session, member_id=member.id)
        assert found is not None
        return found

    async def settle(self, timeout: float = 10.0) -> None:
        """Wait until the sender has nothing due, claimed or in flight."""
        await self.sender.wait_idle(timeout)

    async def retry_now(self, minutes: float = 60) -> None:
        """Move the clock past any back-off, let the sender pick the rows up, wait for it."""
        self.clock.advance(timedelta(minutes=minutes))
        self.sender.wake()
        await self.settle()


@contextlib.asynccontextmanager
async def running_sender(
    emulator: BotAPIEmulator,
    settings: Settings,
    clock: ManualClock,
    *,
    emulator_limits: bool = True,
    **overrides: Any,
) -> AsyncIterator[Delivery]:
    """Migrate the database and run a sender with TEST_LIMITS and `overrides` applied.

    With `emulator_limits` the emulator enforces exactly the limits the sender is given.
    """
    configured = settings.model_copy(update={**TEST_LIMITS, **overrides})
    if emulator_limits:
        emulator.set_limits(
            RateLimits(
                global_per_s=configured.send_rate_per_s,
                per_chat_per_s=configured.send_per_chat_per_s,
                group_per_min=configured.send_group_per_min,
            )
        )
    engine = create_engine(configured.database_url, schema=configured.database_schema)
    await migrate.upgrade(engine)
    session_factory = create_session_factory(engine)
    sender = Sender(
        settings=configured,
        session_factory=session_factory,
        transport=build_transport(configured),
        clock=clock,
        seed=7,
    )
    delivery = Delivery(emulator, configured, clock, session_factory, sender)
    sender.start()
    try:
        yield delivery
    finally:
        await sender.stop()
        await engine.dispose()
