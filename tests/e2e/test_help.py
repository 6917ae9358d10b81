"""/help lists what each reader can do: coordinators' commands for coordinators, /brief for
partners' representatives only, in the reader's language."""

from __future__ import annotations

from conftest import Phone, onboard

from bot.app import BotApp
from bot.sandbox.emulator import BotAPIEmulator


async def test_help_lists_invite_for_coordinators_and_brief_for_representatives(
    admin: Phone, phone: Phone, french_phone: Phone, emulator: BotAPIEmulator, app: BotApp
) -> None:
    await admin.send("/help")
    shown = admin.new_text()
    assert "/invite – invitation links with a QR code" in shown

    await onboard(phone)  # a community member: no partner organisation to brief
    await phone.send("/help")
    shown = phone.new_text()
    assert "/brief" not in shown and "/invite" not in shown

    clerk = Phone(emulator, app, user_id=1040, first_name="Jo")
    await onboard(clerk, group="Municipality")
    await clerk.send("/help")
    shown = clerk.new_text()
    assert "/brief – a one-page briefing" in shown and "/invite" not in shown

    await onboard(french_phone, group="Municipalité", language="Français")
    await french_phone.send("/help")
    assert "/brief – une page de synthèse" in french_phone.new_text()
