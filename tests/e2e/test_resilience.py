"""Telegram misbehaving: errors at start, rate limits, server errors, timeouts, blocked chats."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import ROOT, TOKEN, Database, Phone, closed_port, onboard, running_app

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import outbox
from bot.storage.models import MemberStatus


async def test_bot_works_when_set_my_commands_and_chat_action_fail(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    emulator.inject_fault(
        "setMyCommands", status=400, description="Bad Request: bad commands", count=2
    )
    emulator.inject_fault(
        "sendChatAction", status=500, description="Internal Server Error", count=10
    )
    async with running_app(settings, clock) as app:
        phone = Phone(emulator, app, user_id=1010)
        await phone.send("/start")
        assert "Do you agree?" in phone.new_text()
        # A 400 would come again each time: refused once, logged, not tried again.
        assert app.retries.pending == []
        assert emulator.calls["setMyCommands"] == 1
        assert emulator.commands_by_scope == {}
        await onboard(phone)
        phone.new()
        # "sending a file" goes before an upload; its failure costs only the hint
        await phone.send("/mydata")
        assert emulator.calls["sendChatAction"] >= 1
        assert [m.kind for m in phone.new()] == ["document"]


async def test_commands_are_published_in_each_language(
    emulator: BotAPIEmulator, app: BotApp
) -> None:
    published = {
        lang: [c["command"] for c in cmds] for (_, lang), cmds in emulator.commands_by_scope.items()
    }
    assert set(published) == {"", "fr"}
    assert published[""] == [
        "start", "help", "concern", "roles", "timezone",
        "concerns", "commitments", "objectives", "language", "mydata", "forget", "cancel", "stop",
    ]  # fmt: skip
    french = next(cmds for (_, lang), cmds in emulator.commands_by_scope.items() if lang == "fr")
    roles = next(c for c in french if c["command"] == "roles")
    assert roles["description"] == "Rôles et responsabilités"


async def test_a_rate_limited_reply_is_retried_after_the_pause(phone: Phone) -> None:
    phone.emulator.inject_fault(
        "sendMessage", status=429, description="Too Many Requests: retry after 1", retry_after=1
    )
    await phone.send("/help")
    # The outbox sender takes the reply over once the pause is over.
    await phone.wait_for("/language")
    assert phone.emulator.calls["sendMessage"] == 2


BULK_CHATS = range(9_000_000, 9_000_150)


async def test_a_reply_held_back_by_a_429_goes_before_a_due_bulk_queue(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    """A 429 sends the replies of its pause back to the queue; there they go before a due
    check-in or broadcast of thousands, not behind it (a member waited minutes for an answer)."""
    slow = settings.model_copy(update={"send_rate_per_s": 5.0})
    async with running_app(slow, clock) as app:
        assert app.session_factory is not None
        async with app.session_factory() as session:
            for chat_id in BULK_CHATS:
                emulator.open_chat(chat_id)
                await outbox.enqueue(
                    session, chat_id=chat_id, member_id=None, text="Weekly pulse", now=clock.now()
                )
            await session.commit()
        app.wake_sender()
        await emulator.wait_for_calls("sendMessage", 2)
        emulator.inject_fault(
            "sendMessage", status=429, description="Too Many Requests: retry after 1", retry_after=1
        )
        phone = Phone(emulator, app, user_id=1020)
        await phone.send("/help")
        await phone.wait_for("/language", timeout=60)
        bulk_sent = sum(len(emulator.messages(chat_id)) for chat_id in BULK_CHATS)
        assert bulk_sent < len(BULK_CHATS) // 2


async def failed_attempts(app: BotApp, attempts: int) -> None:
    """Wait until the outbox recorded the reply's `attempts`-th failure."""
    assert app.session_factory is not None
    async with asyncio.timeout(15):
        while True:
            async with app.session_factory() as session:
                (row,) = await outbox.list_messages(session)
            if row.attempts == attempts:
                return
            await asyncio.sleep(0.05)


async def retry_due(app: BotApp, clock: ManualClock) -> None:
    """Let the outbox's back-off pass (the database's clock is the test's) and wake the sender."""
    clock.advance(timedelta(minutes=15))
    app.wake_sender()


async def test_server_errors_and_timeouts_are_retried(
    phone: Phone, app: BotApp, clock: ManualClock
) -> None:
    phone.emulator.inject_fault("sendMessage", status=502, description="Bad Gateway")
    await phone.send("/help")
    await retry_due(app, clock)
    await phone.wait_for("/language")
    phone.emulator.inject_fault("sendMessage", status=200, description="slow", delay=3.0)
    await phone.send("/help")
    (_, again) = await phone.emulator.wait_for_messages(phone.user_id, 2)
    assert "/language" in again.plain_text


async def test_a_reply_that_keeps_failing_is_retried_and_logged(
    phone: Phone, app: BotApp, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    phone.emulator.inject_fault(
        "sendMessage", status=500, description="Internal Server Error", count=3
    )
    await phone.send("/help")
    assert phone.new() == []
    for attempts in (1, 2, 3):
        await failed_attempts(app, attempts)
        await retry_due(app, clock)
    await phone.wait_for("/language")
    failed = [r.getMessage() for r in caplog.records if "failed (" in r.getMessage()]
    assert [m.split(":")[1].strip()[:9] for m in failed] == ["attempt 1", "attempt 2", "attempt 3"]


async def test_a_member_who_blocked_the_bot_is_marked_blocked(phone: Phone, db: Database) -> None:
    for text in ("/start", "yes", "English", "Skip"):
        await phone.send(text)
    phone.emulator.block(phone.user_id)
    await phone.send("Municipality")
    member = await db.member(phone.user_id)
    assert member is not None and member.status == MemberStatus.BLOCKED
    phone.emulator.block(phone.user_id, blocked=False)
    phone.new()
    await phone.send("Town hall")
    assert "What is your role" in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None and member.status == MemberStatus.ACTIVE


def _run_bot(directory: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`partnerbot run` in `directory` until it exits on its own."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "run"],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_run_without_token_points_to_the_sandbox(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "BOT_TOKEN"}
    done = _run_bot(tmp_path, env)
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        == "partnerbot: BOT_TOKEN is not set. To try partnerbot without a token, run: make sandbox"
    )


def test_the_token_never_reaches_the_logs(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "BOT_TOKEN": TOKEN,
        "TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port()}/{TOKEN}",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'data' / 'bot.db'}",
        "FLOWS_DIR": str(ROOT / "flows"),
        "LOCALES_DIR": str(ROOT / "locales"),
        "REQUEST_RETRIES": "0",
        "LOG_LEVEL": "DEBUG",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),  # the new key file goes there
    }
    done = _run_bot(tmp_path, env)
    output = done.stdout + done.stderr
    assert done.returncode == 1
    assert "partnerbot stopped on an error" in output
    assert "Traceback" in output
    assert "Unclosed" not in output
    secret = TOKEN.split(":", 1)[1]
    assert secret not in output


def test_a_database_that_never_answers_stops_the_start_naming_it(tmp_path: Path) -> None:
    with socket.socket() as listener:
        # The kernel completes the handshake of queued connections: they are accepted, and
        # nothing ever answers on them.
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        port = int(listener.getsockname()[1])
        env = {
            **os.environ,
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": f"http://127.0.0.1:{closed_port()}",
            "DATABASE_URL": f"postgresql://partnerbot@127.0.0.1:{port}/partnerbot",
            "DATABASE_CONNECT_TIMEOUT_S": "1",
            "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "FLOWS_DIR": str(ROOT / "flows"),
            "LOCALES_DIR": str(ROOT / "locales"),
        }
        done = _run_bot(tmp_path, env)
    assert done.returncode == 1
    assert done.stderr.strip() == (
        f"partnerbot: the database at 127.0.0.1:{port} did not answer within 1 s "
        "(DATABASE_CONNECT_TIMEOUT_S); is PostgreSQL up and reachable?"
    )
