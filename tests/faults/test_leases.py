"""Leases are kept alive by a heartbeat: short enough that a dead sender's rows come back in
seconds, and never lost by a live sender whose send is slow."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

from bot.config import Settings
from bot.delivery.sender import Sender
from bot.domain.clock import SystemClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import migrate, outbox, repo
from bot.storage.db import create_engine, create_session_factory
from bot.storage.models import OutboxStatus
from bot.telegram.sending import build_transport

CHAT = 970_001
LEASE_S = 1.0
SLOW_SEND_S = 3 * LEASE_S


def test_the_default_lease_lets_a_dead_senders_rows_return_within_seconds() -> None:
    settings = Settings(_env_file=None)
    assert settings.send_lease_s <= 10


@contextlib.asynccontextmanager
async def two_senders(settings: Settings) -> AsyncIterator[tuple[Sender, Sender]]:
    """Two senders on one database (as during a change of leader), both on the real clock."""
    engine = create_engine(settings.database_url, schema=settings.database_schema)
    await migrate.upgrade(engine)
    session_factory = create_session_factory(engine)
    now = datetime.now(UTC)
    async with session_factory() as session:
        member = await repo.create_member(
            session, telegram_user_id=CHAT, chat_id=CHAT, display_name="", language="en", now=now
        )
        await outbox.enqueue(session, chat_id=CHAT, member_id=member.id, text="Slow news", now=now)
        await session.commit()
    senders = [
        Sender(
            settings=settings,
            session_factory=session_factory,
            transport=build_transport(settings),
            clock=SystemClock(),
            poll_interval=0.1,
            seed=n,
        )
        for n in range(2)
    ]
    try:
        yield senders[0], senders[1]
    finally:
        for sender in senders:
            await sender.stop()
        async with session_factory() as session:
            rows = await outbox.list_messages(session)
        await engine.dispose()
    assert [row.status for row in rows] == [OutboxStatus.SENT]


async def test_a_slow_send_keeps_its_lease_so_no_other_sender_repeats_it(
    emulator: BotAPIEmulator, settings: Settings
) -> None:
    emulator.open_chat(CHAT)
    # Telegram takes three leases' time to answer the first send.
    emulator.inject_fault("sendMessage", status=200, description="slow", delay=SLOW_SEND_S)
    configured = settings.model_copy(update={"send_lease_s": LEASE_S})
    async with two_senders(configured) as (first, second):
        first.start()
        await emulator.wait_for_calls("sendMessage", 1)
        # A second sender looks for expired leases every 0.1 s while the first one waits.
        second.start()
        await emulator.wait_for_messages(CHAT, 1, timeout=4 * SLOW_SEND_S)
        await first.wait_idle(timeout=4 * SLOW_SEND_S)
        await second.wait_idle(timeout=4 * SLOW_SEND_S)
    assert [m.plain_text for m in emulator.messages(CHAT)] == ["Slow news"]
    assert second.stats.sent == 0 and second.stats.lease_expired == 0
