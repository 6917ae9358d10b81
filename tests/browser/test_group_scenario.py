"""Issue 18's sandbox scenario, clicked through in a real browser: Fatou joins through an
invitation link opened on her phone, Ada binds the seeded committee group, Fatou raises a
concern with a voice note (the card goes to the group's tickets topic, the voice note only to
the coordinators), Ada types /propose in the group and puts the proposal to the committee from
her private chat, Marc and Ada vote on its poll from the group panel, and a week later Ada's
outcome statement goes to the decisions topic and, through her answer to Fatou's ticket
(`#D1`), reaches Fatou.
"""

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
from test_concern_scenario import said
from test_group_panel import GROUP, post_in_group, topic

pytestmark = [needs_chromium, pytest.mark.slow]


async def tap_ending(phone: Locator, label: str) -> None:
    """Press the newest button whose label ends with `label` (a ✓ or a number may lead)."""
    buttons = phone.get_by_role("log").get_by_role("button", name=re.compile(f"{label}$"))
    await buttons.last.click()


async def test_invitation_concern_with_voice_note_proposal_and_outcome(tmp_path: Path) -> None:
    async with (
        running_sandbox(tmp_path) as sandbox,
        browser_page(tmp_path, "group-scenario") as page,
    ):
        await page.set_viewport_size({"width": 2300, "height": 1000})
        await page.goto(sandbox.url)
        fatou, marc, ada = (phone_of(page, n) for n in ("Fatou", "Marc", "Ada"))
        await onboard_in_english(ada, "Ada", "Municipality", "Partnership office")
        await onboard_in_english(marc, "Marc", "Municipality", "Town hall")

        # 1. Ada invites the community; Fatou opens the link on her phone and joins.
        await type_in(ada, "Ada", "/invite group community")
        link = ada.get_by_role("log").get_by_role("link", name=re.compile(r"\?start="))
        await expect(link).to_have_count(1, timeout=WAIT_MS)
        token = (await link.inner_text()).rsplit("start=", 1)[1]
        await link.click()
        await page.get_by_role("dialog").get_by_role("button", name="Fatou").click()
        await sees(fatou, f"/start {token}")
        await sees(fatou, "Êtes-vous d’accord ?")
        await tap(fatou, "Oui", latest=True)
        await tap(fatou, "Français", latest=True)
        await sees(fatou, "Dans quel fuseau horaire êtes-vous ?")
        await tap(fatou, "Passer", latest=True)
        await sees(fatou, "Votre invitation indique")
        await tap_ending(fatou, "Membre de la communauté")
        await sees(fatou, "Faites-vous partie d’un groupe")
        await tap(fatou, "Passer", latest=True)
        await sees(fatou, "Quel est votre rôle ?")
        await type_in(fatou, "Fatou", "Habitante")
        await sees(fatou, "Voulez-vous répondre")
        await tap(fatou, "Non", latest=True)
        await sees(fatou, "Envoyez /roles quand vous serez prêt")

        # 2. The committee, staffed; Ada (the group's owner) binds its group.
        for typed, answer in (
            ("/committee new Steering", "Committee #1"),
            ("/committee staff 1 9001", "Ada now sits on Steering."),
            ("/committee staff 1 1002", "Marc now sits on Steering."),
        ):
            await type_in(ada, "Ada", typed)
            await sees(ada, answer)
        await post_in_group(page, "Ada", "/bind Steering")
        posted = topic(page, "General").get_by_role("listitem").filter(has_text="/bind Steering")
        await expect(posted).to_have_count(1, timeout=WAIT_MS)
        await save_screenshot(page, "group-scenario-invited")
        for name in ("Digests and results", "Concerns", "Decisions"):  # one per purpose
            await expect(topic(page, name)).to_be_visible(timeout=WAIT_MS)

        # 3. Fatou raises a concern and adds a voice note; the committee's tickets topic gets
        # the card, without her name. Her voice would name her: it goes to the coordinators
        # privately, never to the group (nothing personal is posted there).
        await type_in(fatou, "Fatou", "/concern")
        await tap(fatou, "Confiance", latest=True)
        await tap(fatou, "La municipalité", latest=True)
        await tap(fatou, "Pas urgent", latest=True)
        await sees(fatou, "Décrivez votre préoccupation")
        await type_in(fatou, "Fatou", "Le marché est inondé à chaque pluie.")
        # The identity choice comes first: an anonymous raiser is warned before any media.
        await tap(fatou, "Donner mon nom", latest=True)
        await sees(fatou, "message vocal")
        await fatou.get_by_label("Voice note length in seconds").fill("9")
        await fatou.get_by_role("button", name="Voice note").click()
        await sees(fatou, "Reçu : 1.")
        await tap(fatou, "Terminé", latest=True)
        received = said(fatou, "a été transmise")
        await expect(received).to_have_count(1, timeout=WAIT_MS)
        found = re.search(r"C-[0-9A-Z]+", await received.inner_text())
        assert found, await received.inner_text()
        handle = found.group(0)
        tickets = topic(page, "Concerns")
        await expect(tickets).to_contain_text(handle, timeout=WAIT_MS)
        await expect(tickets).not_to_contain_text("Fatou")
        await expect(tickets).not_to_contain_text("Voice note")

        # 4. Ada types /propose in the group: it continues in her private chat, where she puts
        # a proposal to the committee; it comes back to the group as a named poll in the
        # decisions topic, and Marc and Ada vote from the panel (poll_answer, to the bot).
        await post_in_group(page, "Ada", "/propose")
        await expect(topic(page, "General")).to_contain_text(
            "I have written to you privately.", timeout=WAIT_MS
        )
        await sees(ada, "Who is the proposal put to?")
        await tap(ada, "The committee Steering", latest=True)
        await sees(ada, "What is proposed?")
        await type_in(ada, "Ada", f"Drain the market square ({handle})")
        await tap(ada, "Agree / abstain / disagree / block", latest=True)
        await tap(ada, "In 3 day(s)", latest=True)
        await tap(ada, "Named: I see who voted what", latest=True)
        await tap(ada, "Put the proposal", latest=True)
        await sees(ada, "Proposal #1 put as a poll in the committee's group (2 member(s))")
        decisions = topic(page, "Decisions")
        proposal = decisions.get_by_role("group", name=re.compile("Poll: #1 Drain"))
        await expect(proposal).to_contain_text("Poll, votes named", timeout=WAIT_MS)
        group = page.get_by_role("article", name=GROUP)
        for voter in ("Marc", "Ada"):
            await group.get_by_label("As").select_option(label=voter)
            await proposal.get_by_role("button", name="Agree", exact=True).click()
        voters = proposal.get_by_role("list", name="Who voted")
        await expect(voters).to_contain_text("Marc: Agree (poll_answer)", timeout=WAIT_MS)
        await expect(voters).to_contain_text("Ada: Agree (poll_answer)", timeout=WAIT_MS)

        # 5. A week on, the votes are closed; Ada writes the outcome statement, which goes to
        # the decisions topic (and the committee); her answer to Fatou's ticket names the
        # decision (#D1), so the outcome reaches Fatou, who was not asked.
        await page.get_by_role("button", name="+1 week").click()
        await sees(ada, "Proposal #1: votes are closed. Result: passed.")
        await tap(ada, "Write the outcome", latest=True)
        await sees(ada, "Proposal #1: write the outcome statement")
        await type_in(ada, "Ada", "The drains are cleared before the rains.")
        await sees(ada, "Decision #1: the outcome went to 2 member(s)")
        outcome = decisions.get_by_role("listitem").filter(has_text="Decision #1")
        await expect(outcome).to_contain_text("Result: passed.", timeout=WAIT_MS)
        await expect(outcome).to_contain_text("The drains are cleared before the rains.")
        await tap(ada, "Answer", latest=True)
        await sees(ada, f"Write your answer to {handle}")
        await type_in(ada, "Ada", "See #D1.")
        await sees(ada, f"Your answer to {handle} was passed on.")
        answered = said(fatou, f"Réponse à votre préoccupation {handle}")
        await expect(answered).to_contain_text("See #D1.", timeout=WAIT_MS)
        await expect(answered).to_contain_text(
            f"Drain the market square ({handle}): passed. The drains are cleared before the rains."
        )
        # The group scrolled to its tickets topic: the card, then the poll with its votes.
        await tickets.evaluate("topic => topic.scrollIntoView({block: 'start'})")
        await save_screenshot(page, "group-scenario")  # docs/img/group-panel.png
