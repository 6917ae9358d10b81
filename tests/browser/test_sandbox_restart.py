"""`partnerbot sandbox` stopped with Ctrl-C and started again on the same database: the
emulator continues where it stopped (update ids, chats, their messages), and so does the
sandbox clock. Driven through the page's and the emulator's HTTP routes, no browser needed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from browser_harness import running_sandbox

pytestmark = pytest.mark.slow

MARC, FATOU = 1002, 1001
WAIT_S = 30


async def _say(http: aiohttp.ClientSession, user_id: int, text: str) -> None:
    async with http.post(f"/_sandbox/personas/{user_id}/text", json={"text": text}) as response:
        assert response.status == 200, await response.text()


async def _bot_messages(
    http: aiohttp.ClientSession, chat_id: int, count: int
) -> list[dict[str, Any]]:
    """The bot's messages in chat_id once it holds at least `count` of them."""
    query = {"count": str(count), "timeout": str(WAIT_S)}
    async with http.get(f"/_emulator/chats/{chat_id}/wait", params=query) as response:
        body = await response.json()
        assert response.status == 200, body
        return list(body)


async def _status(http: aiohttp.ClientSession) -> dict[str, Any]:
    """The first status event the page's stream sends (the clock and the outbox)."""
    async with http.get("/_sandbox/events") as response:
        events: AsyncIterator[bytes] = response.content.__aiter__()
        async for line in events:
            if line.startswith(b"data: "):
                event = json.loads(line[6:])
                if event["type"] == "status":
                    return dict(event)
    raise AssertionError("the page's stream ended before a status event")


async def test_a_second_start_on_the_same_database_continues_the_first(tmp_path: Path) -> None:
    async with running_sandbox(tmp_path) as first, aiohttp.ClientSession(first.url) as http:
        await _say(http, MARC, "/start")
        *_, question = before = await _bot_messages(http, MARC, 2)  # a welcome, a question
        async with http.get("/_sandbox/state") as response:
            [group] = (await response.json())["groups"]  # seeded at the first start
        assert question["buttons"], question
        async with http.post("/_sandbox/clock", json={"advance": "1d"}) as response:
            moved = datetime.fromisoformat((await response.json())["clock"])

    async with running_sandbox(tmp_path) as second, aiohttp.ClientSession(second.url) as http:
        status = await _status(http)
        assert datetime.fromisoformat(status["clock"]) >= moved.replace(second=0, microsecond=0)
        assert status["clock_ahead_s"] >= 24 * 3600
        async with http.get("/_sandbox/state") as response:
            state = await response.json()
        shown = state["transcripts"][str(MARC)]
        assert state["groups"] == [group]  # the same group, not seeded again
        assert [e["message_id"] for e in shown if e["from"] == "bot"] == [
            m["message_id"] for m in before
        ]

        # a member new to this run is answered: update ids went on from the first run's
        await _say(http, FATOU, "/start")
        assert await _bot_messages(http, FATOU, 1)

        # Marc's first-run question still takes a press, and the bot can write to him
        label, data = question["buttons"][0]
        press = {"message_id": question["message_id"], "data": data}
        async with http.post(f"/_sandbox/personas/{MARC}/press", json=press) as response:
            assert response.status == 200, f"pressing {label!r}: {await response.text()}"
        messages = await _bot_messages(http, MARC, len(before) + 1)
        ids = [m["message_id"] for m in messages]
        assert ids == sorted(set(ids)) and ids[: len(before)] == [m["message_id"] for m in before]
    assert "chat not found" not in (tmp_path / "sandbox.log").read_text()
