"""Ties to parent organisations in the sandbox's web simulator, clicked through in a real
browser: Ada (the coordinator) sets up the parent check in /schedules, it reaches Priya (a
private-sector partner's representative) the next day, Priya answers, asks for her briefing
pack with /brief and gets a one-page picture; Ada reads the trend with /report parent."""

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
from playwright.async_api import expect

pytestmark = [needs_chromium, pytest.mark.slow]
# The check must not wait for the morning, whatever time of day the test runs.
NO_QUIET_HOURS = {"QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00"}
DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


async def test_a_parent_check_and_a_briefing_pack(tmp_path: Path) -> None:
    async with (
        running_sandbox(tmp_path, env=NO_QUIET_HOURS) as sandbox,
        browser_page(tmp_path, "parent-scenario") as page,
    ):
        await page.goto(sandbox.url)
        ada, priya = phone_of(page, "Ada"), phone_of(page, "Priya")
        await onboard_in_english(ada, "Ada", "Municipality", "Partnership office")
        await onboard_in_english(priya, "Priya", "Private company", "Lakeside Water Ltd")

        # Ada: the parent check every day at midnight, for a day, to partners' representatives.
        # She pauses the weekly trust pulse (#1) first: on a Sunday, "+1 day" below would make it
        # due too, and Priya, in that conversation, would get the check only after it.
        await type_in(ada, "Ada", "/schedules")
        await tap(ada, "Pause #1", latest=True)
        await sees(ada, "Schedule #1 is paused")
        await type_in(ada, "Ada", "/schedules")
        await tap(ada, "New schedule", latest=True)
        await tap(ada, "Ties to your organisation", latest=True)
        await tap(ada, "Continue", latest=True)
        await tap(ada, "On days of the week", latest=True)
        for day in DAYS:
            await tap(ada, day, latest=True)
        await tap(ada, "Continue", latest=True)
        await tap(ada, "1", latest=True)
        await sees(ada, "At what time")
        await type_in(ada, "Ada", "00:00")
        await tap(ada, "The partnership’s time (UTC)", latest=True)
        await tap(ada, "1 d", latest=True)
        await tap(ada, "No reminders", latest=True)
        await sees(ada, "To: Municipality, Private company, Civil-society organisation, Other")
        await tap(ada, "Create", latest=True)
        await sees(ada, "is active. Next send:")  # created before the clock moves on

        # The next day the check reaches Priya; she answers by typing.
        await page.get_by_role("button", name="+1 day").click()
        await sees(priya, "A short check for partners")
        for question, answer in (
            ("still back what was agreed", "4"),
            ("Are approvals from your organisation", "yes"),
            ("Are the resources your organisation promised", "3"),
            ("Do you feel marginalised", "2"),
        ):
            await sees(priya, question)
            await type_in(priya, "Priya", answer)
        await sees(priya, "/brief gives you a one-page briefing")

        # Her briefing pack: one page to take home, figures under k shown as –.
        await type_in(priya, "Priya", "/brief")
        await sees(priya, "Briefing for your organisation")
        brief = priya.get_by_role("img", name="Photo from the bot")
        await expect(brief).to_have_count(1, timeout=WAIT_MS)
        await sees(priya, "Private company: Backing – · Approvals pending –")

        # Ada's trend report: one answer is under k, so the chart shows no figure yet.
        await type_in(ada, "Ada", "/report parent")
        await sees(ada, "Ties to parent organisations: feeling marginalised")
        await brief.scroll_into_view_if_needed()  # the page Priya takes home, in view
        await save_screenshot(page, "parent")
