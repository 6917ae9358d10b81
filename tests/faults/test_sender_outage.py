"""PostgreSQL goes away while the outbox sender works: it stops, logs that once, and resumes.

The sender reaches PostgreSQL through a fault proxy; the outage is real (every connection
reset, new ones refused) and lasts `OUTAGE_S`. What it must not do meanwhile: send what it
cannot record (each such message is sent again later), or log each failed try.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from conftest import news_text, queue_news, wait_drained
from pgproxy import FaultProxy, pg_proxy  # noqa: F401  (a fixture)

from bot.config import Settings
from bot.delivery.sender import Sender
from bot.domain.clock import SystemClock
from bot.sandbox.emulator import BotAPIEmulator, RateLimits
from bot.storage import migrate, outbox
from bot.storage.db import SessionFactory, create_engine, create_session_factory
from bot.storage.models import OutboxStatus
from bot.telegram.sending import build_transport

CONCURRENCY = 2
OUTAGE_S = 2.0
FIRST_CHAT = 960_000


@dataclass
class World:
    """Rows written and read directly; the sender under test goes through the proxy."""

    settings: Settings
    direct: SessionFactory
    sender: Sender

    async def statuses(self) -> set[str]:
        async with self.direct() as session:
            return {row.status for row in await outbox.list_messages(session)}


@contextlib.asynccontextmanager
async def sender_behind(
    proxy: FaultProxy, emulator: BotAPIEmulator, settings: Settings, **overrides: object
) -> AsyncIterator[World]:
    """A migrated database, and a sender (not started) that reaches it through the proxy."""
    configured = settings.model_copy(
        update={
            "send_concurrency": CONCURRENCY,
            "send_per_chat_per_s": 20.0,
            "send_group_per_min": 600.0,
            **overrides,
        }
    )
    emulator.set_limits(
        RateLimits(
            global_per_s=configured.send_rate_per_s,
            per_chat_per_s=configured.send_per_chat_per_s,
            group_per_min=configured.send_group_per_min,
        )
    )
    direct_engine = create_engine(configured.database_url, schema=configured.database_schema)
    proxied_engine = create_engine(
        proxy.proxied_url(configured.database_url), schema=configured.database_schema
    )
    await migrate.upgrade(direct_engine)
    sender = Sender(
        settings=configured,
        session_factory=create_session_factory(proxied_engine),
        transport=build_transport(configured),
        clock=SystemClock(),
        poll_interval=0.2,
        seed=3,
    )
    try:
        yield World(configured, create_session_factory(direct_engine), sender)
    finally:
        await sender.stop()
        await proxied_engine.dispose()
        await direct_engine.dispose()


async def through_an_outage(
    proxy: FaultProxy, world: World, emulator: BotAPIEmulator, chat: int, count: int
) -> None:
    """Start the sender; once `chat` holds `count` messages, take PostgreSQL away a while."""
    world.sender.start()
    await emulator.wait_for_messages(chat, count, timeout=30)
    await proxy.outage()
    await asyncio.sleep(OUTAGE_S)  # the outage's length, not a wait for anything
    await proxy.restore()


def sender_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the sender logged at WARNING and above."""
    return [
        r
        for r in caplog.records
        if r.name.startswith("bot.delivery") and r.levelno >= logging.WARNING
    ]


def assert_one_line_per_state_change(records: list[logging.LogRecord]) -> None:
    messages = [r.getMessage() for r in records]
    assert messages, "the outage went unnoticed"
    assert all(r.exc_info is None for r in records), "a traceback was logged"
    paused = [m for m in messages if m.startswith("outbox sender paused")]
    resumed = [m for m in messages if m.startswith("outbox sender resumed")]
    assert len(paused) == len(resumed) == 1, messages
    assert len(messages) == 2, messages


async def test_an_outage_mid_broadcast_sends_nothing_it_cannot_record(
    pg_proxy: FaultProxy,  # noqa: F811
    emulator: BotAPIEmulator,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    chats = [FIRST_CHAT + n for n in range(60)]
    # A short lease, so that a message sent but not recorded during the outage would be sent
    # again within the test.
    async with sender_behind(
        pg_proxy, emulator, settings, send_rate_per_s=40.0, send_lease_s=3.0
    ) as world:
        await queue_news(world.direct, chats)
        for chat_id in chats:
            emulator.open_chat(chat_id)
        await through_an_outage(pg_proxy, world, emulator, chats[14], 1)
        for chat_id in chats:
            await emulator.wait_for_messages(chat_id, 1, timeout=30)
        await wait_drained(world.direct)
        assert await world.statuses() == {OutboxStatus.SENT}

    counts = emulator.message_counts()
    duplicates = sum(n - 1 for n in counts.values())
    assert sorted(counts) == chats
    assert duplicates <= CONCURRENCY
    assert_one_line_per_state_change(sender_lines(caplog))


async def test_an_outage_while_messages_wait_for_their_chat_is_logged_once(
    pg_proxy: FaultProxy,  # noqa: F811
    emulator: BotAPIEmulator,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot")
    chat = FIRST_CHAT + 500
    # One chat at two messages a second: the sender mostly waits for the chat to come free,
    # and claims again as soon as it does.
    async with sender_behind(
        pg_proxy,
        emulator,
        settings,
        send_rate_per_s=40.0,
        send_per_chat_per_s=2.0,
        send_lease_s=3.0,
    ) as world:
        await queue_news(world.direct, [chat], per_chat=12)
        emulator.open_chat(chat)
        await through_an_outage(pg_proxy, world, emulator, chat, 2)
        await emulator.wait_for_messages(chat, 12, timeout=30)
        await wait_drained(world.direct)

    assert_one_line_per_state_change(sender_lines(caplog))
    shown = [m.plain_text for m in emulator.messages(chat)]
    assert shown == [news_text(chat, n) for n in range(12)]


async def test_a_database_that_stops_answering_holds_the_sender_to_what_is_in_flight(
    pg_proxy: FaultProxy,  # noqa: F811
    emulator: BotAPIEmulator,
    settings: Settings,
) -> None:
    chats = [FIRST_CHAT + 1000 + n for n in range(40)]
    async with sender_behind(pg_proxy, emulator, settings, send_rate_per_s=40.0) as world:
        await queue_news(world.direct, chats)
        for chat_id in chats:
            emulator.open_chat(chat_id)
        world.sender.start()
        await emulator.wait_for_messages(chats[9], 1, timeout=30)
        # Connections stay open but nothing comes back: no error, no timeout, only silence.
        pg_proxy.stall()
        before = emulator.stats.messages_sent
        await asyncio.sleep(OUTAGE_S)  # the stall's length, not a wait for anything
        during = emulator.stats.messages_sent - before
        await pg_proxy.restore()
        for chat_id in chats:
            await emulator.wait_for_messages(chat_id, 1, timeout=30)
        await wait_drained(world.direct)

    # Sends whose outcome cannot be committed keep their slots: at most those go out.
    assert during <= CONCURRENCY
    assert sum(n - 1 for n in emulator.message_counts().values()) <= CONCURRENCY
