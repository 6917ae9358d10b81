"""An anonymous concern in the sandbox's web simulator, clicked through in a real browser:
Fatou raises it, Ada (the coordinator) answers it and moves it to done, Fatou hears every step
and replies, and nothing Ada is shown names Fatou."""

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


def said(phone: Locator, text: str) -> Locator:
    """The messages in that phone's chat that contain `text`."""
    return phone.get_by_role("log").get_by_role("listitem").filter(has_text=text)


async def tap_latest(phone: Locator, label: str) -> None:
    """Press the newest button with that label: earlier cards may offer the same one."""
    await tap(phone, label, latest=True)


async def onboard_fatou_in_french(fatou: Locator) -> None:
    await fatou.get_by_role("button", name="Start").click()
    await sees(fatou, "Êtes-vous d’accord ?")
    await tap_latest(fatou, "Oui")
    await sees(fatou, "Quelle langue préférez-vous ?")
    await tap_latest(fatou, "Français")
    await sees(fatou, "Dans quel fuseau horaire êtes-vous ?")
    await tap_latest(fatou, "Passer")
    await tap_latest(fatou, "Membre de la communauté")
    await sees(fatou, "Faites-vous partie d’un groupe")
    await tap_latest(fatou, "Passer")
    await sees(fatou, "Quel est votre rôle ?")
    await type_in(fatou, "Fatou", "Habitante")
    await sees(fatou, "Voulez-vous répondre")
    await tap_latest(fatou, "Non")
    await sees(fatou, "Envoyez /roles quand vous serez prêt")


async def test_an_anonymous_concern_is_answered_moved_to_done_and_replied_to(
    tmp_path: Path,
) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "concern-scenario") as page,
    ):
        await page.goto(sandbox.url)
        fatou, ada = phone_of(page, "Fatou"), phone_of(page, "Ada")
        await onboard_in_english(ada, "Ada", "Municipality", "Partnership office")
        await onboard_fatou_in_french(fatou)

        # Fatou raises a concern, anonymously.
        await type_in(fatou, "Fatou", "/concern")
        await sees(fatou, "Sur quoi porte votre préoccupation ?")
        await tap_latest(fatou, "Confiance")
        await sees(fatou, "Quel partenaire est concerné ?")
        await tap_latest(fatou, "La municipalité")
        await sees(fatou, "Est-ce urgent ?")
        await tap_latest(fatou, "Urgent")
        await sees(fatou, "Décrivez votre préoccupation")
        await type_in(fatou, "Fatou", "Les réunions changent d’heure sans prévenir.")
        await sees(fatou, "Les coordinateurs doivent-ils savoir que c’est vous ?")
        await tap_latest(fatou, "Rester anonyme")
        await sees(fatou, "Vous avez choisi de rester anonyme")
        await tap_latest(fatou, "Non")
        received = said(fatou, "sans votre nom")
        await expect(received).to_have_count(1, timeout=WAIT_MS)
        found = re.search(r"C-[0-9A-Z]+", await received.inner_text())
        assert found, await received.inner_text()
        handle = found.group(0)

        # Ada receives the ticket: anonymous, nothing naming Fatou.
        card = said(ada, f"New concern {handle}")
        await expect(card).to_have_count(1, timeout=WAIT_MS)
        await expect(card).to_contain_text("From: anonymous")
        await expect(card).to_contain_text("Les réunions changent d’heure sans prévenir.")
        await expect(card).not_to_contain_text("Fatou")
        await save_screenshot(page, "concern-raised-anonymously")

        # Ada answers; Fatou reads the answer.
        await tap_latest(ada, "Answer")
        await sees(ada, f"Write your answer to {handle}")
        await type_in(ada, "Ada", "We will put it on Monday’s agenda.")
        await sees(ada, f"Your answer to {handle} was passed on.")
        answer = said(fatou, f"Réponse à votre préoccupation {handle}")
        await expect(answer).to_contain_text("We will put it on Monday’s agenda.", timeout=WAIT_MS)

        # Fatou replies with the answer's Reply button; Ada reads it without a name.
        await tap_latest(fatou, "Répondre")
        await sees(fatou, "toujours sans votre nom")
        await type_in(fatou, "Fatou", "Merci, surtout celles du jeudi.")
        await sees(fatou, "Votre réponse a été transmise aux coordinateurs")
        reply = said(ada, f"Reply about concern {handle}")
        await expect(reply).to_contain_text("Merci, surtout celles du jeudi.", timeout=WAIT_MS)
        await expect(reply).to_contain_text("(anonymous)")
        await expect(reply).not_to_contain_text("Fatou")

        # Ada moves the ticket on, step by step; Fatou hears each step.
        steps = (
            ("Discussed", "discussed in committee", "a été discutée en comité"),
            ("Action agreed", "action agreed", "Une action a été décidée"),
            ("Done", "done", "l’action sur votre préoccupation"),
        )
        for button, status, fatou_hears in steps:
            await tap_latest(ada, button)
            await sees(ada, f"{handle} is now: {status}.")
            await expect(said(fatou, fatou_hears)).to_contain_text(handle, timeout=WAIT_MS)
        # The outbox panel lists what went to Ada; what went to Fatou left no row behind.
        outbox_rows = page.locator("#outbox-rows tbody tr")
        await expect(outbox_rows.filter(has_text="Ada").first).to_contain_text(
            "sent", timeout=WAIT_MS
        )
        await expect(page.locator("#outbox-counts")).to_contain_text(
            re.compile(r"[1-9]\d* sent"), timeout=WAIT_MS
        )
        await expect(outbox_rows.filter(has_text="Fatou")).to_have_count(0, timeout=WAIT_MS)
        await save_screenshot(page, "concern-done")

        # Fatou's list says where her concern stands; Ada has nothing open.
        await type_in(fatou, "Fatou", "/concerns")
        await sees(fatou, f"{handle} (anonyme) – réalisée – Confiance")
        await type_in(ada, "Ada", "/tickets")
        await sees(ada, "No open concern.")
        await expect(ada.get_by_role("log")).not_to_contain_text("Fatou")
        await save_screenshot(page, "concern-scenario")
