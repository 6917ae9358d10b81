"""What the simulator page relies on, without a browser: safe message HTML, its JSON routes and
event stream, and the bot taking edited flows and wording while it runs."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram.types import BufferedInputFile
from conftest import ROOT, Phone

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.web import ContentProblem, Persona, SandboxWeb
from bot.sandbox.web.base import WebError
from bot.sandbox.web.media import start_text
from bot.sandbox.web.render import entities_to_html, with_commands, with_links

# -- message HTML ---------------------------------------------------------------------------


def test_text_is_escaped_and_only_telegram_tags_are_made() -> None:
    text = "<script>alert(1)</script> & bold"
    shown = entities_to_html(text, [{"type": "bold", "offset": 28, "length": 4}])
    assert shown == "&lt;script&gt;alert(1)&lt;/script&gt; &amp; <b>bold</b>"


def test_entities_nest_and_count_in_utf16_units() -> None:
    text = "🎉 big news here"
    entities = [
        {"type": "italic", "offset": 3, "length": 13},
        {"type": "bold", "offset": 3, "length": 3},
        {"type": "custom_emoji", "offset": 0, "length": 2},
    ]
    assert entities_to_html(text, entities) == "🎉 <i><b>big</b> news here</i>"


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("javascript:alert(1)", "here"),
        ('https://example.org/?q="x"', '<a href="https://example.org/?q=&quot;x&quot;"'),
    ],
)
def test_links_keep_only_web_addresses(url: str, shown: str) -> None:
    html = entities_to_html("here", [{"type": "text_link", "offset": 0, "length": 4, "url": url}])
    assert html.startswith(shown)


def test_commands_in_text_become_buttons_except_in_code() -> None:
    text = "Send /roles, not /help in code or a/b"
    entities = with_commands(text, [{"type": "code", "offset": 17, "length": 5}])
    html = entities_to_html(text, entities)
    assert 'data-command="/roles">/roles</button>' in html
    assert "<code>/help</code>" in html
    assert "a/b" in html


# -- the routes and the event stream --------------------------------------------------------


class FakeHost:
    """The runner's host, reduced to a manual clock and a fixed outbox."""

    def __init__(self, clock: ManualClock, problems: Sequence[ContentProblem] = ()) -> None:
        self.clock = clock
        self.started = clock.now()
        self.problems = list(problems)
        self.watched: Sequence[Path] = ()

    def now(self) -> datetime:
        return self.clock.now()

    def ahead(self) -> timedelta:
        return self.clock.now() - self.started

    async def advance(self, by: str) -> datetime:
        hours = {"1h": 1, "1d": 24, "1w": 168}.get(by)
        if hours is None:
            raise ValueError(f"not a duration: {by!r}")
        return self.clock.advance(timedelta(hours=hours))

    async def outbox(self) -> dict[str, Any]:
        return {"counts": {"queued": 0, "sent": 0}, "latest": []}

    async def reload_content(self) -> list[ContentProblem]:
        return self.problems


@pytest.fixture
async def page_server() -> AsyncIterator[SandboxWeb]:
    emulator = BotAPIEmulator()
    page = SandboxWeb(emulator, [Persona(1001, "Fatou", "fr", "Community member")])
    await emulator.start()
    try:
        yield page
    finally:
        await page.stop()
        await emulator.stop()


@pytest.fixture
def emulator(page_server: SandboxWeb) -> BotAPIEmulator:
    """The conftest's bot polls the emulator that serves the page."""
    return page_server.emulator


async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    async for line in response.content:
        if line.startswith(b"data: "):
            yield json.loads(line[6:])


async def _next(events: AsyncIterator[dict[str, Any]], kind: str) -> dict[str, Any]:
    async for event in events:
        if event["type"] == kind:
            return event
    raise AssertionError(f"the stream ended before a {kind} event")


async def test_the_page_and_its_script_are_served(page_server: SandboxWeb) -> None:
    async with aiohttp.ClientSession(page_server.emulator.base_url) as http:
        async with http.get("/") as response:
            assert response.status == 200
            assert "partnerbot sandbox" in await response.text()
        async with http.get("/_sandbox/static/app.js") as response:
            assert response.status == 200
            assert "EventSource" in await response.text()


async def test_typing_reaches_the_bot_and_replies_stream_to_the_page(
    page_server: SandboxWeb, app: BotApp, clock: ManualClock
) -> None:
    page_server.start(FakeHost(clock))
    async with (
        aiohttp.ClientSession(page_server.emulator.base_url) as http,
        http.get("/_sandbox/events") as stream,
    ):
        events = _events(stream)
        snapshot = await anext(events)
        assert snapshot["type"] == "snapshot"
        assert [p["first_name"] for p in snapshot["personas"]] == ["Fatou"]

        async with http.post("/_sandbox/personas/1001/text", json={"text": "/start"}) as sent:
            assert sent.status == 200
        seen: list[dict[str, Any]] = []
        async for event in events:
            if event["type"] == "message":
                seen.append(event["entry"])
            if any(e["buttons"] for e in seen if e["from"] == "bot"):
                break
    assert (seen[0]["from"], seen[0]["text"]) == ("user", "/start")
    question = next(e for e in seen if e["from"] == "bot" and e["buttons"])
    assert "Êtes-vous d’accord" in question["html"]
    assert [b["text"] for b in question["buttons"][0]] == ["Oui", "Non"]

    async with aiohttp.ClientSession(page_server.emulator.base_url) as http:
        data = question["buttons"][0][0]["data"]
        press = {"message_id": question["message_id"], "data": data}
        async with http.post("/_sandbox/personas/1001/press", json=press) as pressed:
            assert pressed.status == 200
    await Phone(page_server.emulator, app, 1001).wait_for("Quelle langue")


async def test_photos_and_documents_link_to_the_emulators_file_route(
    page_server: SandboxWeb, app: BotApp, clock: ManualClock
) -> None:
    page_server.start(FakeHost(clock))
    emulator = page_server.emulator
    emulator.open_chat(1001, first_name="Fatou")
    assert app.bot is not None
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 40
    async with (
        aiohttp.ClientSession(emulator.base_url) as http,
        http.get("/_sandbox/events") as stream,
    ):
        events = _events(stream)
        await anext(events)  # the snapshot
        await app.bot.send_photo(1001, BufferedInputFile(png, "map.png"), caption="<b>Map</b>")
        await app.bot.send_document(1001, BufferedInputFile(b"a,b\n1,2\n", "report.csv"))
        photo = (await _next(events, "message"))["entry"]
        document = (await _next(events, "message"))["entry"]
        assert (photo["kind"], photo["html"]) == ("photo", "<b>Map</b>")
        assert (document["kind"], document["file_name"]) == ("document", "report.csv")
        assert "sandbox-token" not in document["file_url"]
        async with http.get(photo["file_url"]) as image:
            assert await image.read() == png
        async with http.get(document["file_url"]) as download:
            assert await download.read() == b"a,b\n1,2\n"


async def test_a_group_post_the_bot_cannot_read_is_shown_all_the_same(
    page_server: SandboxWeb, clock: ManualClock
) -> None:
    page_server.start(FakeHost(clock))
    emulator = page_server.emulator
    for persona in (Persona(1002, "Marc", "en"), Persona(1003, "Priya", "en")):
        page_server.personas[persona.user_id] = persona
    chat_id = emulator.create_group("Trust", creator=1001, supergroup=True, members=[1002])
    emulator.set_bot_status(chat_id, "member")  # not an admin: privacy mode applies
    page_server.groups.add(chat_id)
    posts = f"/_sandbox/groups/{chat_id}/posts"
    async with (
        aiohttp.ClientSession(emulator.base_url) as http,
        http.get("/_sandbox/events") as stream,
    ):
        events = _events(stream)
        [group] = (await anext(events))["groups"]
        assert (group["title"], group["bot_status"]) == ("Trust", "member")
        assert [(m["name"], m["status"]) for m in group["members"]] == [
            ("Fatou", "creator"),
            ("Marc", "member"),
        ]
        async with http.post(posts, json={"user_id": 1002, "text": "Shall we meet?"}) as sent:
            assert (await sent.json())["update_id"] is None
        entry = (await _next(events, "message"))["entry"]
        assert (entry["sender"], entry["text"]) == ("Marc", "Shall we meet?")
        assert entry["update_id"] is None
        async with http.post(posts, json={"user_id": 1002, "text": "/help"}) as command:
            update_id = (await command.json())["update_id"]
        assert (await _next(events, "message"))["entry"]["update_id"] == update_id is not None

        async with http.post(posts, json={"user_id": 1003, "text": "hello"}) as outsider:
            assert outsider.status == 400
            assert "not in group" in (await outsider.json())["error"]
        vote = {"user_id": 1002, "option_ids": [0]}
        async with http.post("/_sandbox/polls/404/votes", json=vote) as unknown:
            assert unknown.status == 400


async def test_personas_are_added_and_renamed(page_server: SandboxWeb) -> None:
    async with aiohttp.ClientSession(page_server.emulator.base_url) as http:
        new = {"first_name": "  Kofi ", "language_code": "en", "role": "Partner"}
        async with http.post("/_sandbox/personas", json=new) as added:
            assert added.status == 201
            assert await added.json() == {
                "user_id": 1002,
                "first_name": "Kofi",
                "language_code": "en",
                "role": "Partner",
                "admin": False,
            }
        async with http.patch("/_sandbox/personas/1002", json={"first_name": "Kwame"}) as renamed:
            assert (await renamed.json())["first_name"] == "Kwame"
        async with http.post("/_sandbox/personas", json={**new, "user_id": 1001}) as taken:
            assert taken.status == 409
        bad = {"first_name": "X", "language_code": "?"}
        async with http.post("/_sandbox/personas", json=bad) as refused:
            assert refused.status == 400
            assert "not a language code" in (await refused.json())["error"]
        async with http.patch("/_sandbox/personas/77", json={"first_name": "X"}) as unknown:
            assert unknown.status == 404
    assert page_server.personas[1002].first_name == "Kwame"


async def test_requests_that_are_not_json_or_come_too_early_are_refused(
    page_server: SandboxWeb,
) -> None:
    async with aiohttp.ClientSession(page_server.emulator.base_url) as http:
        async with http.post("/_sandbox/personas/1001/text", data="text=hi") as form:
            assert form.status == 415  # a cross-site form cannot post here
        async with http.post("/_sandbox/personas/1001/text", json={"text": "hi"}) as early:
            assert early.status == 503


async def test_the_clock_moves_and_bad_steps_are_refused(
    page_server: SandboxWeb, clock: ManualClock
) -> None:
    page_server.start(FakeHost(clock))
    before = clock.now()
    async with aiohttp.ClientSession(page_server.emulator.base_url) as http:
        async with http.post("/_sandbox/clock", json={"advance": "1d"}) as moved:
            shown = await moved.json()
            assert datetime.fromisoformat(shown["clock"]) == before + timedelta(1)
            assert shown["clock_ahead_s"] == 24 * 3600
        async with http.post("/_sandbox/clock", json={"advance": "soon"}) as bad:
            assert bad.status == 400
            assert "not a duration" in (await bad.json())["error"]


async def test_a_reload_problem_reaches_the_page(
    page_server: SandboxWeb, clock: ManualClock
) -> None:
    problem = ContentProblem("flows/x.yaml", "unknown target 'nowhere'", "x", "ask")
    page_server.start(FakeHost(clock, [problem]))
    async with (
        aiohttp.ClientSession(page_server.emulator.base_url) as http,
        http.get("/_sandbox/events") as stream,
    ):
        events = _events(stream)
        assert (await anext(events))["content"]["ok"] is True
        await page_server.reload()
        content = (await _next(events, "content"))["content"]
    assert content["ok"] is False
    assert content["problems"] == [
        {"file": "flows/x.yaml", "message": "unknown target 'nowhere'", "flow": "x", "node": "ask"}
    ]


# -- reloading flows and wording in a running bot -------------------------------------------


@pytest.fixture
async def authoring(
    settings: Settings, clock: ManualClock, tmp_path: Path
) -> AsyncIterator[tuple[BotApp, Path, Path]]:
    """A bot running on copies of flows/ and locales/ that the test edits."""
    flows, locales = tmp_path / "flows", tmp_path / "locales"
    shutil.copytree(ROOT / "flows", flows)
    shutil.copytree(ROOT / "locales", locales)
    bot_app = BotApp(
        settings.model_copy(update={"flows_dir": flows, "locales_dir": locales}), clock=clock
    )
    await bot_app.start()
    try:
        yield bot_app, flows, locales
    finally:
        await bot_app.stop()


async def test_edited_wording_is_used_at_once_and_broken_flows_are_refused(
    authoring: tuple[BotApp, Path, Path], emulator: BotAPIEmulator
) -> None:
    app, flows, locales = authoring
    phone = Phone(emulator, app, user_id=1002, first_name="Marc")
    await phone.send("/start")
    assert "Do you agree?" in phone.new_text()

    po = locales / "en" / "LC_MESSAGES" / "partnerbot.po"
    wording = po.read_text(encoding="utf-8")
    po.write_text(
        wording.replace('"Which language do you prefer?"', '"Which language suits you?"'),
        encoding="utf-8",
    )
    assert await app.reload_content() is None
    await phone.press("Yes")
    assert "Which language suits you?" in phone.new_text()

    onboarding = flows / "onboarding.yaml"
    onboarding.write_text(
        onboarding.read_text(encoding="utf-8").replace("next: time_zone", "next: nowhere"),
        encoding="utf-8",
    )
    error = await app.reload_content()
    assert error is not None
    assert [(p.file, p.flow, p.node, p.message) for p in error.problems] == [
        (str(onboarding), "onboarding", "language", "unknown target 'nowhere'")
    ]
    await phone.press("English")  # the previous, valid version keeps running
    assert "Which time zone are you in?" in phone.new_text()


# -- links to the bot opened on a phone -----------------------------------------------------


@pytest.mark.parametrize(
    ("link", "sent"),
    [
        ("https://t.me/partnerbot_sandbox_bot?start=Ab_9-x", "/start Ab_9-x"),
        ("t.me/Partnerbot_Sandbox_Bot", "/start"),
        ("tg://resolve?domain=partnerbot_sandbox_bot&start=tok", "/start tok"),
    ],
)
def test_a_link_to_the_bot_sends_start_with_its_parameter(link: str, sent: str) -> None:
    assert start_text(link, "partnerbot_sandbox_bot") == sent


@pytest.mark.parametrize(
    ("link", "said"),
    [
        ("https://t.me/other_bot?start=x", "opens @other_bot"),
        ("https://example.org/?start=x", "not a Telegram link"),
        ("https://t.me/partnerbot_sandbox_bot?start=a%20b", "Telegram refuses"),
    ],
)
def test_other_links_are_refused(link: str, said: str) -> None:
    with pytest.raises(WebError, match=said):
        start_text(link, "partnerbot_sandbox_bot")


def test_addresses_in_plain_text_become_links_as_telegram_marks_them() -> None:
    text = "Share https://t.me/b?start=x. Or t.me/b, then /start"
    html = entities_to_html(text, with_commands(text, with_links(text, [])))
    assert '<a href="https://t.me/b?start=x"' in html and "start=x</a>." in html
    assert '<a href="https://t.me/b"' in html
    assert 'data-command="/start"' in html
