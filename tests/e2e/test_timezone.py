"""A member's own time zone: asked at onboarding, changed with /timezone, followed by check-ins.

The clock starts at 09:00 UTC on Monday 5 January 2026; the partnership's zone is
Africa/Dakar (UTC+0 all year), so a member who sets none lives on it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import Database, Phone, onboard

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import outbox

PULSE = "Weekly trust pulse"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The partnership's zone named, and no background sweep: the check-in test ticks itself."""
    return settings.model_copy(
        update={"partnership_timezone": "Africa/Dakar", "checkin_sweep_s": 3600.0}
    )


async def test_onboarding_asks_the_zone_with_the_partnerships_as_default(
    phone: Phone, db: Database
) -> None:
    for typed in ("/start", "yes", "English"):
        await phone.send(typed)
    asked = phone.new_text()
    assert "Which time zone are you in?" in asked
    assert "the partnership's zone is used: Africa/Dakar (it is 09:00 there now)" in asked
    assert [b for b, _ in phone.last.buttons] == ["Skip"]

    await phone.send("Mars")
    refused = phone.new_text()
    assert "I could not find that time zone" in refused
    assert "Which time zone are you in?" in refused

    await phone.send("tokyo")
    assert "Which group" in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None and member.time_zone == "Asia/Tokyo"


async def test_skipping_the_zone_at_onboarding_keeps_the_partnerships(
    phone: Phone, db: Database
) -> None:
    for typed in ("/start", "yes", "English"):
        await phone.send(typed)
    await phone.press("Skip")
    assert "Which group" in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None and member.time_zone is None


@pytest.mark.parametrize(
    ("typed", "stored", "shown", "local"),
    [
        ("Africa/Dakar", "Africa/Dakar", "Africa/Dakar", "09:00"),
        ("new york", "America/New_York", "America/New_York", "04:00"),
        ("São Paulo", "America/Sao_Paulo", "America/Sao_Paulo", "06:00"),
        ("+1", "Etc/GMT-1", "UTC+1", "10:00"),
        ("UTC+01:00", "Etc/GMT-1", "UTC+1", "10:00"),
        ("GMT-5", "Etc/GMT+5", "UTC-5", "04:00"),
    ],
)
async def test_timezone_command_sets_the_zone_and_shows_the_time_there(
    phone: Phone, db: Database, typed: str, stored: str, shown: str, local: str
) -> None:
    await onboard(phone)
    await phone.send("/timezone")
    asked = phone.new_text()
    assert "Your time zone is Africa/Dakar (it is 09:00 there now)" in asked
    assert "/cancel" in asked

    await phone.send(typed)
    assert f"your time zone is now {shown}. It is {local} there now" in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None and member.time_zone == stored

    await phone.send("/timezone")
    assert f"Your time zone is {shown} (it is {local} there now)" in phone.new_text()


async def test_timezone_command_answers_nonsense_with_a_hint_and_keeps_the_zone(
    phone: Phone, db: Database
) -> None:
    await onboard(phone)
    await phone.send("/timezone")
    phone.new()
    for typed in ("Atlantis", "+05:30"):
        await phone.send(typed)
        assert "Type a city near you (for example Dakar or Paris)" in phone.new_text()
    await phone.send("+25")  # a third miss in a row: the question with every way out
    assert "Here is everything you can do" in phone.new_text()
    await phone.send("/cancel")
    assert "Conversation left" in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None and member.time_zone is None


async def test_timezone_command_speaks_the_members_language(french_phone: Phone) -> None:
    await onboard(french_phone, "Membre de la communauté", language="Français")
    await french_phone.send("/timezone")
    assert "Votre fuseau horaire est Africa/Dakar (il y est 09:00)" in french_phone.new_text()
    await french_phone.send("Paris")
    done = french_phone.new_text()
    assert "votre fuseau horaire est maintenant Europe/Paris. Il y est 10:00" in done


async def test_checkins_follow_the_zone_set_with_the_command(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    maria = Phone(emulator, app, user_id=1003, first_name="Maria")
    for phone in (amina, maria):
        await onboard(phone)
    await maria.send("/timezone")
    await maria.send("New York")
    assert "America/New_York" in maria.new_text()

    assert app.scheduler is not None and app.session_factory is not None
    clock.advance(timedelta(hours=1))  # 10:00 in Dakar, 05:00 in New York
    assert (await app.scheduler.tick()).sent == 1
    await amina.wait_for(PULSE)
    async with app.session_factory() as session:
        assert await outbox.list_messages(session, chat_id=maria.user_id) == []

    clock.advance(timedelta(hours=5))  # 10:00 in New York
    assert (await app.scheduler.tick()).sent == 1
    await maria.wait_for(PULSE)
