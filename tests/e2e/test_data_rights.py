"""/mydata sends a member all that is stored about them; /forget leaves nothing of them."""

from __future__ import annotations

import html
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import ADMIN, Database, Phone, add_anonymous_concern, onboard
from sqlmodel import SQLModel, col, select
from test_concerns import raise_concern
from test_export import ANONYMOUS_TEXT, NAMED_TEXT, answer_roles, answer_trust_pulse

from bot.app import BotApp
from bot.sandbox.emulator import BotAPIEmulator
from bot.services.data_rights import EXPORTED_COLUMNS, member_document
from bot.storage import audit, repo
from bot.storage.caucus_models import CaucusRound, CaucusSeat
from bot.storage.data_rights import MemberRecords
from bot.storage.decision_models import Decision, DecisionVoter
from bot.storage.models import (
    Answer,
    CheckIn,
    Committee,
    CommitteeMember,
    Member,
    Schedule,
    TicketEvent,
)

MEMBER = 7_700_002
NAME = "Zephyrine O'Hara"  # HTML-escaped in messages: Zephyrine O&#x27;Hara
NAMED_CONCERN = "The Zarqa market stalls flood every spring"
RAISER_REPLY = "Still flooding in Zarqa, see photo & map"
COORDINATORS_ANSWER = "We will look at it"
ANONYMOUS_CONCERN = "Someone on the Zarqa board takes bribes"
PROXY_TEXT = "Grandmother Halima wants a bench by the Zarqa clinic"


async def add_records(app: BotApp, telegram_user_id: int) -> None:
    """What other modules store about a member: tickets, a committee seat, a check-in."""
    assert app.session_factory is not None and app.sealer is not None
    now = datetime.now(UTC)
    async with app.session_factory() as session:
        member = await repo.get_member_by_telegram_id(session, telegram_user_id=telegram_user_id)
        admin = await repo.get_member_by_telegram_id(session, telegram_user_id=ADMIN)
        assert member is not None and member.id is not None and admin is not None
        hidden = await add_anonymous_concern(
            session, app.sealer, raiser_id=member.id, text=ANONYMOUS_CONCERN, now=now,
            handle="C-ANON",
        )  # fmt: skip
        committee = Committee(name="Steering group", created_at=now)
        schedule = Schedule(
            flow_id="trust_pulse",
            window_minutes=60,
            active_from=now,
            created_at=now,
            updated_at=now,
            created_by=member.id,
        )
        session.add_all([committee, schedule])
        await session.flush()
        assert hidden.id and committee.id and schedule.id
        # A caucus round they opened and were invited to.
        caucus = CaucusRound(
            stakeholder_group="community",
            committee_id=committee.id,
            topic="Roads",
            opened_by=member.id,
            opened_at=now,
        )
        session.add(caucus)
        await session.flush()
        assert caucus.id
        session.add(CaucusSeat(round_id=caucus.id, member_id=member.id, answered=True))
        # A named proposal they voted on, and an anonymous one (their vote is nobody's).
        for anonymous in (False, True):
            decision = Decision(
                question=f"Pave the market road? ({anonymous})",
                options=["agree", "abstain", "disagree", "block"],
                anonymous=anonymous,
                opened_at=now,
                closes_at=now + timedelta(days=1),
                remind_at=now,
            )
            session.add(decision)
            await session.flush()
            assert decision.id
            option = None if anonymous else 2
            session.add(
                DecisionVoter(
                    decision_id=decision.id, member_id=member.id, voted=True, option=option
                )
            )
        session.add_all(
            [
                TicketEvent(
                    ticket_id=hidden.id,
                    kind="answer",
                    text="Thank you, we act",
                    actor_member_id=member.id,
                    created_at=now,
                ),
                CommitteeMember(committee_id=committee.id, member_id=member.id, added_at=now),
                CheckIn(
                    schedule_id=schedule.id,
                    occurrence="2026-W02",
                    member_id=member.id,
                    due_at=now,
                    closes_at=now + timedelta(hours=1),
                ),
            ]
        )
        await session.commit()


async def raise_named_concern(phone: Phone, admin: Phone) -> str:
    """Through the bot: the member raises a concern with their name, a coordinator answers,
    the member replies; every coordinator's message carries their name and words."""
    said = await raise_concern(
        phone,
        category="Service delivery",
        about="The municipality",
        urgency="Soon",
        text=NAMED_CONCERN,
        identity="Give my name",
    )
    handle = said.split("ticket ")[1].split(" ")[0].rstrip(";")
    new = await admin.wait_for(f"New concern {handle}")
    assert NAME in new.plain_text
    await admin.press("Answer", message=new)
    await admin.send(COORDINATORS_ANSWER)
    answer = await phone.wait_for(COORDINATORS_ANSWER)
    await phone.press("Reply", message=answer)
    await phone.send(RAISER_REPLY)
    await admin.wait_for(RAISER_REPLY)
    phone.new()
    return handle


async def answer_for_someone(phone: Phone) -> None:
    """As a coordinator, record the roles questionnaire for someone without a phone."""
    await phone.send("/proxy roles community")
    for text in ("1", "1", PROXY_TEXT):  # brings and leads local knowledge
        await phone.send(text)
    for _ in range(3):
        await phone.press("Skip")
    await phone.send("5")
    phone.new()


async def everything(app: BotApp) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, by table name."""
    assert app.session_factory is not None
    rows: dict[str, list[dict[str, Any]]] = {}
    async with app.session_factory() as session:
        connection = await session.connection()
        for table in SQLModel.metadata.sorted_tables:
            result = await connection.execute(table.select())
            rows[table.name] = [dict(r._mapping) for r in result.all()]
    return rows


def traces(app: BotApp, rows: dict[str, list[dict[str, Any]]], member_id: int) -> list[str]:
    """Where the member can still be found: ids, names, their own words, foreign keys."""
    words = [NAME, NAMED_TEXT, NAMED_CONCERN, RAISER_REPLY]
    needles = [str(MEMBER), *words, *(html.escape(w) for w in words)]
    member_columns = {
        (table.name, column.name)
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if any(fk.column.table.name == "member" for fk in column.foreign_keys)
        or (table.name == "member" and column.name == "id")
    }
    found = []
    for table, table_rows in rows.items():
        for row in table_rows:
            for column, value in row.items():
                shown = json.dumps(value, default=str) if not isinstance(value, str) else value
                if (table, column) in member_columns and value == member_id:
                    found.append(f"{table}.{column} = member id")
                if value == MEMBER:
                    found.append(f"{table}.{column} = telegram id")
                found += [f"{table}.{column} has {n!r}" for n in needles if n in shown]
                if column == "sealed" and app.sealer and app.sealer.unseal(value) == member_id:
                    found.append(f"{table}.{column} leads to the member")
    return found


async def test_mydata_then_forget_leaves_nothing(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    phone = Phone(emulator, app, user_id=MEMBER, first_name=NAME)
    await onboard(phone, "Community member")
    await answer_roles(phone)
    await answer_trust_pulse(phone, app)
    handle = await raise_named_concern(phone, admin)
    await admin.send(f"/promote {MEMBER}")
    await phone.send("/export")
    await phone.press("CSV")
    await answer_for_someone(phone)
    await add_records(app, MEMBER)
    await admin.send("/broadcast")
    await admin.send("Assembly on Friday")
    await admin.press("Continue")
    await admin.press("One text for all")
    await admin.press("No")
    await admin.press("Send now")
    await admin.press("Send")
    await phone.wait_for("Assembly on Friday")
    member = await db.member(MEMBER)
    assert member is not None and member.id is not None
    phone.new()

    await phone.send("/mydata")
    sent = phone.new()[-1]
    assert sent.kind == "document" and sent.file_name == "partnerbot-my-data.json"
    assert "Anonymous answers are not in it" in sent.plain_text
    document = json.loads(sent.file_bytes or b"")
    assert document["profile"]["display_name"] == NAME
    assert document["profile"]["telegram_user_id"] == MEMBER
    assert document["profile"]["role"] == "coordinator"
    assert NAMED_TEXT in [a["value_text"] for a in document["answers"]]
    assert ANONYMOUS_TEXT not in json.dumps(document)
    assert PROXY_TEXT not in [a["value_text"] for a in document["answers"]]
    assert {r["flow_id"] for r in document["runs"]} >= {"onboarding", "roles", "trust_pulse"}
    assert [c["occurrence"] for c in document["checkins"]] == ["2026-W02"]
    assert document["committees"] == [
        {
            "committee": "Steering group",
            "is_chair": False,
            "added_at": document["committees"][0]["added_at"],
        }
    ]
    assert document["caucus_rounds"] == [
        {"round": 1, "group": "community", "topic": "Roads", "answered": True, "reacted": False}
    ]
    assert document["decisions"] == [
        {
            "decision": 1,
            "question": "Pave the market road? (False)",
            "anonymous": False,
            "voted": True,
            "option": "disagree",
        },
        {
            "decision": 2,
            "question": "Pave the market road? (True)",
            "anonymous": True,
            "voted": True,
            "option": None,
        },
    ]
    [concern] = document["concerns"]
    assert concern["text"] == NAMED_CONCERN
    assert [e["text"] for e in concern["events"] if e["text"]] == [
        COORDINATORS_ANSWER,
        RAISER_REPLY,
    ]
    [anonymous] = document["anonymous_concerns"]
    assert anonymous["text"] == ANONYMOUS_CONCERN and anonymous["anonymous"] is True
    assert "Assembly on Friday" in [m["text"] for m in document["messages_to_you"]]
    [step] = document["your_steps_on_concerns"]  # as a coordinator, on a concern
    assert (step["concern"], step["kind"], step["text"]) == (
        "C-ANON",
        "answer",
        "Thank you, we act",
    )
    assert [e["action"] for e in document["your_recorded_actions"]] == [
        "export",
        "proxy.start",
        "proxy.end",
    ]

    assert len(traces(app, await everything(app), member.id)) > 10  # the scan sees them

    await phone.send("/forget")
    assert "Erase everything about you?" in phone.new_text()
    await phone.send("maybe")
    assert "Please answer yes" in phone.new_text()
    await phone.press("No, keep it")
    assert "Nothing was erased." in phone.new_text()
    assert await db.member(MEMBER) is not None

    await phone.send("/forget")
    phone.new()
    await phone.send("Yes")
    assert "everything about you is erased" in phone.new_text()

    rows = await everything(app)
    assert traces(app, rows, member.id) == []
    # A keyed hash in the erasure log, for a restore of an older backup to erase them again.
    [erased] = rows["erasure"]
    assert app.sealer is not None and erased["member_tag"] == app.sealer.erasure_tag(member.id)
    # What others need stays, without the member.
    [named] = [t for t in rows["ticket"] if t["handle"] == handle]
    assert (named["text"], named["member_id"]) == ("", None)
    # The coordinators' messages about it stay, without the member's name or words.
    notices = [m["text"] for m in rows["outboxmessage"] if handle in m["text"]]
    # (in no particular order: PostgreSQL returns rows as they lie after the erasure's updates)
    assert sorted(n.split("\n")[0].split("</b>")[0] for n in notices) == sorted(
        [f"📣 <b>New concern {handle}", f"↩ <b>Reply about concern {handle}"]
    )
    assert all("former member" in n and n.endswith("\n\n—") for n in notices), notices
    assert [t["text"] for t in rows["ticket"] if t["handle"] == "C-ANON"] == [ANONYMOUS_CONCERN]
    assert rows["ticketroute"] == []
    proxy = [a for a in rows["answer"] if a["proxy"]]
    assert PROXY_TEXT in [a["value_text"] for a in proxy]
    assert {(a["recorded_by"], a["run_id"], a["member_id"]) for a in proxy} == {(None, None, None)}
    # Anonymous answers never led to anyone; they stay, as anonymous as they were.
    assert ANONYMOUS_TEXT in [a["value_text"] for a in rows["answer"]]
    async with app.session_factory() as session:
        entries = await audit.list_entries(session)
    promoted = next(e for e in entries if e.action == "role.promoted")
    assert promoted.detail["target"] == "former member"
    assert promoted.actor_label == f"admin {ADMIN}"
    exported = next(e for e in entries if e.action == "export")
    assert (exported.actor_label, exported.actor_member_id) == ("former member", None)
    assert entries[0].action == "member.forgotten"

    # A stale confirmation button does nothing; /start begins again, as for a stranger.
    await phone.press("Yes, erase everything")
    assert phone.toast() == "This question is already answered."
    await phone.send("/start")
    assert "yes" in phone.new_text().lower()
    assert await db.member(MEMBER) is None


async def test_forget_in_french_by_typing_and_cancel(french_phone: Phone, db: Database) -> None:
    await onboard_fr(french_phone)
    await french_phone.send("/forget")
    assert "Tout effacer à votre sujet ?" in french_phone.new_text()
    await french_phone.send("/cancel")
    assert "Rien n’a été effacé." in french_phone.new_text()
    await french_phone.send("/forget")
    await french_phone.send("oui")
    assert "tout ce qui vous concernait est effacé" in french_phone.new_text()
    assert await db.member(french_phone.user_id) is None
    assert await db.count(Answer) == 0
    # Coming back starts from the welcome: a second "oui" answers nothing that was shown.
    await french_phone.send("oui")
    assert "Êtes-vous d’accord" in french_phone.new_text()
    assert await db.member(french_phone.user_id) is None


async def onboard_fr(phone: Phone) -> None:
    for text in (
        "/start",
        "oui",
        "Français",
        "Passer",
        "Membre de la communauté",
        "Ici",
        "Moi",
        "non",
    ):
        await phone.send(text)
    phone.new()


async def test_strangers_have_nothing_to_export_or_forget(phone: Phone, db: Database) -> None:
    await phone.send("/mydata")
    assert "Nothing is stored about you" in phone.new_text()
    await phone.send("/forget")
    assert "there is nothing to erase" in phone.new_text()
    assert await db.count(CheckIn) == 0


async def test_the_answers_of_others_are_untouched(
    admin: Phone, phone: Phone, db: Database, app: BotApp
) -> None:
    await onboard(phone, "Other")
    await answer_roles(phone)
    before = await db.answers(ADMIN)
    await phone.send("/forget")
    await phone.send("yes")
    assert await db.answers(ADMIN) == before
    assert app.session_factory is not None
    async with app.session_factory() as session:
        left = (await session.exec(select(Answer).where(col(Answer.flow_id) == "roles"))).all()
    assert left == []


async def test_forget_drops_the_replies_still_queued_for_the_member(
    phone: Phone, db: Database
) -> None:
    await onboard(phone)
    # Telegram makes the bot wait: /help's reply goes to the outbox's queue meanwhile.
    phone.emulator.inject_fault(
        "sendMessage", status=429, description="Too Many Requests: retry after 3", retry_after=3
    )
    await phone.send("/help")
    assert phone.new() == []
    await phone.send("/forget")
    await phone.send("Yes")
    await phone.wait_for("everything about you is erased")
    shown = phone.new_text()
    assert "/language" not in shown, "a reply queued for a forgotten member was sent"
    assert "Erase everything about you?" not in shown
    assert await db.member(phone.user_id) is None


# Columns that hold a member, or a keyed tag of one, and are deliberately not in /mydata.
# Each reason is in docs/privacy.md too.
NOT_IN_MYDATA: dict[str, str] = {
    # Answers recorded for someone without a phone are that person's, not the coordinator's;
    # the coordinator's proxy sessions are in `your_recorded_actions` (proxy.start, proxy.end).
    "answer.recorded_by": "the person recorded for",
    # A coordinator's acts for the partnership: each is audited under their id, so it is in
    # `your_recorded_actions` (broadcast.confirmed, schedule.created, committee.created,
    # caucus.opened, champion.proposed, commitment.variation_decided).
    "broadcast.created_by": "audited",
    "schedule.created_by": "audited",
    "committee.created_by": "audited",
    "caucus_round.opened_by": "audited",
    "champion.proposed_by": "audited",
    "variation.decided_by": "audited",
    "committee_group.bound_by": "audited",  # group.bound
    "decision.opened_by": "audited",  # decision.proposed
    "decision.decided_by": "audited",  # decision.decided
    # Anonymous by design: a keyed tag per round and person, which only the key turns back into
    # a member; a copy "in their name" would be the link the tag exists to avoid.
    "caucus_entry.respondent": "anonymous",
    # The same for an anonymous vote: its tag lets a changed vote replace the former one.
    "decision_vote.voter_tag": "anonymous",
    # Stored before consent (a keyed hash of a Telegram id, no member yet, gone within a week).
    "consentprompt.tag": "no member yet",
    # Written by /forget, once the member is gone: nobody left to send it to.
    "erasure.member_tag": "no member any more",
}


def member_columns() -> set[str]:
    """`table.column` of every column that refers to `member.id`, or holds a keyed tag of one
    (a tag has no foreign key: it is found by its name)."""
    return {
        f"{table.name}.{column.name}"
        for table in SQLModel.metadata.sorted_tables
        for column in table.columns
        if any(fk.column.table.name == "member" for fk in column.foreign_keys)
        or column.name.endswith("tag")
        or (table.name, column.name) in {("member", "id"), ("caucus_entry", "respondent")}
    }


def test_every_column_that_holds_a_member_is_in_mydata_or_allowed() -> None:
    columns = member_columns()
    assert "variationresponse.member_id" in columns and "ticketroute.raiser_tag" in columns
    missing = columns - EXPORTED_COLUMNS.keys() - NOT_IN_MYDATA.keys()
    assert missing == set(), f"neither in /mydata nor allowed: {sorted(missing)}"
    assert set(NOT_IN_MYDATA) <= columns and set(EXPORTED_COLUMNS) <= columns  # none stale
    assert not EXPORTED_COLUMNS.keys() & NOT_IN_MYDATA.keys()
    # Every section named is one that /mydata writes.
    now = datetime.now(UTC)
    member = Member(
        telegram_user_id=1, chat_id=1, language="en", consent_at=now, joined_at=now, updated_at=now
    )
    empty = MemberRecords(member, *([()] * 10))
    assert set(EXPORTED_COLUMNS.values()) <= member_document(empty, now=now).keys()
