"""The simulator's committee group, media and invitation links, clicked in a real browser: the
seeded forum shows what the bot posts in each topic and its polls, a persona votes from the
panel (named: a poll_answer the bot receives; anonymous: totals only) and types a command
there; a phone sends a voice note, a photo and a place; an invitation link opens on a phone.

The test speaks for the bot through the emulator's Bot API, as any bot may, so that the panel
is checked apart from what the bot's own features post (tests/browser/test_group_scenario.py).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from browser_harness import (
    WAIT_MS,
    Sandbox,
    browser_page,
    needs_chromium,
    onboard_in_english,
    phone_of,
    running_sandbox,
    save_screenshot,
    sees,
    type_in,
)
from playwright.async_api import Locator, Page, expect

from bot.sandbox.runner import SANDBOX_TOKEN

pytestmark = [needs_chromium, pytest.mark.slow]

GROUP = "Steering committee"


@asynccontextmanager
async def as_the_bot(sandbox: Sandbox) -> AsyncIterator[Bot]:
    """The sandbox bot's own token, to post what the panel is checked with."""
    server = TelegramAPIServer.from_base(sandbox.url.rstrip("/"))
    bot = Bot(
        SANDBOX_TOKEN,
        session=AiohttpSession(api=server),
        default=DefaultBotProperties(parse_mode="HTML"),
    )
    try:
        yield bot
    finally:
        await bot.session.close()


async def committee_group_id(sandbox: Sandbox) -> int:
    """The seeded group's chat id, as the page's state gives it."""
    async with aiohttp.ClientSession(sandbox.url) as http, http.get("/_sandbox/state") as got:
        state: dict[str, Any] = await got.json()
    [group] = state["groups"]
    assert group["title"] == GROUP
    return int(group["chat_id"])


async def bot_confirmed(sandbox: Sandbox, update_id: str) -> None:
    """The bot fetched the update and confirmed it (its next getUpdates offset)."""
    path = f"/_emulator/updates/{update_id}/confirmed"
    async with aiohttp.ClientSession(sandbox.url) as http, http.get(path) as answer:
        assert answer.status == 200, await answer.text()


async def update_of(item: Locator) -> str:
    """The update id a person's message in a chat arrived in."""
    key = await item.get_attribute("data-key")
    assert key is not None and key.startswith("u"), key
    return key[1:]


def topic(page: Page, name: str) -> Locator:
    """A forum topic of the committee group."""
    return page.get_by_role("article", name=GROUP).get_by_role("region", name=name)


async def post_in_group(page: Page, persona: str, text: str, where: str = "General") -> None:
    """Type `text` in the committee group as `persona`, in the topic `where`."""
    group = page.get_by_role("article", name=GROUP)
    await group.get_by_label("As").select_option(label=persona)
    await group.get_by_label("in", exact=True).select_option(label=where)
    await group.get_by_label("Message to the group").fill(text)
    await group.get_by_label("Message to the group").press("Enter")


async def test_the_group_shows_the_bots_posts_by_topic_and_votes_reach_it(
    tmp_path: Path,
) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "group-panel") as page,
        as_the_bot(sandbox) as bot,
    ):
        await page.goto(sandbox.url)
        group = page.get_by_role("article", name=GROUP)
        await expect(group).to_contain_text("Forum · 4 members · partnerbot: administrator")
        await expect(group).to_contain_text("Ada (owner), Fatou, Marc, Priya")
        chat_id = await committee_group_id(sandbox)

        decisions = await bot.create_forum_topic(chat_id, "decisions")
        thread = decisions.message_thread_id
        await bot.send_message(chat_id, "<b>Decision log</b> opens here.", message_thread_id=thread)
        await expect(topic(page, "decisions")).to_contain_text(
            "Decision log opens here.", timeout=WAIT_MS
        )
        await bot.send_poll(
            chat_id,
            "Adopt the market plan?",
            ["Agree", "Abstain", "Disagree"],
            is_anonymous=False,
            message_thread_id=thread,
        )
        named = topic(page, "decisions").get_by_role("group", name="Poll: Adopt the market plan?")
        await expect(named).to_contain_text("Poll, votes named · 0 votes", timeout=WAIT_MS)

        # Marc votes from the panel; members of a named poll see his choice, and so does the
        # bot, which asks for poll_answer updates (its decisions keep named votes).
        await group.get_by_label("As").select_option(label="Marc")
        await named.get_by_role("button", name="Agree", exact=True).click()
        await expect(named).to_contain_text("1 vote", timeout=WAIT_MS)
        voter = named.get_by_role("list", name="Who voted").get_by_role("listitem")
        await expect(voter).to_have_text("Marc: Agree (poll_answer)", timeout=WAIT_MS)

        # Of an anonymous poll, the panel (like the bot) learns the totals only.
        await bot.send_poll(chat_id, "Meet on Thursdays?", ["Yes", "No"], message_thread_id=thread)
        anonymous = topic(page, "decisions").get_by_role("group", name="Poll: Meet on Thursdays?")
        await group.get_by_label("As").select_option(label="Priya")
        await anonymous.get_by_role("button", name="No", exact=True).click()
        await expect(anonymous).to_contain_text("Anonymous poll · 1 vote", timeout=WAIT_MS)
        await expect(anonymous.get_by_role("list", name="Who voted")).to_have_count(0)

        # Ada, the group's owner, types a command in the group; the bot receives it.
        await post_in_group(page, "Ada", "/bind Steering")
        posted = topic(page, "General").get_by_role("listitem").filter(has_text="/bind Steering")
        await expect(posted).to_contain_text("Ada", timeout=WAIT_MS)
        await bot_confirmed(sandbox, await update_of(posted))
        await page.set_viewport_size({"width": 2300, "height": 1000})  # the panel and the phones
        await save_screenshot(page, "group-panel")


async def test_a_named_vote_reaches_the_bot_as_poll_answer(tmp_path: Path) -> None:
    # aiogram polls for the update kinds its routers handle: the decisions router handles
    # poll_answer, so Telegram (and the emulator) pass named votes on to this bot.
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "poll-answer") as page,
        as_the_bot(sandbox) as bot,
    ):
        await page.goto(sandbox.url)
        group = page.get_by_role("article", name=GROUP)
        chat_id = await committee_group_id(sandbox)
        await bot.send_poll(chat_id, "Adopt it?", ["Agree", "Block"], is_anonymous=False)
        poll = group.get_by_role("group", name="Poll: Adopt it?")
        await group.get_by_label("As").select_option(label="Marc")
        await poll.get_by_role("button", name="Agree", exact=True).click()
        voter = poll.get_by_role("list", name="Who voted").get_by_role("listitem")
        await expect(voter).to_have_text("Marc: Agree (poll_answer)", timeout=WAIT_MS)
        update_id = await voter.get_attribute("data-update-id")
        assert update_id is not None and update_id.isdigit()
        await bot_confirmed(sandbox, update_id)


async def test_a_phone_sends_a_voice_note_a_photo_and_a_place(tmp_path: Path) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "phone-media") as page,
    ):
        await page.goto(sandbox.url)
        marc = phone_of(page, "Marc")
        await marc.get_by_label("Voice note length in seconds").fill("7")
        await marc.get_by_role("button", name="Voice note").click()
        voice = marc.get_by_role("log").get_by_role("listitem").filter(has_text="Voice note 0:07")
        await expect(voice).to_have_count(1, timeout=WAIT_MS)
        # shown from the update the emulator queued: a message carrying a voice note
        await bot_confirmed(sandbox, await update_of(voice))

        await marc.get_by_label("Message from Marc").fill("The broken pump")
        await marc.get_by_role("button", name="Photo").click()
        photo = marc.get_by_role("log").get_by_role("listitem").filter(has_text="The broken pump")
        await expect(photo.get_by_role("img", name="Photo")).to_be_visible(timeout=WAIT_MS)
        await marc.get_by_role("button", name="Location").click()
        await sees(marc, "Location 14.6937, -17.4441")


async def test_an_invitation_link_opens_on_the_chosen_phone(tmp_path: Path) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "invitation-link") as page,
    ):
        await page.goto(sandbox.url)
        ada, priya = phone_of(page, "Ada"), phone_of(page, "Priya")
        await onboard_in_english(ada, "Ada", "Municipality", "Partnership office")
        await type_in(ada, "Ada", "/invite group private_sector")
        link = ada.get_by_role("log").get_by_role("link", name=re.compile(r"\?start="))
        await expect(link).to_have_count(1, timeout=WAIT_MS)
        token = (await link.inner_text()).rsplit("start=", 1)[1]

        await link.click()
        dialog = page.get_by_role("dialog", name="Open this link on which phone?")
        await dialog.get_by_role("button", name="Priya").click()
        await expect(dialog).to_be_hidden()
        await sees(priya, f"/start {token}")
        await sees(priya, "Do you agree?")
        await save_screenshot(page, "invitation-link")
