"""An urgent concern routed by its category, clicked through in a real browser: Ada (the admin)
makes Marc a coordinator and hands trust concerns to the trust committee he sits on; Fatou
raises an urgent trust concern anonymously; it reaches Marc, not the steering group (Ada)."""

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
from test_concern_scenario import onboard_fatou_in_french, said

pytestmark = [needs_chromium, pytest.mark.slow]


async def test_an_urgent_concern_goes_to_the_committee_owning_its_category(
    tmp_path: Path,
) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "routing-scenario") as page,
    ):
        await page.goto(sandbox.url)
        fatou, marc, ada = (phone_of(page, n) for n in ("Fatou", "Marc", "Ada"))
        await onboard_in_english(ada, "Ada", "Municipality", "Partnership office")
        await onboard_in_english(marc, "Marc", "Municipality", "Town hall")
        await onboard_fatou_in_french(fatou)

        for typed, answer in (
            ("/promote 1002", "Marc"),
            ("/committee new Steering group", "Committee #1"),
            ("/committee staff 1 9001", "Ada now sits on Steering group."),
            ("/committee new Trust committee", "Committee #2"),
            ("/committee staff 2 1002", "Marc now sits on Trust committee."),
            ("/committee categories 2 trust", "Trust committee now receives the concerns"),
            ("/committees", "#2 Trust committee: Marc – handles: Trust"),
        ):
            await type_in(ada, "Ada", typed)
            await sees(ada, answer)

        await type_in(fatou, "Fatou", "/concern")
        await sees(fatou, "Sur quoi porte votre préoccupation ?")
        await tap(fatou, "Confiance", latest=True)
        await sees(fatou, "Quel partenaire est concerné ?")
        await tap(fatou, "La municipalité", latest=True)
        await sees(fatou, "Est-ce urgent ?")
        await tap(fatou, "Urgent", latest=True)
        await sees(fatou, "Décrivez votre préoccupation")
        await type_in(fatou, "Fatou", "Le marché ferme sans prévenir.")
        await tap(fatou, "Rester anonyme", latest=True)
        await sees(fatou, "Vous avez choisi de rester anonyme")
        await tap(fatou, "Non", latest=True)
        await sees(fatou, "sans votre nom")

        card = said(marc, "New concern")
        await expect(card).to_have_count(1, timeout=WAIT_MS)
        await expect(card).to_contain_text("Urgency: Urgent")
        await expect(card).to_contain_text("From: anonymous")
        await expect(card).not_to_contain_text("Fatou")
        await save_screenshot(page, "routing")
        # The steering group (Ada) does not receive what the trust committee handles.
        await expect(said(ada, "New concern")).to_have_count(0)
