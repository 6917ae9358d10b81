"""Guided commands share one mechanism: several drafts may be open at once per coordinator."""

from __future__ import annotations

from conftest import Phone, go_on_without_media, onboard

from bot.app import BotApp
from bot.sandbox.emulator import BotAPIEmulator


async def raise_concern(phone: Phone) -> None:
    await phone.send("/concern")
    for label in ("Trust", "The municipality", "Urgent"):
        await phone.press(f". {label}")
    await phone.send("Nobody answers the phone at the town hall.")
    await phone.press("Give my name")
    await go_on_without_media(phone)


async def test_answering_a_ticket_keeps_an_unfinished_broadcast(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp
) -> None:
    member = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(member, "Community member")
    await admin.send("/broadcast")
    await admin.send("Assembly on Friday")
    audience = admin.last
    assert "Who should receive it?" in audience.plain_text

    await raise_concern(member)
    new = await admin.wait_for("New concern")
    admin.new()
    await admin.press("Answer", message=new)
    assert "Write your answer to" in admin.new_text()
    await admin.send("We will call you on Monday.")
    assert "was passed on" in admin.new_text()

    # The broadcast's own buttons still lead on, and its draft kept the text.
    await admin.press("Continue", message=audience)
    assert "Send one text to all" in admin.new_text()
    await admin.press("One text for all")
    await admin.press("No")
    await admin.press("Send now")
    assert "Assembly on Friday" in admin.new_text()


async def test_typed_text_goes_to_the_newest_draft_and_the_others_resume(admin: Phone) -> None:
    await admin.send("/proxy")
    assert "Which questionnaire" in admin.new_text()
    await admin.send("/forget")
    asked = admin.new_text()
    assert "Erase everything" in asked
    assert "Also still open: recording answers for someone." in asked

    await admin.send("No")
    said = admin.new_text()
    assert "Nothing was erased" in said
    assert "Also still open: recording answers for someone." in said
    await admin.press("Resume: recording answers for someone")
    assert "Which questionnaire" in admin.new_text()
    await admin.press("Trust pulse")
    assert "stakeholder group" in admin.new_text()


async def test_cancel_drops_only_the_newest_draft(admin: Phone) -> None:
    await admin.send("/proxy")
    await admin.press("Trust pulse")
    group = admin.last
    await admin.send("/forget")
    admin.new()
    await admin.send("/cancel")
    said = admin.new_text()
    assert "Nothing was erased" in said
    assert "Also still open: recording answers for someone." in said
    # Its buttons still work: the draft waits at the group.
    await admin.press("Community member", message=group)
    assert "language" in admin.new_text()
