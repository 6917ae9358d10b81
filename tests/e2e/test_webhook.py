"""Webhook mode: the real bot serving its webhook, fed by the emulator or by raw POSTs."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from conftest import WEBHOOK_SECRET as SECRET
from conftest import Database

from bot.app import BotApp
from bot.config import Settings
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import repo
from bot.storage.models import ProcessedUpdate
from bot.telegram.webhook import SECRET_HEADER

USER = 4242


@pytest.fixture
def start_app(start_bot: Callable[..., Awaitable[BotApp]]) -> Callable[[Settings], Any]:
    return functools.partial(start_bot, webhook=True)


def start_update(update_id: int, user_id: int = USER) -> dict[str, Any]:
    user = {"id": user_id, "is_bot": False, "first_name": "Amina", "language_code": "en"}
    return {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": 1_700_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": "Amina"},
            "from": user,
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def post(app: BotApp, update: dict[str, Any], secret: str | None = SECRET) -> int:
    assert app.settings.webhook_url is not None
    headers = {SECRET_HEADER: secret} if secret is not None else {}
    async with (
        aiohttp.ClientSession() as http,
        http.post(app.settings.webhook_url, json=update, headers=headers) as resp,
    ):
        return int(resp.status)


async def processed(app: BotApp) -> int:
    return int(await Database(app).count(ProcessedUpdate))


async def test_registers_its_webhook_with_the_secret(
    emulator: BotAPIEmulator, settings: Settings, start_app: Callable[[Settings], Any]
) -> None:
    app = await start_app(settings)
    assert emulator.webhook is not None
    assert emulator.webhook["url"] == app.settings.webhook_url
    assert emulator.webhook["secret_token"] == SECRET
    assert "message" in emulator.webhook["allowed_updates"]


async def test_requests_without_the_right_secret_are_refused(
    emulator: BotAPIEmulator, settings: Settings, start_app: Callable[[Settings], Any]
) -> None:
    app = await start_app(settings)
    assert await post(app, start_update(1), secret=None) == 401
    assert await post(app, start_update(2), secret="not-the-secret") == 401
    assert await post(app, start_update(3), secret=SECRET[:-1]) == 401
    assert app.tracker.handled == 0
    assert await processed(app) == 0
    assert emulator.messages(USER) == []


async def test_an_update_is_answered_only_once_it_is_recorded(
    emulator: BotAPIEmulator, settings: Settings, start_app: Callable[[Settings], Any]
) -> None:
    app = await start_app(settings)
    emulator.open_chat(USER, first_name="Amina")
    assert await post(app, start_update(10)) == 200
    # The answer came after the commit: the update id and the replies are already there.
    assert app.session_factory is not None
    async with app.session_factory() as session:
        assert not await repo.claim_update(session, update_id=10, now=app.clock.now())
    assert len(emulator.messages(USER)) == 2  # the welcome and the consent question


async def test_a_failure_before_the_commit_is_answered_500_and_telegram_delivers_again(
    emulator: BotAPIEmulator,
    settings: Settings,
    start_app: Callable[[Settings], Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = await start_app(settings)
    real_claim = repo.claim_update
    failures = 0

    async def flaky_claim(session: Any, *, update_id: int, now: Any) -> bool:
        nonlocal failures
        if failures == 0:
            failures += 1
            raise ConnectionError("the database went away")
        return await real_claim(session, update_id=update_id, now=now)

    monkeypatch.setattr(repo, "claim_update", flaky_claim)
    # Delivered by the emulator over the webhook, as Telegram would: a 500 makes it retry.
    update_id = emulator.send_text(USER, "/start", first_name="Amina")
    await emulator.wait_for_update_confirmed(update_id, timeout=15)
    assert failures == 1
    assert emulator.stats.webhook_failures == 1
    assert await processed(app) == 1
    # Nothing said of the failed try (it came again): the welcome and consent, once.
    shown = [m.plain_text for m in emulator.messages(USER)]
    assert len(shown) == 2 and not shown[0].startswith("Sorry")


async def test_the_same_update_sent_to_two_instances_is_handled_once(
    emulator: BotAPIEmulator, settings: Settings, start_app: Callable[[Settings], Any]
) -> None:
    first = await start_app(settings)
    second = await start_app(settings)
    emulator.open_chat(USER, first_name="Amina")
    update = start_update(77)
    statuses = await asyncio.gather(post(first, update), post(second, update))
    assert list(statuses) == [200, 200]
    assert first.tracker.times_handled(77) == 1 and second.tracker.times_handled(77) == 1
    assert await processed(first) == 1
    assert len(emulator.messages(USER)) == 2  # one welcome, one consent question: not twice
    if first.engine is not None and first.engine.dialect.name == "postgresql":
        # One database, one leader: the second instance follows.
        assert first.leadership is not None and first.leadership.is_leader
        assert second.leadership is not None and not second.leadership.is_leader
        # Every instance sends its own replies; only the leader claims what is due.
        assert first.sender is not None and first.sender.claiming
        assert second.sender is not None and not second.sender.claiming
        assert second.scheduler is None


async def test_health_and_metrics_are_served_beside_the_webhook(
    emulator: BotAPIEmulator, settings: Settings, start_app: Callable[[Settings], Any]
) -> None:
    app = await start_app(settings)
    assert await post(app, start_update(5)) == 200
    assert await post(app, start_update(6), secret="wrong") == 401
    # The chat is not open: the first reply is skipped, the second goes back to the queue,
    # where the claiming sender skips it too.
    assert app.sender is not None
    await app.sender.wait_idle()
    base = f"http://127.0.0.1:{app.settings.webhook_port}"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{base}/healthz") as resp:
            assert resp.status == 200
            health = await resp.json()
        async with http.get(f"{base}/metrics") as resp:
            assert resp.status == 200
            metrics = await resp.text()
    assert health["ok"] and health["database"] and health["leader"]
    assert health["mode"] == "webhook"
    assert "partnerbot_updates_handled_total 1.0" in metrics
    assert 'partnerbot_webhook_requests_total{result="unauthorized"} 1.0' in metrics
    assert "partnerbot_leader 1.0" in metrics
    # Read from the database: the welcome's rows may still be in it (their send is under way).
    assert 'partnerbot_outbox_depth{status="queued"} ' in metrics
    assert "partnerbot_update_seconds_bucket" in metrics


async def test_health_answers_503_from_the_moment_shutdown_begins_while_updates_still_land(
    emulator: BotAPIEmulator, settings: Settings, start_app: Callable[[Settings], Any]
) -> None:
    # Long enough for the requests below; the balancer's health checks run every few seconds.
    app = await start_app(settings.model_copy(update={"shutdown_grace_s": 3.0}))
    emulator.open_chat(USER, first_name="Amina")
    base = f"http://127.0.0.1:{app.settings.webhook_port}"
    stopping = asyncio.create_task(app.stop())
    async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as resp:
        assert resp.status == 503
        health = await resp.json()
    assert health["draining"] and not health["ok"]
    # The balancer may still route an update here before it notices: it is handled.
    assert await post(app, start_update(7)) == 200
    assert len(emulator.messages(USER)) == 2  # the welcome and the consent question
    await stopping
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz"):
            pass


async def test_an_update_it_cannot_read_is_logged_and_skipped(
    emulator: BotAPIEmulator,
    settings: Settings,
    start_app: Callable[[Settings], Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = await start_app(settings)
    user = {"id": USER, "is_bot": False, "first_name": "Amina"}
    chat = {"id": USER, "type": "private", "first_name": "Amina"}
    broken = {"message_id": 1, "from": user, "chat": chat, "date": "yesterday", "text": "hi"}
    skipped = emulator.post_update({"message": broken})
    # Answered 200 at once, not refused at each delivery: the member's next update comes.
    await emulator.wait_for_update_confirmed(skipped, timeout=15)
    assert emulator.stats.webhook_failures == 0
    assert f"update {skipped} cannot be read and is skipped" in caplog.text
    assert app.tracker.times_handled(skipped) == 1
    update_id = emulator.send_text(USER, "/start", first_name="Amina")
    await emulator.wait_for_update_confirmed(update_id, timeout=15)
    assert len(emulator.messages(USER)) == 2  # the welcome and the consent question
    # What is not an update at all is still refused.
    assert await post(app, {"message": broken}) == 400
    assert await post(app, {"update_id": "x"}) == 400
