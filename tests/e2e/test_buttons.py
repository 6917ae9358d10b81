"""Button presses the bot did not make as they are (forged, or kept from an older layout), buttons
sent before the callback factories, and the partnership's default language."""

from __future__ import annotations

from conftest import Database, Phone, onboard, running_app

from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator

UNKNOWN_BUTTON = "This button no longer does anything."


FORGED = [
    "bc:x",  # a broadcast press with too few parts
    "sch:list",  # a schedules press with too few parts
    "tk:show",  # a ticket press with no ticket
    "tk:show:T-1",  # a ticket named by handle, not id
    "au:later",  # an audit page that is not a number
    "a:run:node:value",  # an answer whose run is not a number
    "px:new",  # /proxy's "record the next person" in its layout before the factories
    "zz:1",  # no family at all
]


async def test_a_forged_or_old_press_is_answered_never_a_crash(phone: Phone, admin: Phone) -> None:
    for presser, data in ((p, d) for p in (phone, admin) for d in FORGED):
        await presser.send("/help")
        presser.new()
        update_id = presser.emulator.press_button(presser.user_id, presser.last.message_id, data)
        await presser.app.tracker.wait_handled(update_id)
        assert (data, presser.toast(), presser.new_text()) == (data, UNKNOWN_BUTTON, "")


async def test_buttons_sent_before_the_factories_still_work(phone: Phone, db: Database) -> None:
    await onboard(phone)
    await phone.send("/language")
    # The data the language keyboard carried before the factories, pressed as it was sent.
    update_id = phone.emulator.press_button(phone.user_id, phone.last.message_id, "lang:fr")
    await phone.app.tracker.wait_handled(update_id)
    assert "Désormais, je vous écrirai en français." in phone.new_text()
    assert (await db.member(phone.user_id)).language == "fr"  # type: ignore[union-attr]


async def test_a_newcomer_without_a_language_is_spoken_to_in_the_default_one(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    french = settings.model_copy(update={"default_locale": "fr"})
    async with running_app(french, clock) as app:
        phone = Phone(emulator, app, user_id=1005, first_name="Awa", language_code=None)
        await phone.send("/broadcast")
        assert (
            phone.new_text() == "Seuls les coordinateurs peuvent envoyer des nouvelles aux membres."
        )
        await phone.send("/start")
        assert "Bonjour Awa" in phone.new_text()
        update_id = emulator.press_button(phone.user_id, phone.last.message_id, "zz:1")
        await app.tracker.wait_handled(update_id)
        assert phone.toast() == "Ce bouton ne fait plus rien."
