"""Two real `partnerbot run --webhook` processes on one PostgreSQL behind a load balancer.

The first to start leads (scheduler, outbox sender); the leader is killed with SIGKILL and the
other takes over within 30 s. Throughout, members' conversations hop between the instances
(round robin), and nothing is lost or sent twice.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import socket
import sys
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text

from bot.sandbox.balancer import Balancer
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import migrate, outbox, outbox_figures, repo
from bot.storage.db import SessionFactory, create_engine, create_session_factory
from bot.storage.models import OutboxStatus

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456:TEST-secret-token-value"
SECRET = "failover-secret-0123456789"
TAKEOVER_S = 30.0
MEMBERS = 8
FIRST_USER = 810_000
pytestmark = pytest.mark.slow


@dataclass
class Instance:
    name: str
    port: int
    process: asyncio.subprocess.Process

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def pg_schema() -> AsyncIterator[tuple[str, str]]:
    """(database URL, a schema of its own) on the test PostgreSQL, dropped afterwards."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: leader election needs PostgreSQL")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    engine = create_engine(url)
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield url, schema
    finally:
        async with engine.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await engine.dispose()


async def start_instance(
    name: str, port: int, *, emulator: BotAPIEmulator, url: str, schema: str, public_url: str
) -> Instance:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(
            ("SEND_", "DATABASE_", "TELEGRAM_", "BOT_", "WEBHOOK_", "LEADER_", "LOG_")
        )
    }
    env.update(
        BOT_TOKEN=TOKEN,
        TELEGRAM_API_URL=emulator.base_url,
        DATABASE_URL=url,
        DATABASE_SCHEMA=schema,
        FLOWS_DIR=str(ROOT / "flows"),
        LOCALES_DIR=str(ROOT / "locales"),
        LOG_LEVEL="WARNING",
        LOG_FORMAT="json",
        WEBHOOK_URL=public_url,
        WEBHOOK_SECRET=SECRET,
        WEBHOOK_HOST="127.0.0.1",
        WEBHOOK_PORT=str(port),
        LEADER_POLL_S="0.5",
        SEND_LEASE_S="2",
        SEND_RATE_PER_S="100",
        SEND_PER_CHAT_PER_S="10",
        ANONYMITY_KEY="test-anonymity-key-0123456789abcdef",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--webhook",
        cwd=ROOT,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
    )
    return Instance(name, port, process)


async def health(http: aiohttp.ClientSession, instance: Instance) -> dict[str, object] | None:
    """The instance's /healthz answer, or None while it does not answer."""
    try:
        async with http.get(f"{instance.base}/healthz") as resp:
            return dict(await resp.json()) if resp.status == 200 else None
    except aiohttp.ClientError:
        return None


async def until(condition: object, timeout: float, what: str) -> None:
    """Poll an async condition (a zero-argument coroutine function) until true or timeout."""
    assert callable(condition)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        await asyncio.sleep(0.05)


async def until_drained(session_factory: SessionFactory, timeout: float) -> None:
    async def drained() -> bool:
        async with session_factory() as session:
            return await outbox_figures.outbox_depth(session) == {"queued": 0, "sending": 0}

    await until(drained, timeout, "the outbox is drained")


async def enqueue_news(session_factory: SessionFactory, chats: list[int], tag: str) -> None:
    """One outbox message per chat (as a broadcast does), each with its own dedupe key."""
    now = datetime.now(UTC)
    async with session_factory() as session:
        for chat_id in chats:
            member = await repo.get_member_by_telegram_id(session, telegram_user_id=chat_id)
            assert member is not None
            await outbox.enqueue(
                session,
                chat_id=chat_id,
                member_id=member.id,
                text=f"{tag} for {chat_id}",
                dedupe_key=f"{tag}:{chat_id}",
                now=now,
            )
        await session.commit()


async def test_the_leader_dies_and_the_other_instance_takes_over_losing_nothing(
    emulator: BotAPIEmulator, pg_schema: tuple[str, str]
) -> None:
    url, schema = pg_schema
    engine = create_engine(url, schema=schema)
    await migrate.upgrade(engine)
    session_factory = create_session_factory(engine)
    ports = {"a": _free_port(), "b": _free_port()}
    balancer = Balancer([f"http://127.0.0.1:{ports['a']}", f"http://127.0.0.1:{ports['b']}"])
    public_url = await balancer.start() + "/telegram/webhook"
    members = [FIRST_USER + n for n in range(MEMBERS)]
    instances: dict[str, Instance] = {}
    start = functools.partial(
        start_instance, emulator=emulator, url=url, schema=schema, public_url=public_url
    )
    try:
        async with aiohttp.ClientSession() as http:

            async def leads(name: str) -> bool:
                answer = await health(http, instances[name])
                return answer is not None and answer["leader"] is True

            async def follows(name: str) -> bool:
                answer = await health(http, instances[name])
                return answer is not None and answer["leader"] is False

            # A starts alone and leads; B joins and follows.
            instances["a"] = await start("a", ports["a"])
            await until(lambda: leads("a"), 60, "instance a leads")
            instances["b"] = await start("b", ports["b"])
            await until(lambda: follows("b"), 60, "instance b answers as a follower")

            # Conversations: each member's consecutive answers land on alternating instances.
            seen: dict[int, int] = dict.fromkeys(members, 0)

            async def say(text_: str, replies: int) -> list[int]:
                update_ids = [emulator.send_text(chat, text_, first_name="Ama") for chat in members]
                for chat in members:
                    seen[chat] += replies
                    await emulator.wait_for_messages(chat, seen[chat], timeout=30)
                return update_ids

            first_updates = await say("/start", 2)  # the welcome and the consent question
            await say("1", 1)  # yes: the language question
            assert all(n > 0 for n in balancer.forwarded.values()), balancer.forwarded
            # Telegram delivering an update again, to whichever instance: ignored.
            emulator.post_update(
                {"update_id": first_updates[0], **_start_message(members[0], message_id=1)}
            )
            await emulator.wait_for_update_confirmed(first_updates[0], timeout=30)

            # The leader's sender delivers a broadcast.
            await enqueue_news(session_factory, members, "news-1")
            for chat in members:
                seen[chat] += 1
                await emulator.wait_for_messages(chat, seen[chat], timeout=30)
            await until_drained(session_factory, 30)

            # The leader dies. B takes over within 30 s; members go on meanwhile.
            instances["a"].process.send_signal(signal.SIGKILL)
            await instances["a"].process.wait()
            killed_at = time.monotonic()
            await enqueue_news(session_factory, members, "news-2")
            await say("1", 1)  # English: the stakeholder-group question, through B alone
            await until(lambda: leads("b"), TAKEOVER_S, "instance b takes over")
            takeover_s = time.monotonic() - killed_at
            for chat in members:
                seen[chat] += 1
                await emulator.wait_for_messages(chat, seen[chat], timeout=30)
            await until_drained(session_factory, 30)

            # SIGTERM: B finishes, releases the lock and exits cleanly.
            instances["b"].process.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(instances["b"].process.wait(), 30) == 0

        async with session_factory() as session:
            rows = await outbox.list_messages(session)
    finally:
        for instance in instances.values():
            if instance.process.returncode is None:
                instance.process.kill()
                await instance.process.wait()
        await balancer.stop()
        await engine.dispose()

    print(f"takeover after {takeover_s:.1f}s")  # noqa: T201
    assert takeover_s < TAKEOVER_S
    assert {row.status for row in rows} == {OutboxStatus.SENT} and len(rows) == 2 * MEMBERS
    for chat in members:
        shown = [m.plain_text for m in emulator.messages(chat)]
        assert len(shown) == seen[chat] == 6, shown  # 2 + 1 + news-1 + 1 + news-2
        assert shown.count(f"news-1 for {chat}") == 1
        assert shown.count(f"news-2 for {chat}") == 1


def _start_message(user_id: int, *, message_id: int) -> dict[str, object]:
    user = {"id": user_id, "is_bot": False, "first_name": "Ama", "language_code": "en"}
    return {
        "message": {
            "message_id": message_id,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Ama"},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        }
    }
