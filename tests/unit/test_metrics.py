"""Operations: Prometheus metrics, /healthz and /metrics in polling mode, JSON logs."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import socket
import sys
from datetime import timedelta

import aiohttp
from conftest import Phone, queue_news
from prometheus_client.parser import text_string_to_metric_families

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.logs import REDACTED, JsonFormatter
from bot.ops.metrics import Metrics, Snapshot
from bot.sandbox.emulator import BotAPIEmulator

TOKEN = "987654:AAH-very-secret-part"
WEBHOOK_SECRET = "hook-secret-abcdefgh"


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_cover_updates_latency_outbox_scheduler_and_leadership() -> None:
    metrics = Metrics()
    metrics.observe_update(0.02)
    metrics.observe_update(0.3)
    metrics.observe_webhook("ok")
    metrics.observe_webhook("unauthorized")
    snapshot = Snapshot(
        leader=True,
        leader_terms=2,
        updates_in_flight=3,
        deliveries={"sent": 40, "failed": 1},
        outbox_depth={"queued": 5, "sending": 2},
        outbox_oldest_age_s=12.5,
        scheduler_lag_s=0.25,
    )
    metrics.observe_reply_rate_limited()
    found = samples(metrics.render(snapshot).decode())
    assert found[("partnerbot_updates_handled_total", ())] == 2
    assert found[("partnerbot_update_seconds_count", ())] == 2
    assert found[("partnerbot_update_seconds_bucket", (("le", "0.025"),))] == 1
    assert found[("partnerbot_update_seconds_bucket", (("le", "0.5"),))] == 2
    assert found[("partnerbot_webhook_requests_total", (("result", "unauthorized"),))] == 1
    assert found[("partnerbot_leader", ())] == 1
    assert found[("partnerbot_leader_terms_total", ())] == 2
    assert found[("partnerbot_updates_in_flight", ())] == 3
    assert found[("partnerbot_outbox_deliveries_total", (("status", "sent"),))] == 40
    assert found[("partnerbot_outbox_depth", (("status", "queued"),))] == 5
    assert found[("partnerbot_outbox_depth", (("status", "sending"),))] == 2
    assert found[("partnerbot_scheduler_lag_seconds", ())] == 0.25
    assert found[("partnerbot_outbox_oldest_age_seconds", ())] == 12.5
    assert found[("partnerbot_reply_rate_limited_total", ())] == 1
    assert found[("process_resident_memory_bytes", ())] > 0
    assert found[("process_cpu_seconds_total", ())] > 0


def test_a_follower_without_database_figures_still_renders() -> None:
    found = samples(Metrics().render(Snapshot(leader=False, updates_in_flight=0)).decode())
    assert found[("partnerbot_leader", ())] == 0
    assert not any(name == "partnerbot_outbox_depth" for name, _ in found)


def test_json_logs_are_one_object_per_line_with_secrets_scrubbed() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(message)s", [TOKEN, WEBHOOK_SECRET]))
    logger = logging.getLogger("test.json")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.warning("calling /bot%s/getMe with %s", TOKEN, WEBHOOK_SECRET)
    try:
        raise RuntimeError(f"webhook secret {WEBHOOK_SECRET} refused for bot{TOKEN}")
    except RuntimeError:
        logger.exception("failed")
    lines = stream.getvalue().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["level"] for e in entries] == ["WARNING", "ERROR"]
    assert entries[0]["logger"] == "test.json" and entries[0]["time"].endswith("+00:00")
    assert REDACTED in entries[0]["message"] and REDACTED in entries[1]["exception"]
    text = stream.getvalue()
    assert "very-secret-part" not in text and WEBHOOK_SECRET not in text


async def test_polling_mode_serves_health_and_metrics_on_the_ops_port(
    settings: Settings, clock: ManualClock
) -> None:
    app = BotApp(settings.model_copy(update={"ops_port": 0, "ops_host": "127.0.0.1"}), clock=clock)
    await app.start()
    try:
        assert app.ops is not None and app.ops.port
        base = f"http://127.0.0.1:{app.ops.port}"
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{base}/healthz") as resp:
                assert resp.status == 200
                health = await resp.json()
            async with http.get(f"{base}/metrics") as resp:
                found = samples(await resp.text())
    finally:
        await app.stop()
    assert health["mode"] == "polling" and health["leader"] and health["database"]
    assert found[("partnerbot_leader", ())] == 1
    assert found[("partnerbot_outbox_depth", (("status", "queued"),))] == 0


async def _container_health_check(**environ: str) -> int:
    """Exit status of the image's HEALTHCHECK command with `environ` as the container's."""
    env = {k: v for k, v in os.environ.items() if k not in ("WEBHOOK_PORT", "OPS_PORT")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot.ops.healthcheck", env={**env, **environ}
    )
    return await asyncio.wait_for(process.wait(), timeout=30)


async def test_the_container_health_check_reads_its_ports_from_the_environment(
    settings: Settings, clock: ManualClock
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = str(probe.getsockname()[1])
    app = BotApp(settings.model_copy(update={"ops_port": 0, "ops_host": "127.0.0.1"}), clock=clock)
    await app.start()
    try:
        assert app.ops is not None
        serving = str(app.ops.port)
        assert await _container_health_check(OPS_PORT=serving, WEBHOOK_PORT=closed) == 0
        assert await _container_health_check(WEBHOOK_PORT=serving) == 0
        assert await _container_health_check(OPS_PORT=closed, WEBHOOK_PORT=closed) == 1
    finally:
        await app.stop()


async def _scrape(app: BotApp) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    assert app.ops is not None and app.ops.port
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{app.ops.port}/metrics") as resp,
    ):
        assert resp.status == 200
        return samples(await resp.text())


async def test_outbox_figures_come_from_the_database_and_survive_a_change_of_leader(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    polling = settings.model_copy(update={"ops_port": 0, "ops_host": "127.0.0.1"})
    chats = [880_001, 880_002, 880_003]
    first = BotApp(polling, clock=clock)
    await first.start()
    try:
        for chat_id in chats:
            emulator.open_chat(chat_id)
        assert first.session_factory is not None and first.sender is not None
        await queue_news(first.session_factory, chats, now=clock.now())
        first.wake_sender()
        for chat_id in chats:
            await emulator.wait_for_messages(chat_id, 1)
        await first.sender.wait_idle()
    finally:
        await first.stop()

    second = BotApp(polling, clock=clock)
    await second.start()
    try:
        assert second.session_factory is not None
        # Telegram answers the next send 429: the message goes back to the queue and waits.
        emulator.inject_fault(
            "sendMessage", status=429, description="Too Many Requests", retry_after=60
        )
        await queue_news(second.session_factory, [880_004], now=clock.now())
        second.wake_sender()
        await emulator.wait_for_calls("sendMessage", len(chats) + 1)
        clock.advance(timedelta(seconds=90))
        found = await _scrape(second)
    finally:
        await second.stop()
    assert found[("partnerbot_outbox_deliveries_total", (("status", "sent"),))] == len(chats)
    assert found[("partnerbot_outbox_oldest_age_seconds", ())] == 90
    depth = [found[("partnerbot_outbox_depth", (("status", s),))] for s in ("queued", "sending")]
    assert sum(depth) == 1
    assert found[("process_resident_memory_bytes", ())] > 0


async def test_429s_on_the_reply_path_are_counted(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    app = BotApp(settings.model_copy(update={"ops_port": 0, "ops_host": "127.0.0.1"}), clock=clock)
    await app.start()
    try:
        emulator.inject_fault(
            "sendMessage", status=429, description="Too Many Requests", retry_after=1
        )
        await Phone(emulator, app, user_id=880_100).send("/start")
        found = await _scrape(app)
    finally:
        await app.stop()
    assert found[("partnerbot_reply_rate_limited_total", ())] == 1
