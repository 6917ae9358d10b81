"""Scheduled check-ins end to end: the real bot polls the emulator, a ManualClock tells the time.

Each test ticks the scheduler itself (`app.scheduler.tick()`) after moving the clock; the
background sweep is set far off so nothing happens behind a test's back. The app starts at
09:00 UTC on Monday 5 January 2026, which creates the default schedules: the trust pulse on
Mondays at 10:00 and the partnership review on the first Tuesday of each quarter at 10:00, both
in each member's local time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from checkin_world import written
from conftest import Database, Phone, go_on_without_media, onboard

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.schedules import Recurrence, ScheduleSpec, parse_date, parse_time
from bot.sandbox.emulator import BotAPIEmulator
from bot.services.checkins import TickReport
from bot.storage import checkins as checkin_store
from bot.storage import outbox, repo
from bot.storage import schedules as store
from bot.storage.models import CheckIn, CheckInStatus, OccurrenceStatus, RunStatus, ScheduleStatus

PULSE = "Weekly trust pulse"
REMINDER = "⏰ Reminder: “Trust pulse”"
TRUST_PULSE, REVIEW = 1, 2


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No background sweep: each test ticks when it means to."""
    return settings.model_copy(update={"checkin_sweep_s": 3600.0})


async def tick(app: BotApp) -> TickReport:
    assert app.scheduler is not None
    return await app.scheduler.tick()


async def pause(app: BotApp, schedule_id: int) -> None:
    assert app.session_factory is not None and app.checkins is not None
    async with app.session_factory() as session:
        await app.checkins.set_status(
            session,
            schedule_id=schedule_id,
            status=ScheduleStatus.PAUSED,
            now=app.clock.now(),
        )
        await session.commit()


async def set_zone(app: BotApp, user_id: int, zone: str) -> None:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        member = await repo.get_member_by_telegram_id(session, telegram_user_id=user_id)
        assert member is not None
        await repo.update_member(
            session, member=member, changes={"time_zone": zone}, now=app.clock.now()
        )
        await session.commit()


async def queued_texts(app: BotApp, user_id: int) -> list[str]:
    """What the outbox holds for a chat but replies, sent or not (deterministic right after a
    tick)."""
    assert app.session_factory is not None
    assert app.checkins is not None
    async with app.session_factory() as session:
        messages = [
            m
            for m in await outbox.list_messages(session, chat_id=user_id)
            if m.source != outbox.REPLY
        ]
        return [w.text for w in await written(session, app.checkins, messages) if w is not None]


async def checkins_of(app: BotApp, user_id: int) -> list[CheckIn]:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        member = await repo.get_member_by_telegram_id(session, telegram_user_id=user_id)
        assert member is not None
        return await checkin_store.list_checkins(session, member_id=member.id)


def count(texts: list[str], fragment: str) -> int:
    return sum(fragment in text for text in texts)


@pytest.fixture
async def restarts(settings: Settings, clock: ManualClock) -> AsyncIterator[list[BotApp]]:
    """Apps started by a test on the same database; stopped at the end."""
    started: list[BotApp] = []
    yield started
    for app in started:
        await app.stop()


async def restart(
    app: BotApp, restarts: list[BotApp], *phones: Phone, emulator: BotAPIEmulator | None = None
) -> BotApp:
    """Stop `app` and start another on the same database, once it polls the emulator."""
    await app.stop()
    again = BotApp(app.settings, clock=app.clock)
    restarts.append(again)
    emulator = emulator or phones[0].emulator
    polls = emulator.calls["getUpdates"]
    await again.start()
    # A BotApp stopped before its polling task ran would wait on it for good.
    await emulator.wait_for_calls("getUpdates", polls + 1)
    for phone in phones:
        phone.app = again
    return again


# -- time zones -------------------------------------------------------------------------------


async def test_members_get_the_pulse_at_ten_on_their_own_clocks(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    kenji = Phone(emulator, app, user_id=1002, first_name="Kenji")
    maria = Phone(emulator, app, user_id=1003, first_name="Maria")
    for phone in (amina, kenji, maria):
        await onboard(phone)
    await set_zone(app, kenji.user_id, "Asia/Tokyo")
    await set_zone(app, maria.user_id, "America/New_York")
    await pause(app, REVIEW)

    clock.advance(timedelta(hours=1))  # 10:00 UTC
    assert (await tick(app)).sent == 1
    first = await amina.wait_for(PULSE)
    assert "How much do you trust the municipality" in first.plain_text
    assert [b for b, _ in first.buttons] == ["1", "2", "3", "4", "5", "Skip"]
    assert await queued_texts(app, kenji.user_id) == []  # 10:00 in Tokyo came before 09:00 UTC
    assert await queued_texts(app, maria.user_id) == []

    clock.advance(timedelta(hours=5))  # 10:00 in New York
    assert (await tick(app)).sent == 1
    await maria.wait_for(PULSE)

    # The buttons answer the check-in's own run.
    await amina.press("4")
    await amina.wait_for("private companies")

    clock.advance(timedelta(days=6, hours=10))  # Monday 12 January, 01:00 UTC: 10:00 in Tokyo
    report = await tick(app)
    assert (report.sent, report.expired) == (1, 2)
    await kenji.wait_for(PULSE)
    assert count(await queued_texts(app, amina.user_id), PULSE) == 1


async def test_a_check_in_answered_by_typing_loses_its_buttons(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    await onboard(amina)
    await pause(app, REVIEW)
    clock.advance(timedelta(hours=1))  # 10:00 UTC
    assert (await tick(app)).sent == 1
    first = await amina.wait_for(PULSE)
    assert first.buttons
    assert app.sender is not None
    await app.sender.wait_idle()
    await amina.send("4")
    await amina.wait_for("private companies")
    assert first.buttons == [], "answered by typing: its buttons go, as for a press"


# -- downtime and restarts --------------------------------------------------------------------


async def test_jobs_are_rebuilt_from_the_database_with_stable_ids(
    emulator: BotAPIEmulator, app: BotApp, restarts: list[BotApp]
) -> None:
    assert app.scheduler is not None
    housekeeping = {"checkins:sweep", "updates:prune"}
    assert set(app.scheduler.jobs) == housekeeping | {"schedule:1", "schedule:2"}
    # The pulse's job fires at its next send time on the wall clock: 10:00 is an hour away.
    run_at = app.scheduler.jobs["schedule:1"]
    assert run_at is not None
    assert timedelta(minutes=59) < run_at - datetime.now(UTC) <= timedelta(hours=1)
    await pause(app, REVIEW)
    await tick(app)
    await tick(app)
    assert set(app.scheduler.jobs) == housekeeping | {"schedule:1"}
    again = await restart(app, restarts, emulator=emulator)
    assert again.scheduler is not None
    assert set(again.scheduler.jobs) == housekeeping | {"schedule:1"}
    assert again.checkins is not None and again.session_factory is not None
    async with again.session_factory() as session:
        assert [s.id for s in await again.checkins.all(session)] == [1, 2]  # not created again


async def test_downtime_across_a_send_time_sends_it_once_at_start(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, restarts: list[BotApp]
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    await onboard(amina)
    await pause(app, REVIEW)
    await app.stop()
    clock.advance(timedelta(hours=3))  # down across 10:00
    again = await restart(app, restarts, amina)
    await amina.wait_for(PULSE)
    again = await restart(again, restarts, amina)
    await restart(again, restarts, amina)
    texts = await queued_texts(restarts[-1], amina.user_id)
    assert count(texts, PULSE) == 1
    [checkin] = await checkins_of(restarts[-1], amina.user_id)
    assert (checkin.occurrence, checkin.status) == ("2026-01-05", CheckInStatus.SENT)


async def test_weeks_of_downtime_record_what_was_missed_and_send_the_open_one(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, restarts: list[BotApp]
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    await onboard(amina)
    await pause(app, REVIEW)
    await app.stop()
    clock.advance(timedelta(days=15))  # Tuesday 20 January
    again = await restart(app, restarts, amina)
    pulse = await amina.wait_for(PULSE)
    assert again.session_factory is not None
    async with again.session_factory() as session:
        occurrences = await store.list_occurrences(session, schedule_id=TRUST_PULSE)
    assert [(o.occurrence, o.status) for o in occurrences] == [
        ("2026-01-05", OccurrenceStatus.CLOSED),  # opened at 09:00, before the bot went down
        ("2026-01-12", OccurrenceStatus.MISSED),  # never open while the bot ran
        ("2026-01-19", OccurrenceStatus.OPEN),  # still open: sent once, at start
    ]
    checkins = await checkins_of(again, amina.user_id)
    assert [(c.occurrence, c.status) for c in checkins] == [
        ("2026-01-05", CheckInStatus.MISSED),
        ("2026-01-19", CheckInStatus.SENT),
    ]
    assert count(await queued_texts(again, amina.user_id), PULSE) == 1
    await amina.press("2", message=pulse)
    await amina.wait_for("private companies")


async def test_a_restart_mid_window_neither_repeats_nor_forgets(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, restarts: list[BotApp]
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    await onboard(amina)
    await pause(app, REVIEW)
    clock.advance(timedelta(hours=1))
    await tick(app)
    await amina.wait_for(PULSE)
    await amina.press("4")
    await amina.wait_for("private companies")

    again = await restart(app, restarts, amina)
    assert count(await queued_texts(again, amina.user_id), PULSE) == 1
    await again.stop()
    clock.advance(timedelta(days=1))  # the first reminder came due while the bot was down
    again = await restart(again, restarts, amina)
    nudge = await amina.wait_for(REMINDER)
    assert "How much do you trust the <b>private companies</b>" not in nudge.plain_text
    assert "How much do you trust the private companies" in nudge.plain_text
    again = await restart(again, restarts, amina)
    texts = await queued_texts(again, amina.user_id)
    assert (count(texts, PULSE), count(texts, "⏰ Reminder")) == (1, 1)

    # The reminder's buttons answer the same run, where it stopped.
    await amina.press("5", message=nudge)
    await amina.wait_for("civil-society organisations")


# -- quiet hours and conversations in progress ------------------------------------------------


async def test_partnership_time_is_held_back_by_quiet_hours(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    tane = Phone(emulator, app, user_id=1001, first_name="Tane")
    await onboard(tane)
    await set_zone(app, tane.user_id, "Pacific/Auckland")  # UTC+13 in January
    for schedule_id in (TRUST_PULSE, REVIEW):
        await pause(app, schedule_id)
    assert app.session_factory is not None and app.checkins is not None
    spec = ScheduleSpec(
        flow_id="objectives",
        recurrence=Recurrence(kind="once", at=parse_time("10:00"), on=parse_date("2026-01-05")),
        basis="partnership",
        window=timedelta(days=2),
        reminders=(),
    )
    async with app.session_factory() as session:
        await app.checkins.create(session, spec, now=clock.now())
        await session.commit()

    clock.advance(timedelta(hours=1))  # 10:00 UTC is 23:00 in Auckland
    assert (await tick(app)).sent == 0
    clock.advance(timedelta(hours=8, minutes=59))
    assert (await tick(app)).sent == 0
    clock.advance(timedelta(minutes=1))  # 08:00 in Auckland
    assert (await tick(app)).sent == 1
    await tane.wait_for("State one of your organisation’s")


async def test_a_member_mid_conversation_is_not_interrupted(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    await onboard(amina)
    await pause(app, REVIEW)
    clock.advance(timedelta(minutes=55))
    await amina.send("/roles")
    assert "What do you (or your organisation) bring" in amina.new_text()
    clock.advance(timedelta(minutes=5))
    assert (await tick(app)).sent == 0
    await amina.press("Funding")
    await amina.press("Done")
    assert "take the lead" in amina.new_text()
    await amina.press("Done")
    assert "What do you expect from the" in amina.new_text()
    assert (await tick(app)).sent == 0
    assert await queued_texts(app, amina.user_id) == []

    await amina.send("/cancel")
    assert "Conversation left" in amina.new_text()
    assert (await tick(app)).sent == 1
    await amina.wait_for(PULSE)


# -- reminders and the window's end -----------------------------------------------------------


async def test_reminders_go_only_to_non_respondents_and_the_window_closes(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    fatou = Phone(emulator, app, user_id=1002, first_name="Fatou", language_code="fr")
    await onboard(amina)
    await onboard(fatou, group="Membre de la communauté", language="Français")
    await pause(app, REVIEW)
    clock.advance(timedelta(hours=1))
    assert (await tick(app)).sent == 2
    await amina.wait_for(PULSE)
    original = await fatou.wait_for("Baromètre de confiance")
    for _ in range(6):
        await amina.press("4")
    await amina.press("Skip")
    await amina.wait_for("See you next week")

    clock.advance(timedelta(days=1))
    assert (await tick(app)).reminded == 1
    nudge = await fatou.wait_for("⏰ Rappel : « Baromètre de confiance »")
    assert "municipalité" in nudge.plain_text
    clock.advance(timedelta(days=1))
    assert (await tick(app)).reminded == 1
    clock.advance(timedelta(hours=23))
    assert (await tick(app)).reminded == 0  # two at most
    assert count(await queued_texts(app, amina.user_id), "Reminder") == 0
    assert count(await queued_texts(app, fatou.user_id), "⏰ Rappel") == 2

    clock.advance(timedelta(hours=1))  # Thursday 10:00: the 72-hour window closes
    assert (await tick(app)).expired == 1
    runs = await db.runs(fatou.user_id)
    assert [(r.flow_id, r.status) for r in runs][-1] == ("trust_pulse", RunStatus.EXPIRED)
    before = len(fatou.messages)
    await fatou.press("3", message=original)
    assert fatou.toast() == "Cette question a déjà reçu une réponse."
    assert len(fatou.messages) == before

    statuses = [c.status for c in await checkins_of(app, amina.user_id)]
    assert statuses == [CheckInStatus.DONE]
    # The pulse is anonymous: seven answers, none linked to Amina or her run.
    assert await db.answers(amina.user_id, "trust_pulse") == {}


async def test_a_reminder_asks_a_set_aside_question_afresh(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    """A question set aside after misunderstandings is open again when the reminder asks it,
    as after /start: the next unreadable answer gets the question's hint, not the set-aside
    notice."""
    amina = Phone(emulator, app, user_id=1001)
    await onboard(amina)
    await pause(app, REVIEW)
    clock.advance(timedelta(hours=1))
    assert (await tick(app)).sent == 1
    await amina.wait_for(PULSE)
    for _ in range(5):
        await amina.send("blah")
    assert amina.last.plain_text.startswith("Let us leave this question for now")
    amina.new()

    clock.advance(timedelta(days=1))
    assert (await tick(app)).reminded == 1
    await amina.wait_for(REMINDER)
    amina.new()
    await amina.send("blah")
    reply = amina.new_text()
    assert reply.startswith("Please answer with a whole number") and "set aside" not in reply


# -- /schedules -------------------------------------------------------------------------------


async def test_a_coordinator_sets_up_a_schedule_with_a_preview(admin: Phone, db: Database) -> None:
    await admin.send("/schedules")
    listing = admin.new_text()
    assert (
        "#1 Trust pulse – active\nevery week on Monday at 10:00 (each member’s local time)"
        in listing
    )
    assert "every 3 months on the first Tuesday at 10:00" in listing
    assert "Next: Monday 2026-01-05 10:00." in listing

    await admin.press("New schedule")
    assert "Which conversation should members receive?" in admin.new_text()
    await admin.press("Our objectives")
    assert "Who should receive it? Now: 1 members." in admin.new_text()
    await admin.press("Community member")
    await admin.press("Continue")
    await admin.press("On days of the week")
    await admin.press("Wednesday")
    await admin.press("Friday")
    await admin.press("Continue")
    assert "Every how many weeks?" in admin.new_text()
    await admin.press("2")
    admin.new()
    await admin.send("25:00")
    assert (
        admin.new_text() == "“25:00” is not a time of day. Type it as HH:MM, from 00:00 to 23:59."
    )
    await admin.send("18:30")
    await admin.press("The partnership’s time (UTC)")
    await admin.press("2 d")
    admin.new()
    await admin.press("After 1 d")
    assert admin.new_text() == (
        "Our objectives\n"
        "every 2 weeks on Wednesday, Friday at 18:30 (UTC time)\n"
        "To: Community member (0 members now).\n"
        "Answers within 2 d; reminders: 1 d.\n\n"
        "Next send times\n"
        "• Wednesday 2026-01-07 18:30\n"
        "• Friday 2026-01-09 18:30\n"
        "• Wednesday 2026-01-21 18:30\n"
        "• Friday 2026-01-23 18:30\n"
        "• Wednesday 2026-02-04 18:30"
    )
    await admin.press("Create")
    assert admin.new_text() == "Schedule #3 is active. Next send: Wednesday 2026-01-07 18:30."

    await admin.send("/schedules")
    assert "#3 Our objectives – active" in admin.new_text()
    await admin.press("Pause #3")
    assert "Schedule #3 is paused" in admin.new_text()
    await admin.send("/schedules")
    assert "#3 Our objectives – paused" in admin.new_text()
    await admin.press("Resume #3")
    assert "Schedule #3 is active again. Next send: Wednesday 2026-01-07 18:30." in admin.new_text()
    await admin.send("/schedules")
    admin.new()
    await admin.press("Delete #3")
    assert "Delete schedule #3 (Our objectives)?" in admin.new_text()
    await admin.press("Yes, delete it")
    assert admin.new_text() == "Schedule #3 is deleted."
    await admin.send("/schedules")
    assert "#3" not in admin.new_text()


async def test_a_schedule_made_in_chat_reaches_members(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    await onboard(amina)
    for schedule_id in (TRUST_PULSE, REVIEW):
        await pause(app, schedule_id)
    await admin.send("/schedules")
    await admin.press("New schedule")
    await admin.press("Roles and responsibilities")
    await admin.press("Continue")
    await admin.press("Once, on a date")
    await admin.send("2026-02-30")
    assert "2026-02-30 does not exist in the calendar." in admin.new_text()
    await admin.send("2026-01-05")
    await admin.send("12:00")
    await admin.press("The partnership’s time")
    await admin.press("1 d")
    await admin.press("No reminders")
    assert "• Monday 2026-01-05 12:00" in admin.new_text()
    await admin.press("Create")
    assert "Schedule #3 is active. Next send: Monday 2026-01-05 12:00." in admin.new_text()

    clock.advance(timedelta(hours=3))
    assert (await tick(app)).sent == 2  # Amina, and Ada herself
    await amina.wait_for("Partnerships work best when everyone knows who does what")
    await amina.press("Funding")
    await amina.press("Done")
    assert "take the lead" in amina.new_text()
    await amina.press("Skip")
    assert "What do you expect from the" in amina.new_text()


async def test_members_cannot_manage_schedules_and_stale_buttons_grant_nothing(
    admin: Phone, phone: Phone
) -> None:
    await onboard(phone)
    await phone.send("/schedules")
    assert phone.new_text() == "Only coordinators can manage scheduled check-ins."

    await admin.send(f"/promote {phone.user_id}")
    await phone.send("/schedules")
    assert "#1 Trust pulse" in phone.new_text()
    await phone.press("New schedule")
    assert "Which conversation" in phone.new_text()
    await admin.send(f"/demote {phone.user_id}")
    await phone.press("Trust pulse")
    assert phone.toast() == "You are no longer allowed to do this."
    await phone.press("Pause #1")
    assert phone.toast() == "You are no longer allowed to do this."
    assert phone.new() == []
    await phone.send("10:00")  # no longer read as a schedule's time
    assert "There is no open question right now." in phone.new_text()
    await admin.send("/schedules")
    assert "#1 Trust pulse – active" in admin.new_text()


# -- /concern at any time ---------------------------------------------------------------------


async def test_a_concern_raised_mid_checkin_pauses_and_resumes_it(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    await onboard(amina)
    await pause(app, REVIEW)
    clock.advance(timedelta(hours=1))
    assert (await tick(app)).sent == 1
    await amina.wait_for(PULSE)
    await amina.press("4")
    await amina.wait_for("private companies")
    amina.new()

    await amina.send("/concern")
    shown = amina.new_text()
    assert "What is your concern about?" in shown and "waits" in shown
    for label in ("Trust", "The municipality", ". Urgent"):
        await amina.press(label)
    await amina.send("The pulse asks about people I never met.")
    await amina.press("Give my name")
    await go_on_without_media(amina)
    after = amina.new_text()
    # The check-in goes on at the question it was paused on.
    assert "with your name" in after and "private companies" in after
    await amina.press("3")
    await amina.wait_for("civil-society")
    assert [c.status for c in await checkins_of(app, amina.user_id)] == [CheckInStatus.SENT]
    runs = await db.runs(amina.user_id)
    assert [(r.flow_id, r.status) for r in runs][-1] == ("trust_pulse", RunStatus.RUNNING)


# -- stale conversations ----------------------------------------------------------------------


async def test_a_conversation_left_for_a_week_is_closed_and_no_longer_blocks_checkins(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: Database
) -> None:
    amina = Phone(emulator, app, user_id=1001)
    await onboard(amina)
    await pause(app, REVIEW)
    await amina.send("/roles")
    assert "What do you (or your organisation) bring" in amina.new_text()
    clock.advance(timedelta(hours=1))
    assert (await tick(app)).sent == 0  # the open /roles holds the pulse back

    clock.advance(timedelta(days=7))  # Monday 12 January, 10:00: a week untouched
    report = await tick(app)
    assert report.sent == 1 and report.abandoned == 1
    told = await amina.wait_for("was left without an answer")
    assert "“Roles and responsibilities”" in told.plain_text
    await amina.wait_for(PULSE)
    runs = [(r.flow_id, r.status) for r in await db.runs(amina.user_id)]
    assert ("roles", RunStatus.ABANDONED) in runs

    clock.advance(timedelta(days=8))
    await tick(app)
    # Told once; the pulse's own run expires with its window, it is not "left for a week".
    assert count(await queued_texts(app, amina.user_id), "was left without an answer") == 1
