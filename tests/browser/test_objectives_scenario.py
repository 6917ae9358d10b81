"""Measuring success in the sandbox's web simulator, in a real browser: Priya states one of her
company's objectives with its indicator, baseline and target, Marc (another partner) reads it
in /objectives, and Priya rates its progress."""

from __future__ import annotations

import re
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

OBJECTIVE = "Clean water in Pikine by 2027"


async def tick(phone: Locator, label: str) -> None:
    """Tick a multiple-choice option (its button reads "☐ 3. <label>")."""
    log = phone.get_by_role("log")
    await log.get_by_role("button", name=re.compile(rf"{re.escape(label)}$")).last.click()


async def test_a_partner_states_an_objective_another_reads_it_and_progress_is_rated(
    tmp_path: Path,
) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "objectives-scenario") as page,
    ):
        await page.goto(sandbox.url)
        priya, marc = phone_of(page, "Priya"), phone_of(page, "Marc")
        await onboard_in_english(priya, "Priya", "Private company", "AquaServ")
        await onboard_in_english(marc, "Marc", "Municipality", "Ville de Pikine")

        # Priya states an objective: kind, what, indicator, baseline, target, competencies.
        await type_in(priya, "Priya", "/objectives")
        await sees(priya, "No partner has stated an objective yet")
        await tap(priya, "State an objective", latest=True)
        await sees(priya, "Which kind of objective is it?")
        await tap(priya, "Social", latest=True)
        await sees(priya, "What does your organisation aim for?")
        await type_in(priya, "Priya", OBJECTIVE)
        await sees(priya, "Name the indicator")
        await type_in(priya, "Priya", "Households with a tap")
        await sees(priya, "Where does it stand today?")
        await type_in(priya, "Priya", "120")
        await sees(priya, "Where should it get?")
        await type_in(priya, "Priya", "400")
        await sees(priya, "Which competencies does reaching it call for?")
        await tick(priya, "Technical skills")
        await tap(priya, "Done", latest=True)
        await sees(priya, "Your objective is recorded")

        # Marc, another partner, reads it with how it is measured.
        await type_in(marc, "Marc", "/objectives")
        listed = marc.get_by_role("log").get_by_role("listitem").filter(has_text=OBJECTIVE)
        await expect(listed).to_contain_text("AquaServ (Private company)", timeout=WAIT_MS)
        await expect(listed).to_contain_text("baseline: 120", timeout=WAIT_MS)
        await expect(listed).to_contain_text("target: 400", timeout=WAIT_MS)

        # Priya rates progress on her own objective.
        await type_in(priya, "Priya", "/objectives")
        await tap(priya, f"Rate: {OBJECTIVE}", latest=True)
        await sees(priya, "From 1 (still at the baseline) to 5 (target reached)")
        await tap(priya, "3", latest=True)
        await sees(priya, "Your rating is recorded")
        await save_screenshot(page, "objectives-scenario")  # docs/img/mechanisms/objectives.png
