"""Coordinator broadcasts end to end: roles, the guided conversation, delivery, scheduling."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from conftest import ADMIN, Database, Phone, onboard
from sqlalchemy import event

from bot.app import BotApp
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import repo
from bot.storage.models import BroadcastStatus, MemberStatus, OutboxMessage


async def test_members_cannot_broadcast(phone: Phone) -> None:
    await onboard(phone, "Community member")
    await phone.send("/broadcast")
    assert "Only coordinators can send updates" in phone.new_text()
    await phone.send("/broadcasts")
    assert "Only coordinators" in phone.new_text()


async def test_broadcast_now_with_a_text_per_language(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    english = Phone(emulator, app, user_id=1001, first_name="Amina")
    french = Phone(emulator, app, user_id=1002, first_name="Fatou", language_code="fr")
    stopped = Phone(emulator, app, user_id=1003, first_name="Sam")
    await onboard(english, "Municipality")
    await onboard(french, "Membre de la communauté", language="Français")
    await onboard(stopped, "Other")
    await stopped.send("/stop")
    stopped.new()

    await admin.send("/broadcast")
    assert "What should the update say?" in admin.new_text()
    await admin.send("Water cut on Monday & Tuesday, 8–12h.")
    assert "Who should receive it? Now: 3 members." in admin.new_text()
    await admin.press("Continue")
    assert "Send one text to all, or write a text for each language?" in admin.new_text()
    await admin.press("A text per language")
    assert "members who read Français" in admin.new_text()
    await admin.send("Coupure d’eau lundi et mardi, 8–12 h.")
    assert "Is it urgent?" in admin.new_text()
    await admin.press("Yes")
    await admin.press("Send now")
    preview = admin.new_text()
    english_header = "Preview – what members who read English will receive:"
    assert f"{english_header}\n---\nWater cut on Monday & Tuesday, 8–12h." in preview
    french_header = "Preview – what members who read Français will receive:"
    assert f"{french_header}\n---\nCoupure d’eau lundi et mardi, 8–12 h." in preview
    assert "Ready to send to 3 members, now, urgent." in preview
    await admin.press("Send")
    assert "is on its way to 3 members" in admin.new_text()

    assert (
        await english.wait_for("Water cut")
    ).plain_text == "Water cut on Monday & Tuesday, 8–12h."
    assert (await french.wait_for("Coupure")).plain_text == "Coupure d’eau lundi et mardi, 8–12 h."
    report = await admin.wait_for("Delivery report")
    assert "Reached: 3 of 3 members" in report.plain_text
    await admin.wait_for("Update #1: finished, 3 of 3 members reached.")
    assert [m for m in stopped.new() if "Water" in m.plain_text] == []
    assert await db.count(OutboxMessage) == 4  # three members and the report


async def test_a_stale_button_grants_nothing_after_demotion(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp
) -> None:
    helper = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(helper, "Civil-society organisation")
    await admin.send("/promote 1001")
    assert "Amina is now a coordinator." in admin.new_text()
    await helper.send("/broadcast")
    await helper.send("Meeting on Friday")
    assert "Who should receive it?" in helper.new_text()

    await admin.send("/demote 1001")
    assert "Amina is now a member." in admin.new_text()
    await helper.press("Continue")
    assert helper.toast() == "You are no longer allowed to do this."
    assert helper.new() == []
    await helper.send("/broadcast")
    assert "Only coordinators" in helper.new_text()


async def test_only_admins_change_roles(admin: Phone, phone: Phone) -> None:
    await onboard(phone, "Other")
    await phone.send(f"/promote {phone.user_id}")
    assert "Only admins can change roles." in phone.new_text()
    await admin.send("/promote 424242")
    assert "No member has the Telegram id 424242" in admin.new_text()
    await admin.send("/promote abc")
    assert "Usage: /promote" in admin.new_text()
    await admin.send(f"/demote {ADMIN}")
    assert "cannot demote yourself" in admin.new_text()


async def schedule(admin: Phone, when: str) -> str:
    await admin.send("/broadcast")
    await admin.send("Assembly tomorrow")
    await admin.press("Continue")
    await admin.press("One text for all")
    await admin.press("No")
    await admin.press("Choose a date and time")
    admin.new()
    await admin.send(when)
    return admin.new_text()


async def test_scheduled_broadcast_is_sent_when_due(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database
) -> None:
    member = Phone(emulator, app, user_id=1001)
    await onboard(member, "Municipality")
    shown = await schedule(admin, "2026-01-05 11:00")
    assert "Ready to send to 2 members, 2026-01-05 11:00, not urgent" in shown
    await admin.press("Send")
    assert "will be sent on 2026-01-05 11:00" in admin.new_text()
    await admin.send("/broadcasts")
    assert "#1 scheduled for 2026-01-05 11:00: “Assembly tomorrow”" in admin.new_text()
    assert await db.count(OutboxMessage) == 0

    clock.advance(timedelta(hours=2))
    assert (await member.wait_for("Assembly")).plain_text == "Assembly tomorrow"
    await admin.wait_for("Delivery report")


async def test_a_scheduled_broadcast_can_be_cancelled(
    admin: Phone, app: BotApp, clock: ManualClock, db: Database
) -> None:
    await schedule(admin, "12:00")
    await admin.press("Send")
    await admin.send("/broadcasts")
    await admin.press("Cancel #1")
    assert admin.toast() == "Update #1 is cancelled."
    clock.advance(timedelta(days=1))
    assert app.monitor is not None
    await app.monitor.tick()
    assert await db.count(OutboxMessage) == 0
    assert [b.status for b in await db.broadcasts()] == [BroadcastStatus.CANCELLED]


async def test_bad_dates_get_a_clear_answer(admin: Phone) -> None:
    assert "does not exist" in await schedule(admin, "2026-02-30 09:00")
    await admin.send("2020-01-01 09:00")
    assert "already passed" in admin.new_text()
    await admin.send("next week")
    assert "could not read that" in admin.new_text()


async def test_quiet_hours_hold_a_broadcast_until_morning(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database
) -> None:
    member = Phone(emulator, app, user_id=1001)
    await onboard(member, "Municipality")
    clock.advance(timedelta(hours=13))  # 22:00 UTC, the partnership's zone
    await admin.send("/broadcast")
    await admin.send("Good night news")
    await admin.press("Continue")
    await admin.press("One text for all")
    await admin.press("No")
    await admin.press("Send now")
    await admin.press("Send")
    rows = await db.outbox()
    assert {r.next_attempt_at.hour for r in rows} == {8}
    assert all(r.status == "queued" for r in rows)
    assert [m for m in member.messages if "Good night" in m.plain_text] == []

    clock.advance(timedelta(hours=10, minutes=1))
    app.wake_sender()
    assert (await member.wait_for("Good night news")).plain_text == "Good night news"


async def test_blocking_and_unblocking_the_bot(phone: Phone, db: Database) -> None:
    await onboard(phone, "Municipality")
    await phone.app.tracker.wait_handled(phone.emulator.set_member_status(phone.user_id, "kicked"))
    assert (await db.member(phone.user_id)).status == MemberStatus.BLOCKED  # type: ignore[union-attr]
    await phone.app.tracker.wait_handled(phone.emulator.set_member_status(phone.user_id, "member"))
    assert (await db.member(phone.user_id)).status == MemberStatus.ACTIVE  # type: ignore[union-attr]


async def test_the_report_counts_members_who_blocked_the_bot(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    gone = Phone(emulator, app, user_id=1001)
    await onboard(gone, "Municipality")
    emulator.block(gone.user_id)
    await admin.send("/broadcast")
    await admin.send("Hello all")
    await admin.press("Continue")
    await admin.press("One text for all")
    await admin.press("Yes")
    await admin.press("Send now")
    await admin.press("Send")
    report = (await admin.wait_for("Delivery report")).plain_text
    assert "Reached: 1 of 2 members" in report
    assert "Blocked the bot: 1" in report
    assert "bot was blocked by the user" in report
    assert (await db.member(gone.user_id)).status == MemberStatus.BLOCKED  # type: ignore[union-attr]


def long_update() -> str:
    """An update of seven paragraphs, over Telegram's 4096 characters: two messages."""
    line = " ".join(["the water comes back"] * 40)
    return "\n\n".join(f"Paragraph {n}: {line}" for n in range(1, 8))


async def member_at_night(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    """A member at UTC-10, where it is 23:00: quiet hours hold what is not urgent until 18:00."""
    night = Phone(emulator, app, user_id=1001)
    await onboard(night, "Municipality")
    await night.send("/timezone")
    await night.send("-10")
    night.new()
    return night


async def compose(admin: Phone, text: str) -> list[str]:
    """Write a broadcast to everyone, one text, not urgent, now: the preview shown."""
    await admin.send("/broadcast")
    await admin.send(text)
    await admin.press("Continue")
    await admin.press("One text for all")
    await admin.press("No")
    admin.new()
    await admin.press("Send now")
    return [m.plain_text for m in admin.new()]


async def sent_to_the_admin(db: Database) -> None:
    """Wait until every message of the broadcast to the admin is recorded as sent."""
    async with asyncio.timeout(15):
        while {r.status for r in await db.outbox() if r.chat_id == ADMIN} != {"sent"}:
            await asyncio.sleep(0.05)


async def test_a_long_update_is_split_before_the_preview_and_counted_by_people(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database
) -> None:
    night = await member_at_night(emulator, app)
    update = long_update()
    preview = await compose(admin, update)
    assert len(preview) == 5, preview  # a header before each of the two parts, the summary
    assert preview[0] == "Preview – what every member will receive, message 1 of 2:"
    assert preview[2] == "Preview – what every member will receive, message 2 of 2:"
    assert preview[1].startswith("Paragraph 1:") and preview[3].startswith("Paragraph ")
    assert f"{preview[1]}\n\n{preview[3]}" == update
    assert "Ready to send to 2 members (2 messages each), now" in preview[4]

    await admin.press("Send")
    assert "is on its way to 2 members" in admin.new_text()
    await sent_to_the_admin(db)
    assert app.monitor is not None
    await app.monitor.tick()
    # Half the messages are out, but one member of two has received nothing yet.
    assert [b.status for b in await db.broadcasts()] == [BroadcastStatus.SENDING]
    assert [m for m in admin.messages if "Delivery report" in m.plain_text] == []
    await admin.send("/broadcasts")
    assert "sending, 1 of 2 members reached" in admin.new_text()

    clock.advance(timedelta(hours=9, minutes=1))  # 08:01 for the member at UTC-10
    app.wake_sender()
    await night.wait_for("Paragraph 7")
    assert [m.plain_text for m in night.new()] == [preview[1], preview[3]]
    report = (await admin.wait_for("Delivery report")).plain_text
    assert "Reached: 2 of 2 members" in report
    await admin.wait_for("Update #1: finished, 2 of 2 members reached.")


async def test_an_update_waiting_for_a_member_who_erases_their_data_still_finishes(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    night = await member_at_night(emulator, app)
    await compose(admin, "Road works on Friday")
    await admin.press("Send")
    await sent_to_the_admin(db)
    await night.send("/forget")
    await night.send("Yes")
    assert "everything about you is erased" in night.new_text()
    report = (await admin.wait_for("Delivery report")).plain_text
    assert "Reached: 1 of 2 members" in report


async def test_a_broadcast_to_many_is_queued_in_a_few_statements(
    admin: Phone, app: BotApp, clock: ManualClock, db: Database
) -> None:
    """Releasing a broadcast holds the database (on SQLite, its one writer, which every
    member's reply waits for) for a few statements, not a few per recipient."""
    async with db.session_factory() as session:
        for n in range(300):
            await repo.create_member(
                session, telegram_user_id=50_000 + n, chat_id=50_000 + n,
                display_name=f"M{n}", language="fr" if n % 3 else "en", now=clock.now(),
            )  # fmt: skip
        await session.commit()
    await schedule(admin, "2026-01-05 11:00")
    await admin.press("Send")
    clock.advance(timedelta(hours=2))
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    event.listen(app.engine.sync_engine, "before_cursor_execute", count)
    try:
        assert app.monitor is not None
        await app.monitor.tick()
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", count)
    queued = await db.rows(OutboxMessage)
    assert len(queued) == 301  # the 300 and the coordinator
    assert len({r.dedupe_key for r in queued}) == 301
    assert len(statements) < 30, statements[:40]
