"""The sandbox's web simulator in a real browser: `partnerbot sandbox` as a newcomer runs it,
Debian's headless Chromium clicking through the page as the personas would."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from browser_harness import (
    ROOT,
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
from playwright.async_api import expect

pytestmark = [needs_chromium, pytest.mark.slow]


async def test_a_community_member_onboards_in_french_by_clicking(tmp_path: Path) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "onboarding-in-french") as page,
    ):
        await page.goto(sandbox.url)
        fatou = phone_of(page, "Fatou")
        await expect(fatou).to_contain_text("Community member, writes French")

        await fatou.get_by_role("button", name="Start").click()
        await sees(fatou, "Êtes-vous d’accord ?")
        await expect(fatou.get_by_role("log").locator("b", has_text="partnerbot")).to_be_visible()
        await tap(fatou, "Oui")
        await sees(fatou, "Quelle langue préférez-vous ?")
        await tap(fatou, "Français")
        await sees(fatou, "Dans quel fuseau horaire êtes-vous ?")
        await tap(fatou, "Passer")
        await tap(fatou, "Membre de la communauté")
        await sees(fatou, "Faites-vous partie d’un groupe")
        await tap(fatou, "Passer")
        await sees(fatou, "Quel est votre rôle ?")
        await type_in(fatou, "Fatou", "Habitante")
        await tap(fatou, "Non")
        await sees(fatou, "Envoyez /roles quand vous serez prêt")
        # answered questions lose their buttons, as the bot edits them in place
        await expect(fatou.get_by_role("button", name="Oui", exact=True)).to_have_count(0)
        await expect(fatou.get_by_role("button", name="/roles")).to_be_visible()
        await save_screenshot(page, "onboarding-in-french")

        clock = page.locator("#clock-now")
        await expect(clock).not_to_have_text("…", timeout=WAIT_MS)
        before = await clock.inner_text()
        await page.get_by_role("button", name="+1 week").click()
        await expect(clock).not_to_have_text(before, timeout=WAIT_MS)
        # a week on, scheduled check-ins (if any are due) have arrived through the outbox
        await save_screenshot(page, "a-week-later")


async def test_a_coordinator_broadcast_reaches_another_phone(tmp_path: Path) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "coordinator-broadcast") as page,
    ):
        await page.goto(sandbox.url)
        ada, marc = phone_of(page, "Ada"), phone_of(page, "Marc")
        await onboard_in_english(ada, "Ada", "Municipality", "Partnership office")
        await onboard_in_english(marc, "Marc", "Municipality", "Town hall")

        await type_in(ada, "Ada", "/broadcast")
        await sees(ada, "What should the update say?")
        await type_in(ada, "Ada", "Water cut on Monday, 8–12h.")
        await sees(ada, "Who should receive it?")
        await tap(ada, "Continue")
        await tap(ada, "One text for all")
        await sees(ada, "Is it urgent?")
        await tap(ada, "Yes")  # urgent: not held back by quiet hours, whenever the test runs
        await tap(ada, "Send now")
        await sees(ada, "Ready to send")
        await tap(ada, "Send")

        await sees(marc, "Water cut on Monday, 8–12h.")
        await expect(page.locator("#outbox-counts")).to_contain_text(
            re.compile(r"[1-9]\d* sent"), timeout=WAIT_MS
        )
        delivered = page.locator("#outbox-rows tr", has_text="Marc")
        await expect(delivered).to_contain_text("Water cut", timeout=WAIT_MS)
        await expect(delivered).to_contain_text("sent", timeout=WAIT_MS)
        await save_screenshot(page, "coordinator-broadcast")


async def test_a_broken_flow_shows_its_error_and_the_last_good_version_runs(
    tmp_path: Path,
) -> None:
    flows = tmp_path / "flows"
    shutil.copytree(ROOT / "flows", flows)
    onboarding = flows / "onboarding.yaml"
    good = onboarding.read_text(encoding="utf-8")
    broken = good.replace("      - goto: language\n", "      - goto: nowhere\n")
    assert broken != good

    env = {"FLOWS_DIR": str(flows), "LOCALES_DIR": str(ROOT / "locales")}
    async with (
        running_sandbox(tmp_path, env) as sandbox,
        browser_page(tmp_path, "broken-flow") as page,
    ):
        await page.goto(sandbox.url)
        marc = phone_of(page, "Marc")
        await marc.get_by_role("button", name="Start").click()
        await sees(marc, "Do you agree?")

        onboarding.write_text(broken, encoding="utf-8")
        problem = page.get_by_role("alert").filter(has_text="The flows have a problem")
        await expect(problem).to_contain_text(
            "onboarding.yaml, flow onboarding, node consent: unknown target 'nowhere'",
            timeout=WAIT_MS,
        )
        await tap(marc, "Yes")
        await sees(marc, "Which language do you prefer?")
        await save_screenshot(page, "broken-flow")

        onboarding.write_text(good, encoding="utf-8")
        await expect(problem).to_have_count(0, timeout=WAIT_MS)
        await expect(page.locator("#content-status")).to_contain_text("reloaded")
    # the author's terminal said it too
    assert "unknown target 'nowhere'" in sandbox.printed
    assert "flows and wording reloaded" in sandbox.printed
