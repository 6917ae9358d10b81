"""Typed answers as members on real phones type them, end to end: what a button shows, no
accents, other languages, typos, numbers by locale, invisible text, a way out of a question
that is not understood, and a chat that remembers what was answered."""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from conftest import ROOT, Database, Phone, onboard
from sqlalchemy import event
from sqlmodel import select

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.models import Ticket

BIDI = "\u202e", "\u2067", "\u2069", "\u202a", "\u202c"


async def send_all(phone: Phone, *texts: str) -> None:
    for text in texts:
        await phone.send(text)


# -- 14.1: what a button shows ---------------------------------------------------------------


async def test_typing_what_a_button_shows_selects_it(phone: Phone, db: Database) -> None:
    await send_all(phone, "/start", "Yes")
    assert [b for b, _ in phone.last.buttons] == ["1. English", "2. Français"]
    await phone.send("1. English")
    assert "Which time zone" in phone.new_text()
    await phone.send("Skip")  # the time zone: the partnership's
    assert "Which group" in phone.new_text()
    await phone.send("2. Private company")
    assert "name of your organisation" in phone.new_text()
    await send_all(phone, "Acme Water", "Engineer", "Yes")
    brings = phone.last
    assert "☐ 1. Local knowledge" in [b for b, _ in brings.buttons]
    phone.new()
    await phone.send("☐ 1. Local knowledge")
    assert "take the lead" in phone.new_text()

    member = await db.member(phone.user_id)
    assert member is not None
    assert (member.language, member.stakeholder_group) == ("en", "private_sector")
    assert (await db.answers(phone.user_id, "roles"))["brings"] == "local_knowledge"


# -- 14.2: accents, case, typos and other languages ------------------------------------------


@pytest.mark.parametrize("typed", ["francais", "FRANCAIS", "French"])
async def test_a_language_typed_without_accents_or_in_english(
    phone: Phone, db: Database, typed: str
) -> None:
    await send_all(phone, "/start", "yes")
    phone.new()
    await phone.send(typed)
    shown = phone.new_text()
    assert "J’ai compris : « Français »." in shown
    assert "Dans quel fuseau horaire êtes-vous" in shown
    member = await db.member(phone.user_id)
    assert member is not None and member.language == "fr"


async def test_a_typo_and_another_languages_yes(phone: Phone, db: Database) -> None:
    await send_all(phone, "/start", "yes", "Français", "Passer")
    phone.new()
    await phone.send("Municipalty")
    shown = phone.new_text()
    assert "J’ai compris : « Municipalité »." in shown
    await send_all(phone, "Mairie", "Secrétaire")
    await phone.send("/language")
    await phone.press("English")
    assert "roles and responsibilities" in phone.new_text()
    await phone.send("oui")
    assert "A few questions about roles" in phone.new_text()

    member = await db.member(phone.user_id)
    assert member is not None and member.stakeholder_group == "municipality"
    assert (await db.answers(phone.user_id, "onboarding"))["offer_roles"] == "yes"


async def test_a_french_member_types_skip_and_done(french_phone: Phone, db: Database) -> None:
    phone = french_phone
    await send_all(phone, "/start", "oui", "Français", "Passer", "Membre de la communauté")
    phone.new()
    await phone.send("skip")
    assert "Quel est votre rôle" in phone.new_text()
    await send_all(phone, "Habitante", "oui")
    await phone.press("Connaissance du terrain")
    await phone.press("Liens avec la communauté")
    phone.new()
    await phone.send("done")
    assert "votre organisation joue-t-elle un rôle de pilote" in phone.new_text()

    assert (await db.answers(phone.user_id, "onboarding"))["community_organisation"] is None
    roles = await db.answers(phone.user_id, "roles")
    assert roles["brings"] == ["local_knowledge", "community_links"]


async def test_a_typo_in_a_several_choice_answer(phone: Phone, db: Database) -> None:
    """(Two options one letter away are never guessed between: tests/domain/test_reading.py.)"""
    await send_all(
        phone, "/start", "yes", "English", "Skip", "Municipality", "Town hall", "Clerk", "yes"
    )
    phone.new()
    await phone.send("x")
    assert "Sorry, I did not understand" in phone.new_text()
    await phone.send("Tme and work")
    assert "I understood: “Time and work”." in phone.new_text()
    assert (await db.answers(phone.user_id, "roles"))["brings"] == "time_labour"


# -- 14.3: no endless loop --------------------------------------------------------------------


GROUPS = [
    "Municipality",
    "Private company",
    "Civil-society organisation",
    "Community member",
    "Other",
]
SET_ASIDE = "Let us leave this question for now"


async def nonsense_at_the_group_question(phone: Phone, times: int) -> list[str]:
    """What the bot answers to each of `times` unreadable answers to a question that cannot
    be skipped (the stakeholder group at onboarding)."""
    await send_all(phone, "/start", "yes", "English", "Skip")
    phone.new()
    replies = []
    for _ in range(times):
        await phone.send("blah")
        replies.append(phone.new_text())
    return replies


async def test_five_nonsense_answers_end_with_a_way_out(phone: Phone, db: Database) -> None:
    replies = await nonsense_at_the_group_question(phone, 5)
    assert max(Counter(replies).values()) <= 2, replies
    assert all("Sorry, I did not understand" in r for r in replies[:2])
    way_out = replies[2]
    assert replies[3] == way_out  # shown twice, then the question is set aside
    assert "Which group do you belong to" in way_out
    for number, label in enumerate(GROUPS, 1):
        assert f"{number}. {label}" in way_out
    assert "/cancel" in way_out and "/help" in way_out
    assert "skip" not in way_out.casefold(), "this question cannot be skipped"

    set_aside = replies[4]
    assert set_aside.startswith(SET_ASIDE)
    assert "Which group" not in set_aside
    assert all(f"/{command}" in set_aside for command in ("start", "cancel", "help"))
    asked = [m for m in phone.messages if "Which group" in m.plain_text]
    assert all(not m.buttons for m in asked), "no button answers a question set aside"
    [run] = await db.runs(phone.user_id)
    assert run.status == "running", "the answers given so far wait with the question"

    await phone.send("/start")
    again = phone.new_text()
    assert "Which group do you belong to" in again and "Sorry" not in again
    assert [b for b, _ in phone.last.buttons][0] == "1. Municipality"
    await phone.send("blah")  # a fresh start: a plain hint again, not the way out
    assert "Sorry, I did not understand" in phone.new_text()
    await phone.send("1")
    assert "name of your organisation" in phone.new_text()


async def test_eight_nonsense_answers_are_never_refused_the_same_way_a_fourth_time(
    phone: Phone, db: Database
) -> None:
    replies = await nonsense_at_the_group_question(phone, 8)
    assert max(Counter(replies).values()) <= 3, replies
    assert replies[4].startswith(SET_ASIDE)
    for waiting in replies[5:]:
        assert "Sorry" not in waiting and "Which group" not in waiting
        assert "/start" in waiting and "/help" in waiting
    await phone.send("Municipality")  # an answer is still taken while the question waits
    assert "name of your organisation" in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None and member.stakeholder_group == "municipality"


async def test_nonsense_at_the_consent_question_is_not_answered_with_the_welcome_again(
    phone: Phone, db: Database
) -> None:
    """Before consent nothing is stored of the person, yet the question's misunderstandings
    are counted like any other's: hints, the way out twice, then it is set aside."""
    await phone.send("/start")
    phone.new()
    replies = []
    for _ in range(8):
        await phone.send("blah")
        replies.append(phone.new_text())
    assert max(Counter(replies).values()) <= 3, replies
    assert not any("listening line" in r for r in replies), replies
    assert "/cancel" in replies[2] and "Do you agree?" in replies[2]
    assert replies[4].startswith(SET_ASIDE)
    await phone.send("yes")  # the answer is still taken while the question waits
    assert "Which language" in phone.new_text()
    assert await db.member(phone.user_id) is not None


async def test_the_way_out_offers_to_skip_where_the_flow_allows(phone: Phone, db: Database) -> None:
    await send_all(phone, "/start", "yes", "English", "Skip", "Community member")
    phone.new()
    for _ in range(3):
        await phone.send("\u200b")
    way_out = phone.new_text().split("\n---\n")[-1]
    assert "To skip this question, type Skip." in way_out
    assert "/cancel" in way_out
    await phone.send("Skip")
    assert "What is your role" in phone.new_text()
    assert (await db.answers(phone.user_id, "onboarding"))["community_organisation"] is None


# -- 14.4: numbers by locale ------------------------------------------------------------------

COUNT_FLOW = """
schema: 1
id: count
version: 1
title: count.title
command: count
start: people
nodes:
  - {id: people, ask: number, text: count.people, min: 0, max: 100000, next: share}
  - {id: share, ask: number, text: count.share, integer: false, next: bye}
  - {id: bye, end: count.bye}
"""
COUNT_WORDING = {
    "en": ("Counting", "How many people came?", "What share of the budget?", "Counted."),
    "fr": ("Compter", "Combien de personnes sont venues ?", "Quelle part du budget ?", "Compté."),
}


@pytest.fixture
async def counting(settings: Settings, clock: ManualClock, tmp_path: Path) -> AsyncIterator[BotApp]:
    """The bot with one more flow, asking for numbers."""
    flows, locales = tmp_path / "flows", tmp_path / "locales"
    shutil.copytree(ROOT / "flows", flows)
    shutil.copytree(ROOT / "locales", locales)
    (flows / "count.yaml").write_text(COUNT_FLOW, encoding="utf-8")
    for locale, wording in COUNT_WORDING.items():
        po = locales / locale / "LC_MESSAGES" / "partnerbot.po"
        keys = ("count.title", "count.people", "count.share", "count.bye")
        extra = "".join(
            f'\nmsgid "{k}"\nmsgstr "{w}"\n' for k, w in zip(keys, wording, strict=True)
        )
        po.write_text(po.read_text(encoding="utf-8") + extra, encoding="utf-8")
    bot_app = BotApp(
        settings.model_copy(update={"flows_dir": flows, "locales_dir": locales}), clock=clock
    )
    await bot_app.start()
    try:
        yield bot_app
    finally:
        await bot_app.stop()


async def test_numbers_read_as_the_members_language_writes_them(
    counting: BotApp, emulator: BotAPIEmulator
) -> None:
    amina = Phone(emulator, counting, user_id=1001)
    await onboard(amina, "Municipality")
    await amina.send("/count")
    for nonsense in ("1e9", "NaN", "inf"):
        await amina.send(nonsense)
        assert "number from 0 to 100000." in amina.new_text()
    await amina.send("1,000")
    assert "What share of the budget?" in amina.new_text()
    await amina.send("1,5")
    assert "Did you mean 1.5?" in amina.new_text()
    await amina.send("1.5")
    assert "Counted." in amina.new_text()

    fatou = Phone(emulator, counting, user_id=1002, first_name="Fatou", language_code="fr")
    await onboard(fatou, "Municipalité", language="Français")
    await send_all(fatou, "/count", "1 000", "1.5")
    assert "Vouliez-vous dire 1,5 ?" in fatou.new_text()
    await send_all(fatou, "1,5", "/count")
    fatou.new()
    await fatou.send("1,000")
    assert "Vouliez-vous dire 1000 ou 1 ?" in fatou.new_text()
    await send_all(fatou, "1.000", "0,25")
    assert "Compté." in fatou.new_text()

    db = Database(counting)
    assert await db.answers(amina.user_id, "count") == {"people": 1000, "share": 1.5}
    assert await db.answers(fatou.user_id, "count") == {
        "people": [1000, 1000],
        "share": [1.5, 0.25],
    }


# -- 14.5: invisible text ---------------------------------------------------------------------


async def test_answers_made_of_invisible_characters_are_refused(
    phone: Phone, db: Database, admin: Phone
) -> None:
    await send_all(phone, "/start", "yes", "English", "Skip", "Municipality")
    phone.new()
    await phone.send("\u200b\u200d\u2060")
    assert "Please type a short answer" in phone.new_text()
    await send_all(phone, "Town hall", "Clerk", "no", "/concern", "1", "4", "1")
    phone.new()
    await phone.send("\u200b\ufeff \u3164")
    assert "Please type a short answer" in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None and member.organisation == "Town hall"


async def test_bidirectional_overrides_are_removed(
    emulator: BotAPIEmulator, app: BotApp, db: Database, admin: Phone
) -> None:
    phone = Phone(emulator, app, user_id=1003, first_name="\u202eAnna\u202c")
    await send_all(
        phone,
        "/start",
        "yes",
        "English",
        "Skip",
        "Municipality",
        "\u2067Acme\u2069 \u202eWater",
        "Clerk",
    )
    await phone.send("no")
    member = await db.member(phone.user_id)
    assert member is not None
    assert (member.display_name, member.organisation) == ("Anna", "Acme Water")

    await send_all(phone, "/concern", "1", "4", "1", "The \u202emeeting\u202c moved", "1", "skip")
    new = await admin.wait_for("New concern")
    assert "The meeting moved" in new.plain_text and "Anna" in new.plain_text
    await admin.press("Answer", message=new)
    await admin.send("See \u202ayou\u202c Monday")
    answer = await phone.wait_for("Answer about your concern")
    assert "See you Monday" in answer.plain_text
    async with db.session_factory() as session:
        [ticket] = (await session.exec(select(Ticket))).all()
    assert ticket.text == "The meeting moved"
    shown = "".join(m.text for m in (*phone.messages, *admin.messages))
    assert not any(c in shown for c in BIDI)


# -- 14.7: buttons and the chat's memory ----------------------------------------------------------


async def test_answered_questions_show_the_answer_and_lose_their_buttons(phone: Phone) -> None:
    await phone.send("/start")
    consent = phone.last
    await phone.press("Yes")
    assert consent.buttons == []
    assert consent.plain_text.endswith("Your answer: Yes")
    language = phone.last
    await phone.send("English")
    assert language.buttons == [], "answered by typing: its buttons go, as for a press"
    await phone.send("Skip")  # the time zone
    group = phone.last
    await phone.send("blah")
    assert group.buttons == [], "asked again below: the old copy's buttons go"
    again = phone.last
    assert again.buttons
    await phone.press("Municipality", message=again)
    assert again.buttons == []
    assert again.plain_text.endswith("Your answer: Municipality")
    await send_all(phone, "Town hall", "Clerk", "yes")
    brings = phone.last
    await phone.press("Funding")
    await phone.send("done")
    assert brings.buttons == []
    # Nothing asked Telegram to take buttons off a message that had none left.
    assert phone.emulator.stats.bad_requests == 0


# -- an answer goes to the question the member saw -------------------------------------------


async def test_a_retype_overtaken_by_its_original_does_not_answer_the_next_question(
    phone: Phone, db: Database, emulator: BotAPIEmulator
) -> None:
    await send_all(phone, "/start", "Yes", "1. English", "Skip", "2. Private company")
    assert "name of your organisation" in phone.new_text()
    # Sent twice before the bot answered the first (as after "please try again" while the
    # original was still on its way): both are older than the role question.
    updates = [
        emulator.send_text(phone.user_id, "Acme Water Ltd", first_name=phone.first_name)
        for _ in range(2)
    ]
    for update_id in updates:
        await phone.app.tracker.wait_handled(update_id)
    asked, told = (m.plain_text for m in phone.new())
    assert "What is your role" in asked
    assert "written before the question above" in told
    assert "What is your role" not in told, "the question on screen is not repeated"

    await phone.send("Engineer")
    assert "roles and responsibilities" in phone.new_text()
    await phone.send("No")
    member = await db.member(phone.user_id)
    assert member is not None
    assert (member.organisation, member.role_title) == ("Acme Water Ltd", "Engineer")


async def test_an_answer_typed_after_the_question_is_taken(phone: Phone) -> None:
    await send_all(phone, "/start", "Yes", "1. English", "Skip", "2. Private company")
    phone.new()
    await send_all(phone, "Acme Water Ltd", "Engineer")
    shown = phone.new_text()
    assert "written before" not in shown
    assert "roles and responsibilities" in shown


async def test_whether_the_question_was_shown_comes_with_the_members_own_query(
    phone: Phone, app: BotApp
) -> None:
    """A typed answer learns that its question left the outbox from the query that loads the
    member and their run, not from a statement of its own: every statement is a few thread
    hand-offs on SQLite, and members' steps are made of them (docs/benchmarks.md)."""
    await send_all(phone, "/start", "Yes", "1. English", "Skip", "2. Private company")
    phone.new()
    statements: list[str] = []

    def record(*args: object) -> None:
        statements.append(" ".join(str(args[2]).split()))

    event.listen(app.engine.sync_engine, "before_cursor_execute", record)
    try:
        await phone.send("Acme Water Ltd")
    finally:
        event.remove(app.engine.sync_engine, "before_cursor_execute", record)
    assert "What is your role" in phone.new_text()
    question_reads = [
        s for s in statements if s.startswith("SELECT outboxmessage.id, outboxmessage.status ")
    ]
    assert question_reads == []
    assert any("FROM member" in s and "outboxmessage.run_id = flowrun.id" in s for s in statements)
