"""A caucus round in the sandbox's web simulator, clicked through in a real browser: Ada opens a
round for the municipality's people briefing the joint forum, Marc and Ada answer it alone, see
their results first (Priya, another group, does not), Marc agrees, and closing the round sends
Priya's joint forum the brief with only the consented words."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_harness import (
    WAIT_MS,
    browser_page,
    needs_chromium,
    onboard_in_english,
    phone_of,
    running_sandbox,
    save_screenshot,
    sees,
    tap,
    type_in,
)
from playwright.async_api import Locator, expect

pytestmark = [needs_chromium, pytest.mark.slow]


async def answer(
    phone: Locator, name: str, kind: str, text: str, priority: str, quote: str
) -> None:
    """Take part through the round's invitation and answer every question."""
    await sees(phone, "Your group's own round")
    await tap(phone, "Take part", latest=True)
    await sees(phone, "an issue or an opportunity?")
    await tap(phone, kind, latest=True)
    await sees(phone, "In a few words")
    await type_in(phone, name, text)
    await sees(phone, "How pressing is it?")
    await tap(phone, priority, latest=True)
    await sees(phone, "May your words be quoted")
    await tap(phone, quote, latest=True)
    await sees(phone, "your point is in the Municipality round")


async def test_a_caucus_round_is_answered_shown_to_its_group_and_briefs_the_forum(
    tmp_path: Path,
) -> None:
    # Two people are enough to show figures here; the bot's default is five.
    async with (
        running_sandbox(tmp_path, {"REPORT_MIN_GROUP": "2"}) as sandbox,
        browser_page(tmp_path, "caucus-scenario") as page,
    ):
        await page.goto(sandbox.url)
        ada, marc, priya = (phone_of(page, n) for n in ("Ada", "Marc", "Priya"))
        await onboard_in_english(ada, "Ada", "Municipality", "Partnership office")
        await onboard_in_english(marc, "Marc", "Municipality", "Water department")
        await onboard_in_english(priya, "Priya", "Private company", "Builders Ltd")
        await type_in(ada, "Ada", "/committee new Joint forum")
        await sees(ada, "Committee #1 “Joint forum” created.")
        await type_in(ada, "Ada", "/committee staff 1 1003")
        await sees(ada, "Priya now sits on Joint forum.")

        # Ada opens a round for the municipality's people only.
        await type_in(ada, "Ada", "/caucus")
        await tap(ada, "Open a round", latest=True)
        await tap(ada, "Municipality", latest=True)
        await tap(ada, "Joint forum", latest=True)
        await type_in(ada, "Ada", "Water services review")
        await sees(ada, "2 member(s) will be invited.")
        await tap(ada, "Confirm", latest=True)
        await sees(ada, "Round #1 opened for Municipality")

        await answer(marc, "Marc", "An issue", "Old pipes burst every rainy season", "5", "Yes")
        await answer(ada, "Ada", "An opportunity", "A shared repair crew", "4", "No")

        # The results go to the group first; Priya's group is not shown them.
        await type_in(ada, "Ada", "/caucus")
        await tap(ada, "#1 Municipality: show the group its results", latest=True)
        await tap(ada, "Confirm", latest=True)
        await sees(ada, "results shown to Municipality, 2 member(s)")
        await sees(marc, "what you said together")
        await sees(marc, "Old pipes burst every rainy season")
        await expect(marc.get_by_role("log")).not_to_contain_text("A shared repair crew")
        await expect(priya.get_by_role("log")).not_to_contain_text("what you said together")
        await tap(marc, "Agree", latest=True)
        await sees(marc, "your reaction is counted")

        # Closing the round sends the joint forum the brief.
        await type_in(ada, "Ada", "/caucus")
        await tap(ada, "#1 Municipality: close, brief the committee", latest=True)
        await tap(ada, "Confirm", latest=True)
        await sees(ada, "the brief went to Joint forum")
        brief = priya.get_by_role("log")
        await expect(brief).to_contain_text("Brief from the Municipality round", timeout=WAIT_MS)
        await expect(brief).to_contain_text("Old pipes burst every rainy season")
        await expect(brief).not_to_contain_text("A shared repair crew")
        await save_screenshot(page, "caucus")
