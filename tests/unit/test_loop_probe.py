"""The event-loop lag probe of a running bot: its histogram in /metrics, and one warning naming
whatever held the loop past 250 ms."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
import pytest
from test_metrics import samples

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.ops.lag import LoopProbe

WAIT_S = 10.0


async def until(condition: Callable[[], bool], what: str) -> None:
    """Wait (bounded) until `condition()` holds, yielding to the loop between looks."""
    try:
        async with asyncio.timeout(WAIT_S):
            while not condition():
                await asyncio.sleep(0.005)
    except TimeoutError:
        pytest.fail(f"waited {WAIT_S} s for {what}")


def hold_the_loop_for(seconds: float) -> None:
    """A call that blocks the event loop's thread, as a synchronous driver or a chart would."""
    time.sleep(seconds)


async def blocking_job(seconds: float) -> None:
    hold_the_loop_for(seconds)


async def test_the_lag_histogram_is_served_on_metrics(
    settings: Settings, clock: ManualClock
) -> None:
    app = BotApp(settings.model_copy(update={"ops_port": 0, "ops_host": "127.0.0.1"}), clock=clock)
    await app.start()
    try:
        assert app.ops is not None and app.ops.port and app.probe is not None
        probe = app.probe
        await until(lambda: probe.samples >= 3, "three lag samples")
        url = f"http://127.0.0.1:{app.ops.port}/metrics"
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            found = samples(await resp.text())
    finally:
        await app.stop()
    assert found[("partnerbot_event_loop_lag_seconds_count", ())] >= 3
    assert ("partnerbot_event_loop_lag_seconds_bucket", (("le", "0.02"),)) in found
    assert ("partnerbot_event_loop_lag_seconds_bucket", (("le", "0.25"),)) in found


async def test_a_call_holding_the_loop_past_250_ms_is_named_once(
    app: BotApp, caplog: pytest.LogCaptureFixture
) -> None:
    assert app.probe is not None
    probe = app.probe
    caplog.set_level(logging.WARNING, logger="bot.ops.lag")

    def naming_it() -> list[str]:
        found = [r.getMessage() for r in caplog.records if r.name == "bot.ops.lag"]
        return [message for message in found if "blocking_job" in message]

    await asyncio.create_task(blocking_job(0.3))
    await until(lambda: bool(naming_it()), "a warning naming the blocking job")
    seen = probe.samples
    await until(lambda: probe.samples >= seen + 5, "five samples after the stall")

    # one warning for one stall (a busy machine may add others, naming something else)
    assert len(naming_it()) == 1, naming_it()
    message = naming_it()[0]
    assert "hold_the_loop_for" in message, message
    held_ms = float(message.split(" ms ")[0].rsplit(" ", 1)[1])
    assert held_ms > 250, message


async def test_every_sample_reaches_the_histogram_and_stop_is_idempotent() -> None:
    observed: list[float] = []
    probe = LoopProbe(observed.append)
    probe.start()
    await until(lambda: len(observed) >= 3, "three samples")
    await probe.stop()
    await probe.stop()
    assert probe.samples == len(observed) and all(lag >= 0 for lag in observed)
