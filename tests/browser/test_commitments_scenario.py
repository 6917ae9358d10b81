"""A commitment in the sandbox's web simulator, clicked through in a real browser: Ada (the
coordinator) records what City Hall commits to for AquaServe, Priya (AquaServe) reads it in
/commitments and proposes a later date, Marc (City Hall) agrees, Ada accepts, and both partners
hear the outcome."""

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


async def test_a_commitment_is_recorded_varied_and_the_outcome_announced(tmp_path: Path) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "commitments-scenario") as page,
    ):
        await page.goto(sandbox.url)
        ada, marc, priya = (phone_of(page, name) for name in ("Ada", "Marc", "Priya"))
        await onboard_in_english(ada, "Ada", "Municipality", "Partnership office")
        await onboard_in_english(marc, "Marc", "Municipality", "City Hall")
        await onboard_in_english(priya, "Priya", "Private company", "AquaServe")

        # Ada records the commitment, step by step.
        await type_in(ada, "Ada", "/new_commitment")
        await sees(ada, "Which partner commits?")
        await tap(ada, "City Hall", latest=True)
        await sees(ada, "Who at City Hall owns it?")
        await tap(ada, "Marc", latest=True)
        await sees(ada, "What do they commit to?")
        await type_in(ada, "Ada", "Provide a site for the water kiosk")
        await sees(ada, "By when?")
        await type_in(ada, "Ada", "2030-06-30")
        await sees(ada, "For whom?")
        await tap(ada, "AquaServe", latest=True)
        await sees(ada, "Which agreement or clause")
        await type_in(ada, "Ada", "MoU 2026, clause 4")
        await sees(ada, "Who: City Hall (Marc)")
        await tap(ada, "Save", latest=True)
        await sees(ada, "Commitment #1 is recorded")

        # Priya reads the register and proposes a later date.
        await type_in(priya, "Priya", "/commitments")
        await sees(priya, "Provide a site for the water kiosk: for AquaServe, by 2030-06-30.")
        await tap(priya, "Propose a change to #1", latest=True)
        await tap(priya, "Propose a change", latest=True)
        await sees(priya, "What change do you propose")
        await type_in(priya, "Priya", "September: the permit comes in August.")
        await sees(priya, "A new due date?")
        await type_in(priya, "Priya", "2030-09-30")
        await tap(priya, "Send to the partners", latest=True)
        await sees(priya, "Sent as variation #1")

        # Marc agrees; Ada accepts; both partners hear the outcome.
        await sees(marc, "AquaServe proposes a change")
        await tap(marc, "Agree", latest=True)
        await sees(ada, "AquaServe proposes a change")
        await tap(ada, "Accept (coordinator)", latest=True)
        for phone in (marc, priya):
            outcome = (
                phone.get_by_role("log")
                .get_by_role("listitem")
                .filter(has_text="Variation accepted")
            )
            await expect(outcome).to_contain_text("(1 agreed, 0 disagreed)", timeout=WAIT_MS)
        await type_in(priya, "Priya", "/commitments")
        boards = (
            priya.get_by_role("log")
            .get_by_role("listitem")
            .filter(has_text="what each partner committed to")
        )
        await expect(boards).to_have_count(2, timeout=WAIT_MS)
        await expect(boards.last).to_contain_text("by 2030-09-30.")
        await save_screenshot(page, "commitments")
