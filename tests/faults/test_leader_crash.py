"""A leader SIGKILLed mid-broadcast and started again takes its rows back at once: the rows it
had claimed (some of them at Telegram when it died) are sent once each, without waiting for
their leases to end."""

from __future__ import annotations

import asyncio
import signal

import pytest
from conftest import news_text, partnerbot_run, queue_news, wait_drained

from bot.config import Settings
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import migrate
from bot.storage.db import create_engine, create_session_factory

CHATS = 40
FIRST_CHAT = 720_000
CONCURRENCY = 4
# Far longer than the test waits for the messages: only a take-back can explain their return.
LEASE_S = 600.0
# The killed leader's sends never hear back; the emulator then answers 500 (not delivered).
STALL_S = 120.0


@pytest.mark.slow
async def test_a_restarted_leader_sends_the_rows_it_held_at_once_and_once_each(
    emulator: BotAPIEmulator, settings: Settings
) -> None:
    chats = [FIRST_CHAT + n for n in range(CHATS)]
    for chat_id in chats:
        emulator.open_chat(chat_id)
    engine = create_engine(settings.database_url, schema=settings.database_schema)
    try:
        await migrate.upgrade(engine)
        session_factory = create_session_factory(engine)
        await queue_news(session_factory, chats)
        emulator.inject_fault(
            "sendMessage", status=500, description="stalled", count=CONCURRENCY, delay=STALL_S
        )
        lease = {"SEND_LEASE_S": str(LEASE_S)}
        async with partnerbot_run(settings, CONCURRENCY, **lease) as first:
            # Its sends hang at Telegram: the rows it claimed stay leased to it.
            await emulator.wait_for_calls("sendMessage", CONCURRENCY, timeout=180)
            first.send_signal(signal.SIGKILL)
            await first.wait()
        assert emulator.message_counts() == {}

        async with partnerbot_run(settings, CONCURRENCY, **lease) as second:
            for chat_id in chats:
                await emulator.wait_for_messages(chat_id, 1, timeout=LEASE_S / 5)
            await wait_drained(session_factory, timeout=30)
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 30) == 0
    finally:
        await engine.dispose()

    for chat_id in chats:
        assert [m.plain_text for m in emulator.messages(chat_id)] == [news_text(chat_id)]
