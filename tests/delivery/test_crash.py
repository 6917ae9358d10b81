"""A real `partnerbot run` killed with SIGKILL half-way through the outbox, then restarted."""

from __future__ import annotations

import asyncio
import signal

import pytest
from conftest import news_text, partnerbot_run, queue_news, wait_drained

from bot.config import Settings
from bot.sandbox.emulator import BotAPIEmulator, RateLimits
from bot.storage import migrate, outbox
from bot.storage.db import create_engine, create_session_factory
from bot.storage.models import OutboxStatus

RECIPIENTS = 300
CONCURRENCY = 8
FIRST_USER = 700_000


@pytest.mark.slow
async def test_a_killed_sender_loses_nothing_and_repeats_at_most_what_was_in_flight(
    emulator: BotAPIEmulator, settings: Settings
) -> None:
    emulator.set_limits(RateLimits(global_per_s=200, per_chat_per_s=10))
    engine = create_engine(settings.database_url, schema=settings.database_schema)
    await migrate.upgrade(engine)
    session_factory = create_session_factory(engine)
    chats = [FIRST_USER + n for n in range(RECIPIENTS)]
    try:
        await queue_news(session_factory, chats)
        for chat_id in chats:
            emulator.open_chat(chat_id)

        async with partnerbot_run(settings, CONCURRENCY) as first:
            await emulator.wait_for_messages(chats[RECIPIENTS // 2], 1, timeout=60)
            first.send_signal(signal.SIGKILL)
            await first.wait()
        delivered_before = emulator.stats.messages_sent
        async with session_factory() as session:
            left_sending = len(await outbox.list_messages(session, status=OutboxStatus.SENDING))
        assert 0 < delivered_before < RECIPIENTS

        async with partnerbot_run(settings, CONCURRENCY) as second:
            for chat_id in chats:
                await emulator.wait_for_messages(chat_id, 1, timeout=60)
            # Rows left `sending` by the killed process come back when their lease ends (the
            # default lease: the heartbeat keeps it short).
            await wait_drained(session_factory, timeout=30)
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 30) == 0

        async with session_factory() as session:
            rows = await outbox.list_messages(session)
    finally:
        await engine.dispose()

    counts = emulator.message_counts()
    duplicates = sum(n - 1 for n in counts.values())
    assert sorted(counts) == chats, "a recipient got nothing"
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert duplicates <= min(CONCURRENCY, left_sending)
    for row in rows:
        (shown,) = {m.plain_text for m in emulator.messages(row.chat_id)}
        assert shown == news_text(row.chat_id)
