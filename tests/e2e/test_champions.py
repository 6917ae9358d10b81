"""Champions end to end: the register of key people kept in chat and from the shell, a lead's
proposal, each key person's activity (coordinators only), the alerts when one goes quiet,
stops, is demoted, leaves or is erased, and the handover to a successor."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

import pytest
from conftest import ADMIN, Database, Phone
from test_releases import answer_roles

from bot.app import BotApp
from bot.cli import main
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import repo
from bot.storage.champion_models import Champion
from bot.storage.models import AuditEntry, CommitteeMember, Ticket, TicketEvent
from bot.storage.tickets import add_event

MARKET = "Market women"


async def join(phone: Phone, group: str, organisation: str) -> None:
    """Onboard `phone` by typing, naming its organisation; decline the roles conversation."""
    for typed in ("/start", "yes", "English", "Skip", group, organisation, "Member", "no"):
        await phone.send(typed)
    phone.new()


@pytest.fixture
async def ada(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    """The admin, a coordinator, of the town hall."""
    phone = Phone(emulator, app, user_id=ADMIN, first_name="Ada")
    await join(phone, "Municipality", "Town hall")
    return phone


@pytest.fixture
async def amina(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    phone = Phone(emulator, app, user_id=1001, first_name="Amina")
    await join(phone, "Community member", MARKET)
    return phone


@pytest.fixture
async def bob(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    phone = Phone(emulator, app, user_id=1004, first_name="Bob")
    await join(phone, "Community member", MARKET)
    return phone


async def name_key_person(ada: Phone, name: str, role: str) -> str:
    """Ada names a key person through /champions; what the bot said."""
    await ada.send("/champions")
    await ada.press("Name a key person")
    await ada.press(role)
    await ada.send(name)
    await ada.press(f"{name} · ")
    return ada.new_text()


async def start_handover(ada: Phone, seat: str, successor: str) -> str:
    """Ada, in the register, hands `seat` to `successor`; the summary she is asked to confirm."""
    await ada.press("Hand over")
    await ada.press(seat)
    await ada.send(successor)
    await ada.press(f"{successor} · ")
    return ada.new_text()


async def actions(db: Database) -> list[str]:
    return [e.action for e in await db.rows(AuditEntry)]


async def test_coordinators_keep_the_register_and_leads_propose(
    ada: Phone, amina: Phone, bob: Phone, db: Database
) -> None:
    await ada.send("/help")
    assert "/champions – key people per organisation" in ada.new_text()
    await ada.send("/champions")
    assert "No key person yet." in ada.new_text()
    await ada.press("Name a key person")
    await ada.press("lead")
    await ada.send("nobody here")
    assert "No member found for “nobody here”." in ada.new_text()
    await ada.send("ami")
    await ada.press("Amina · Market women")
    said = ada.new_text()
    assert "Amina is now the lead of Market women." in said
    # The register, with what Amina did: her onboarding answers, no check-in, no ticket.
    assert "#1 lead: Amina" in said
    assert "last answer 20" in said and "check-ins answered 0 of 0" in said
    assert "no ticket handled" in said and "committees: none" in said

    # Bob is nobody's key person: the register is not his to read.
    await bob.send("/champions")
    assert "Only coordinators keep the champions register" in bob.new_text()

    # Amina, the lead, proposes Bob as deputy; she never sees anyone's activity.
    await amina.send("/champions")
    shown = amina.new_text()
    assert "lead or its deputy" in shown and "check-ins answered" not in shown
    await amina.press("deputy")
    await amina.send("Bobby")
    assert "No other member of your organisation is called “Bobby”" in amina.new_text()
    await amina.send("/champions")
    await amina.press("deputy")
    await amina.send("bob")
    assert "your proposal of Bob went to the coordinators" in amina.new_text()
    await ada.wait_for("Amina, lead of Market women, proposes Bob as deputy.")

    await ada.send("/champions")
    assert "proposed by the lead: Bob" in ada.new_text()
    await ada.press("Confirm Market women · deputy: Bob")
    said = ada.new_text()
    assert "Confirmed: Bob is now the deputy of Market women." in said
    assert "#2 deputy: Bob" in said
    await ada.press("Done")
    assert "Champions register closed." in ada.new_text()
    assert all("check-ins answered" not in m.plain_text for m in amina.messages + bob.messages)

    seats = {(s.role, s.member_id) for s in await db.rows(Champion)}
    amina_id, bob_id = [(await db.member(u)).id for u in (1001, 1004)]  # type: ignore[union-attr]
    assert seats == {("lead", amina_id), ("deputy", bob_id)}
    assert await actions(db) == [
        "champion.set",
        "champion.proposed",
        "champion.proposal_accepted",
    ]

    # Removing a seat is a coordinator's too, and audited.
    await ada.send("/champions")
    await ada.press("Remove a seat")
    await ada.press("Market women · deputy: Bob")
    assert "The deputy seat of Market women is out of the register." in ada.new_text()
    assert [s.role for s in await db.rows(Champion)] == ["lead"]
    assert (await actions(db))[-1] == "champion.removed"


async def test_coordinators_are_told_when_a_key_person_stops_leaves_or_is_demoted(
    ada: Phone, amina: Phone, bob: Phone, emulator: BotAPIEmulator, app: BotApp
) -> None:
    await ada.send("/promote 1004")
    assert "Market women" in await name_key_person(ada, "Amina", "lead")
    assert "Market women" in await name_key_person(ada, "Bob", "deputy")

    await amina.send("/stop")
    await ada.wait_for("Amina, lead of Market women, stopped receiving messages (/stop).")
    await amina.send("/stop")  # already stopped: no second alert

    await ada.send("/demote 1004")
    await ada.wait_for("Bob, deputy of Market women, is no longer a coordinator.")

    await app.tracker.wait_handled(emulator.set_member_status(1004, "kicked"))
    await ada.wait_for("Bob, deputy of Market women, left the bot (blocked it).")
    alerts = [m.plain_text for m in ada.messages if " of Market women, " in m.plain_text]
    assert len(alerts) == 3


async def test_an_erased_key_person_leaves_a_vacant_seat_and_no_name(
    ada: Phone, amina: Phone, bob: Phone, db: Database
) -> None:
    await name_key_person(ada, "Amina", "lead")
    # Her seat is part of what /mydata gives her.
    await amina.send("/mydata")
    document = json.loads(amina.new()[-1].file_bytes or b"")
    assert [(s["organisation"], s["role"]) for s in document["key_person_seats"]] == [
        (MARKET, "lead")
    ]
    await amina.send("/forget")
    await amina.press("Yes")
    await ada.wait_for("the lead of Market women had their data erased (/forget)")
    assert [(s.organisation, s.member_id) for s in await db.rows(Champion)] == [(MARKET, None)]
    assert all("Amina" not in m.text for m in await db.outbox())
    await ada.send("/champions")
    assert "#1 lead: vacant" in ada.new_text()
    # The vacant seat is handed over: nothing to move, a briefing all the same.
    assert "from vacant to Bob" in await start_handover(ada, "Market women · lead: vacant", "Bob")
    await ada.press("Confirm the handover")
    assert "Handed over: Bob is now the lead of Market women" in ada.new_text()
    await bob.wait_for("You are now the lead of Market women")


async def test_a_quiet_key_person_is_reported_once_per_silence(
    ada: Phone, amina: Phone, app: BotApp, clock: ManualClock
) -> None:
    await name_key_person(ada, "Amina", "lead")
    scheduler = app.scheduler
    assert scheduler is not None
    clock.advance(timedelta(days=20))
    await scheduler.tick()
    clock.advance(timedelta(days=2))
    await scheduler.tick()
    await ada.wait_for("Amina, lead of Market women, has done nothing in the partnership for 22")
    await scheduler.tick()
    # Active again (an hour later), then quiet again: a new alert.
    clock.advance(timedelta(hours=1))
    await amina.send("/cancel")  # the weekly pulse the weeks brought: left unanswered
    await answer_roles(amina, "1", "2")
    clock.advance(timedelta(days=30))
    await scheduler.tick()
    await ada.wait_for("for 30 days")
    alerts = [m.plain_text for m in ada.messages if "has done nothing" in m.plain_text]
    assert len(alerts) == 2


async def test_a_handover_moves_seats_and_open_tickets_and_briefs_the_successor(
    ada: Phone, amina: Phone, bob: Phone, app: BotApp, db: Database
) -> None:
    await ada.send("/committee new Water board")
    await ada.send("/committee staff Water board 1001 chair")
    await name_key_person(ada, "Amina", "lead")
    await answer_roles(amina, "1", "2")
    amina_id, bob_id = [(await db.member(u)).id for u in (1001, 1004)]  # type: ignore[union-attr]
    assert app.session_factory is not None
    async with app.session_factory() as session:
        now = app.clock.now()
        ticket = Ticket(
            handle="C-WELL01",
            category="money",
            about="partnership",
            urgency="normal",
            text="The well",
            created_at=now,
            updated_at=now,
        )
        session.add(ticket)
        await session.flush()
        assert ticket.id is not None
        await add_event(
            session,
            ticket_id=ticket.id,
            kind="status",
            status="discussed",
            actor_member_id=amina_id,
            now=now + timedelta(hours=3),
        )
        await session.commit()
    await ada.send("/champions")
    assert "tickets handled 1 (1 open, first step after 3.0 h)" in ada.new_text()

    await ada.press("Hand over")
    await ada.press("Market women · lead: Amina")
    # A successor speaks for the same organisation: Ada, of the town hall, is not offered.
    await ada.send("Ada")
    assert "No member found for “Ada”." in ada.new_text()
    await ada.send("/cancel")
    await ada.send("/champions")
    summary = await start_handover(ada, "Market women · lead: Amina", "Bob")
    assert "from Amina to Bob" in summary
    assert "Committee seats that move: Water board" in summary
    assert "Open tickets that move: C-WELL01" in summary
    await ada.press("Confirm the handover")
    assert "Handed over: Bob is now the lead of Market women" in ada.new_text()

    briefing = (await bob.wait_for("You are now the lead of Market women")).plain_text
    assert "Roles your organisation took on: Technical skills" in briefing
    assert "Open commitments: none" in briefing
    assert "Open tickets: C-WELL01 (" in briefing
    assert "Your committee seats: Water board (chair)" in briefing
    assert "Latest figures" in briefing
    assert "The well" not in briefing  # the raiser's words stay with coordinators

    seats = {(s.member_id, s.is_chair) for s in await db.rows(CommitteeMember)}
    assert seats == {(bob_id, True)}
    events = [(e.kind, e.actor_member_id) for e in await db.rows(TicketEvent)]
    assert ("handover", bob_id) in events
    assert [s.member_id for s in await db.rows(Champion)] == [bob_id]
    assert (await actions(db))[-2:] == ["champion.handover", "champion.handover_moved"]


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["champions", *args])
    out, err = capsys.readouterr()
    return code, out, "".join(line for line in err.splitlines(True) if "partnerbot:" in line)


async def test_the_register_from_the_shell(
    ada: Phone, amina: Phone, capsys: pytest.CaptureFixture[str], cli_env: Any, db: Database
) -> None:
    run: Any = lambda *a: asyncio.to_thread(cli, capsys, *a)  # noqa: E731
    assert await run("set", "1001", "--role", "deputy") == (
        0,
        "Amina is now the deputy of Market women.\n",
        "",
    )
    assert await run("set", "4242") == (1, "", "partnerbot: No member has the Telegram id 4242.\n")
    code, out, _ = await run("list")
    assert code == 0 and "#1 deputy: Amina" in out and "check-ins answered 0 of 0" in out
    assert await run("remove", "1") == (
        0,
        "The deputy seat of Market women is out of the register.\n",
        "",
    )
    assert await run("remove", "1") == (
        1,
        "",
        "partnerbot: There is no seat #1 in the register.\n",
    )
    async with db.session_factory() as session:
        entries = await repo.count_rows(session, AuditEntry)
    assert entries == 2
    assert [e.actor_label for e in await db.rows(AuditEntry)] == ["cli", "cli"]
