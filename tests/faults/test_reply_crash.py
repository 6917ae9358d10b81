"""Replies are as durable as the change they report: an instance SIGKILLed after committing
updates whose replies it had not sent yet loses none of them, and repeats none."""

from __future__ import annotations

import asyncio
import signal

import pytest
from conftest import partnerbot_run, wait_drained

from bot.config import Settings
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.db import create_engine, create_session_factory

MEMBERS = 12
FIRST_USER = 710_000
# Long enough that the killed instance never hears back; the emulator then answers 500.
STALL_S = 120.0


@pytest.mark.slow
async def test_replies_committed_by_a_killed_instance_are_delivered_once_by_the_next(
    emulator: BotAPIEmulator, settings: Settings
) -> None:
    chats = [FIRST_USER + n for n in range(MEMBERS)]
    # Each chat's first reply hangs at Telegram: the updates are committed, nothing is shown.
    emulator.inject_fault(
        "sendMessage", status=500, description="stalled", count=MEMBERS, delay=STALL_S
    )
    for chat_id in chats:
        emulator.send_text(chat_id, "/start", first_name="Amina", language_code="en")
    async with partnerbot_run(settings) as first:
        await emulator.wait_for_calls("sendMessage", MEMBERS, timeout=60)
        first.send_signal(signal.SIGKILL)
        await first.wait()
    assert emulator.message_counts() == {}

    engine = create_engine(settings.database_url, schema=settings.database_schema)
    try:
        async with partnerbot_run(settings) as second:
            # /start shows the welcome, then the consent question with its buttons.
            # Start-up, election and the lapse of the killed instance's leases: seconds each
            # (more on a busy machine).
            for chat_id in chats:
                await emulator.wait_for_messages(chat_id, 2, timeout=90)
            await wait_drained(create_session_factory(engine), timeout=30)
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 30) == 0
    finally:
        await engine.dispose()

    shown = {tuple(m.plain_text for m in emulator.messages(chat_id)) for chat_id in chats}
    assert len(shown) == 1, "members saw different replies"
    (texts,) = shown
    assert len(texts) == 2 and len(set(texts)) == 2, f"a reply was lost or repeated: {texts}"
    for chat_id in chats:
        assert emulator.messages(chat_id)[-1].buttons, "the consent question has no buttons"
