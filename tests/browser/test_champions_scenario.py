"""The champions register in the sandbox's web simulator, in a real browser: Ada (the
coordinator) opens /champions, names Priya her company's lead and reads Priya's activity;
Priya is never shown it."""

from __future__ import annotations

from pathlib import Path

import pytest
from browser_harness import (
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
from playwright.async_api import expect

pytestmark = [needs_chromium, pytest.mark.slow]


async def test_a_coordinator_opens_champions_and_sees_a_key_persons_activity(
    tmp_path: Path,
) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "champions-scenario") as page,
    ):
        await page.goto(sandbox.url)
        ada, priya = phone_of(page, "Ada"), phone_of(page, "Priya")
        await onboard_in_english(ada, "Ada", "Municipality", "Partnership office")
        await onboard_in_english(priya, "Priya", "Private company", "Green Build Ltd")

        await type_in(ada, "Ada", "/champions")
        await sees(ada, "No key person yet.")
        await tap(ada, "Name a key person", latest=True)
        await sees(ada, "Which seat: the organisation's lead or its deputy?")
        await tap(ada, "lead", latest=True)
        await sees(ada, "Type the person's name")
        await type_in(ada, "Ada", "Priya")
        await tap(ada, "Priya · Green Build Ltd", latest=True)
        await sees(ada, "Priya is now the lead of Green Build Ltd.")
        await sees(ada, "#1 lead: Priya")
        await sees(ada, "check-ins answered 0 of 0")
        await sees(ada, "committees: none")
        await expect(priya.get_by_role("log")).not_to_contain_text("check-ins answered")
        await save_screenshot(page, "champions")
