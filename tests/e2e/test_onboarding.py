"""Onboarding and roles, end to end: a member's phone against the real bot and database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import Database, Phone, running_app
from sqlmodel import select

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.models import (
    Answer,
    ConsentPrompt,
    FlowRun,
    Member,
    MemberRole,
    MemberStatus,
    ProcessedUpdate,
)


async def test_onboarding_by_buttons(phone: Phone, db: Database) -> None:
    await phone.send("/start")
    shown = phone.new_text()
    assert "Hello Amina" in shown
    assert "Do you agree?" in shown
    assert [b for b, _ in phone.last.buttons] == ["Yes", "No"]

    await phone.press("Yes")
    assert "Which language" in phone.new_text()
    await phone.press("English")
    assert "Which time zone are you in?" in phone.new_text()
    await phone.press("Skip")
    assert "Which group" in phone.new_text()
    await phone.press("Municipality")
    assert "name of your organisation" in phone.new_text()
    await phone.send("City of Thiès")
    assert "What is your role" in phone.new_text()
    await phone.send("Ward councillor")
    assert "roles and responsibilities" in phone.new_text()
    await phone.press("No")
    assert "Send /roles" in phone.new_text()

    member = await db.member(phone.user_id)
    assert member is not None
    assert (member.language, member.stakeholder_group) == ("en", "municipality")
    assert (member.organisation, member.role_title) == ("City of Thiès", "Ward councillor")
    assert member.status == MemberStatus.ACTIVE
    assert member.consent_at is not None
    answers = await db.answers(phone.user_id, "onboarding")
    assert answers["group"] == "municipality"
    assert answers["organisation"] == "City of Thiès"
    assert answers["offer_roles"] == "no"
    assert [r.status for r in await db.runs(phone.user_id)] == ["done"]


async def test_answered_buttons_are_removed(phone: Phone) -> None:
    await phone.send("/start")
    consent = phone.last
    await phone.press("Yes")
    refreshed = next(m for m in phone.messages if m.message_id == consent.message_id)
    assert refreshed.buttons == []


async def test_onboarding_and_roles_by_typing_in_english(phone: Phone, db: Database) -> None:
    for text in ("/start", "yes", "1", "skip", "  community MEMBER ", "skip", "Resident", "YES"):
        await phone.send(text)
    shown = phone.new_text()
    assert "A few questions about roles" in shown
    assert "What do you (or your organisation) bring" in shown

    await phone.send("1, 3")
    assert "In which of these does your organisation take the lead?" in phone.new_text()
    await phone.send("funding or resources")
    assert "expect from the municipality" in phone.new_text()
    for text in ("Clean water", "skip", "skip", "Turn up to meetings"):
        await phone.send(text)
    assert "How clear are the roles" in phone.new_text()
    await phone.send("2")
    assert "What is most unclear" in phone.new_text()
    await phone.send("Who pays for repairs")
    assert "Thank you! Your answers help" in phone.new_text()

    member = await db.member(phone.user_id)
    assert member is not None
    assert member.stakeholder_group == "community"
    assert member.organisation is None
    assert member.role_title == "Resident"
    roles = await db.answers(phone.user_id, "roles")
    assert roles["brings"] == ["local_knowledge", "funding"]
    assert roles["leads"] == "funding"
    assert roles["expect_municipality"] == "Clean water"
    assert roles["expect_private_sector"] is None
    assert roles["clarity"] == 2.0
    assert roles["unclear"] == "Who pays for repairs"
    assert [(r.flow_id, r.status) for r in await db.runs(phone.user_id)] == [
        ("onboarding", "done"),
        ("roles", "done"),
    ]


async def test_onboarding_and_roles_by_typing_in_french(french_phone: Phone, db: Database) -> None:
    phone = french_phone
    await phone.send("/start")
    assert "Bonjour Fatou" in phone.new_text()
    for text in (
        "oui",
        "Français",
        "Dakar",
        "membre de la communauté",
        "Association des femmes",
        "Habitante",
    ):
        await phone.send(text)
    assert "rôles et les responsabilités" in phone.new_text()
    await phone.send("Oui")
    assert "Qu’apportez-vous" in phone.new_text()
    await phone.send("Connaissance du terrain; liens avec la communauté")
    assert "votre organisation joue-t-elle un rôle de pilote" in phone.new_text()
    await phone.send("Liens avec la communauté")
    for text in ("passer", "passer", "passer", "passer"):
        await phone.send(text)
    assert "sont-ils clairs pour vous" in phone.new_text()
    await phone.send("très clairs")
    assert "Merci ! Vos réponses aident" in phone.new_text()

    member = await db.member(phone.user_id)
    assert member is not None
    assert (member.language, member.organisation) == ("fr", "Association des femmes")
    assert member.time_zone == "Africa/Dakar"
    roles = await db.answers(phone.user_id, "roles")
    assert roles["brings"] == ["local_knowledge", "community_links"]
    assert roles["leads"] == "community_links"
    assert roles["clarity"] == 5.0


async def test_roles_by_buttons_with_several_choices(phone: Phone, db: Database) -> None:
    for text in ("/start", "yes", "English", "Skip", "Private company", "Acme Water", "Engineer"):
        await phone.send(text)
    await phone.press("Yes")
    question = phone.last
    await phone.press("Technical skills")
    await phone.press("Funding")
    await phone.press("Technical skills")
    await phone.press("Decision")
    redrawn = next(m for m in phone.messages if m.message_id == question.message_id)
    marks = {label.split(". ", 1)[1]: label[0] for label, _ in redrawn.buttons if ". " in label}
    assert marks["Funding or resources"] == "☑"
    assert marks["Decision-making power"] == "☑"
    assert marks["Technical skills"] == "☐"
    assert phone.last.message_id == question.message_id, "toggling must edit, not send"
    await phone.press("Done")
    assert "take the lead" in phone.last.plain_text
    await phone.press("Decision")
    await phone.press("Done")
    assert "expect from the municipality" in phone.last.plain_text
    roles = await db.answers(phone.user_id, "roles")
    assert roles["brings"] == ["funding", "decisions"]
    assert roles["leads"] == "decisions"


async def test_a_roles_run_begun_before_the_lead_question_goes_on_to_it(
    phone: Phone, app: BotApp, db: Database
) -> None:
    for text in ("/start", "yes", "English", "Skip", "Municipality", "Town hall", "Clerk", "yes"):
        await phone.send(text)
    assert app.session_factory is not None
    async with app.session_factory() as session:
        [run] = [r for r in (await session.exec(select(FlowRun))).all() if r.flow_id == "roles"]
        assert (run.flow_version, run.node_id) == (2, "brings")
        run.flow_version = 1  # begun before the flow asked who leads
        session.add(run)
        await session.commit()
    phone.new()
    await phone.send("5")
    shown = phone.new_text()
    assert "updated since you began" not in shown
    assert "In which of these does your organisation take the lead?" in shown
    await phone.send("5")
    assert "expect from the municipality" in phone.new_text()
    roles = await db.answers(phone.user_id, "roles")
    assert (roles["brings"], roles["leads"]) == ("decisions", "decisions")


async def test_consent_refused_stores_nothing(phone: Phone, db: Database) -> None:
    await phone.send("/start")
    await phone.press("No")
    assert "nothing about you has been stored" in phone.new_text()
    await phone.send("/start")
    await phone.send("no")
    assert "nothing about you has been stored" in phone.new_text()
    assert await db.count(Member) == 0
    assert await db.count(FlowRun) == 0
    assert await db.count(Answer) == 0
    assert await db.count(ConsentPrompt) == 0


@pytest.mark.parametrize(
    ("first", "language", "question"),
    [("yes", "en", "Do you agree?"), ("1", "en", "Do you agree?"), ("oui", "fr", "d’accord ?")],
)
async def test_consent_is_only_an_answer_to_the_question_shown(
    emulator: BotAPIEmulator, app: BotApp, db: Database, first: str, language: str, question: str
) -> None:
    phone = Phone(emulator, app, user_id=1003, first_name="Amina", language_code=language)
    await phone.send(first)
    shown = phone.new_text()
    assert "Amina" in shown and question in shown
    assert await db.member(phone.user_id) is None
    # What is stored meanwhile is a keyed hash, not the person's Telegram id.
    [prompt] = await db.rows(ConsentPrompt)
    assert str(phone.user_id) not in prompt.tag

    await phone.send(first)
    assert question not in phone.new_text()
    assert await db.member(phone.user_id) is not None
    assert await db.count(ConsentPrompt) == 0


async def test_a_consent_question_shown_long_ago_is_asked_again(
    phone: Phone, db: Database, clock: ManualClock
) -> None:
    await phone.send("/start")
    clock.advance(timedelta(days=8))
    await phone.send("yes")
    assert "Do you agree?" in phone.new_text()
    assert await db.member(phone.user_id) is None


async def test_invalid_answers_get_a_hint_and_the_question_again(
    phone: Phone, db: Database
) -> None:
    await phone.send("maybe")
    first = phone.new_text()
    assert "Hello Amina" in first and "Do you agree?" in first
    assert await db.count(Member) == 0

    for text in ("yes", "English", "Skip"):
        await phone.send(text)
    phone.new()
    await phone.send("7")
    hint, again = phone.new()
    assert "type a number from 1 to 5" in hint.plain_text
    assert "Which group" in again.plain_text
    assert len(again.buttons) == 5
    await phone.send("Municipality")
    await phone.send("x" * 121)
    assert "up to 120 characters" in phone.new_text()
    await phone.send("Town hall")
    assert (await db.member(phone.user_id)).organisation == "Town hall"  # type: ignore[union-attr]


async def test_scale_rejects_out_of_range(phone: Phone) -> None:
    for text in ("/start", "yes", "1", "Skip", "1", "Town hall", "Clerk", "yes", "2"):
        await phone.send(text)
    for text in ("skip", "skip", "skip", "skip", "skip"):  # leads and the expectations
        await phone.send(text)
    phone.new()
    await phone.send("9")
    assert "whole number from 1 to 5" in phone.new_text()
    await phone.send("4")
    assert "Thank you!" in phone.new_text()


async def test_old_buttons_answer_that_the_question_is_closed(phone: Phone) -> None:
    await phone.send("/start")
    consent = phone.last
    await phone.send("yes")
    await phone.send("English")
    await phone.send("Skip")
    group_question = phone.last
    stale = group_question.button_data("2. Private company")
    await phone.send("Municipality")
    assert group_question.buttons == [], "answered by typing: its buttons go"
    phone.new()

    # A client that still shows the old buttons (or a forged press) is told, nothing changes.
    update_id = phone.emulator.press_button(phone.user_id, group_question.message_id, stale)
    await phone.app.tracker.wait_handled(update_id)
    assert phone.toast() == "This question is already answered."
    await phone.press("No", message=consent)
    assert phone.toast() == "This question is already answered."
    assert phone.new() == []
    await phone.send("Acme")
    assert "What is your role" in phone.new_text()


async def test_restart_mid_flow_loses_nothing(
    phone: Phone, db: Database, app: BotApp, settings: Settings, clock: ManualClock
) -> None:

    for text in ("/start", "yes", "English", "Skip"):
        await phone.send(text)
    await app.stop()

    async with running_app(settings, clock) as restarted:
        phone.app = restarted
        phone.new()
        await phone.send("/start")
        resumed = phone.new_text()
        assert "Let us go on where we stopped" in resumed
        assert "Which group" in resumed
        for text in ("Civil-society organisation", "Friends of the River", "Coordinator", "no"):
            await phone.send(text)
        assert "Send /roles" in phone.new_text()
    restarted_db = Database(restarted)
    answers = await restarted_db.answers(phone.user_id, "onboarding")
    assert answers["language"] == "en"
    assert answers["group"] == "civil_society"


async def test_the_same_update_twice_is_handled_once(phone: Phone, db: Database) -> None:
    await phone.send("/start")
    phone.new()
    update = {
        "update_id": 777,
        "message": {
            "message_id": 50,
            "date": 1767600000,
            "chat": {"id": phone.user_id, "type": "private", "first_name": "Amina"},
            "from": {
                "id": phone.user_id,
                "is_bot": False,
                "first_name": "Amina",
                "language_code": "en",
            },
            "text": "yes",
        },
    }
    phone.emulator.post_update(update)
    phone.emulator.post_update(update)
    await phone.app.tracker.wait_handled(777, times=2)
    replies = phone.new()
    assert [m.plain_text.split("\n")[0] for m in replies] == ["Which language do you prefer?"]
    assert await db.count(Member) == 1


async def test_stop_and_start_again(phone: Phone, db: Database) -> None:
    for text in ("/start", "yes", "English", "Skip"):
        await phone.send(text)
    await phone.send("/stop")
    assert "no more messages" in phone.new_text()
    assert (await db.member(phone.user_id)).status == MemberStatus.STOPPED  # type: ignore[union-attr]
    await phone.send("Municipality")
    assert "Send /start to receive check-ins again" in phone.new_text()
    await phone.send("/start")
    shown = phone.new_text()
    assert "Let us go on where we stopped" in shown and "Which group" in shown
    assert (await db.member(phone.user_id)).status == MemberStatus.ACTIVE  # type: ignore[union-attr]


async def test_a_stopped_member_gets_one_clear_answer_and_no_dead_flow(
    phone: Phone, db: Database
) -> None:
    for text in ("/start", "yes", "English"):
        await phone.send(text)
    await phone.send("/stop")
    assert "/concern" in phone.new_text()
    # Neither a flow command nor an answer re-sends the open question or opens a flow whose
    # answers would then be refused: one message says what /start does and that /concern works.
    for typed in ("/roles", "Municipality", "/roles"):
        await phone.send(typed)
        [told] = phone.new()
        assert "/start" in told.plain_text and "/concern" in told.plain_text
        assert told.buttons == []
    assert [(r.flow_id, r.status) for r in await db.runs(phone.user_id)] == [
        ("onboarding", "running")
    ]


async def test_cancel_leaves_the_flow_and_keeps_answers(phone: Phone, db: Database) -> None:
    for text in ("/start", "yes", "English", "Skip", "Municipality", "Town hall", "Clerk", "yes"):
        await phone.send(text)
    phone.new()
    await phone.send("/cancel")
    assert "Conversation left" in phone.new_text()
    await phone.send("hello?")
    assert "no open question" in phone.new_text()
    await phone.send("/cancel")
    assert "There is no conversation to leave" in phone.new_text()
    assert [(r.flow_id, r.status) for r in await db.runs(phone.user_id)] == [
        ("onboarding", "done"),
        ("roles", "abandoned"),
    ]
    await phone.send("/roles")
    assert "What do you (or your organisation) bring" in phone.new_text()


async def test_a_flow_command_waits_for_the_open_flow(phone: Phone) -> None:
    for text in ("/start", "yes", "English", "Skip"):
        await phone.send(text)
    phone.new()
    await phone.send("/roles")
    shown = phone.new_text()
    assert "finish the current conversation first" in shown
    assert "Which group" in shown


async def test_language_switch_mid_flow(phone: Phone, db: Database) -> None:
    for text in ("/start", "yes", "English", "Skip"):
        await phone.send(text)
    await phone.send("/language")
    assert [b for b, _ in phone.last.buttons] == ["English", "Français"]
    phone.new()
    await phone.press("Français")
    shown = phone.new_text()
    assert "je vous écrirai en français" in shown
    assert "À quel groupe appartenez-vous" in shown
    await phone.send("Entreprise privée")
    assert "nom de votre organisation" in phone.new_text()
    assert (await db.member(phone.user_id)).language == "fr"  # type: ignore[union-attr]


async def test_names_are_escaped(emulator: BotAPIEmulator, app: BotApp) -> None:
    phone = Phone(emulator, app, user_id=1003, first_name="Tom <b>&</b> Jerry")
    await phone.send("/start")
    assert "Hello Tom <b>&</b> Jerry!" in phone.new_text()


async def test_help_unknown_commands_and_stickers(phone: Phone) -> None:
    await phone.send("/help")
    assert "/language – change the language" in phone.new_text()
    await phone.send("/frobnicate")
    assert "I do not know that command" in phone.new_text()
    for text in ("/start", "yes"):
        await phone.send(text)
    phone.new()
    update_id = phone.emulator.post_update(
        {
            "message": {
                "message_id": 60,
                "date": 1767600000,
                "chat": {"id": phone.user_id, "type": "private", "first_name": "Amina"},
                "from": {"id": phone.user_id, "is_bot": False, "first_name": "Amina"},
                "sticker": {
                    "file_id": "s1",
                    "file_unique_id": "s1u",
                    "type": "regular",
                    "width": 512,
                    "height": 512,
                    "is_animated": False,
                    "is_video": False,
                },
            }
        }
    )
    await phone.app.tracker.wait_handled(update_id)
    shown = phone.new_text()
    assert "I can only read text and buttons" in shown
    assert "Which language" in shown


async def test_admin_ids_make_admins(emulator: BotAPIEmulator, app: BotApp, db: Database) -> None:
    admin = Phone(emulator, app, user_id=9001, first_name="Ada")
    for text in ("/start", "yes"):
        await admin.send(text)
    member = await db.member(9001)
    assert member is not None and member.role == MemberRole.ADMIN


async def test_the_leader_forgets_update_ids_telegram_can_no_longer_resend(
    phone: Phone, app: BotApp, clock: ManualClock, db: Database
) -> None:
    assert app.scheduler is not None
    assert "updates:prune" in app.scheduler.jobs
    await phone.send("/start")
    clock.advance(timedelta(days=1))
    await phone.send("yes")
    clock.advance(timedelta(days=1, hours=1))
    # the first is now older than two days; the second is not
    assert await app.scheduler.prune_updates() == 1
    assert await db.count(ProcessedUpdate) == 1
    await phone.send("English")
    await phone.send("Skip")
    assert "Which group" in phone.new_text()
