"""Concerns end to end: raising one, named or anonymous; coordinators answer and move the ticket;
the raiser hears every step and can reply; nothing a coordinator sees names an anonymous raiser."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from conftest import Database, Phone, go_on_without_media, onboard
from sqlmodel import col, select

from bot.app import BotApp
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator, SentMessage
from bot.services.sealing import Sealer
from bot.storage import outbox
from bot.storage import tickets as ticket_store
from bot.storage.models import (
    Answer,
    FlowRun,
    Member,
    OutboxMessage,
    Ticket,
    TicketEvent,
    TicketRoute,
)


@pytest.fixture
async def fatou(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    phone = Phone(emulator, app, user_id=1002, first_name="Fatou", language_code="fr")
    await onboard(phone, "Membre de la communauté", language="Français")
    return phone


async def raise_concern(
    phone: Phone, *, category: str, about: str, urgency: str, text: str, identity: str
) -> str:
    """Go through /concern by pressing buttons and typing; return what the bot said at the end."""
    await phone.send("/concern")
    for label in (category, about, urgency):
        await phone.press(f". {label}")  # "3. Urgent", not "1. Not urgent"
    await phone.send(text)
    phone.new()
    await phone.press(identity)
    await go_on_without_media(phone)
    return phone.new_text()


async def raise_named_concern(phone: Phone) -> str:
    """An urgent concern about trust in the municipality, with the raiser's name."""
    return await raise_concern(
        phone,
        category="Trust",
        about="The municipality",
        urgency="Urgent",
        text="Nobody answers the phone at the town hall.",
        identity="Give my name",
    )


async def rows(db: Database, model: type[Any]) -> list[Any]:
    async with db.session_factory() as session:
        return list((await session.exec(select(model))).all())


def everything_shown(messages: list[SentMessage]) -> str:
    """Every byte a chat was shown: HTML as sent, visible text and the buttons' data."""
    return "\n".join(
        f"{m.text}\n{m.plain_text}\n{json.dumps(m.reply_markup, ensure_ascii=False)}"
        for m in messages
    )


async def test_anonymous_concern_answered_replied_and_done(
    admin: Phone, fatou: Phone, db: Database, app: BotApp
) -> None:
    said = await raise_concern(
        fatou,
        category="Confiance",
        about="La municipalité",
        urgency="Urgent",
        text="Les réunions changent d’heure sans prévenir.",
        identity="Rester anonyme",
    )
    assert "sans votre nom" in said
    handle = said.split("ticket ")[1].split(" ")[0].rstrip(";")
    assert handle.startswith("C-")

    new = await admin.wait_for("New concern")
    assert new.plain_text == (
        f"📣 New concern {handle}\nCategory: Trust\nAbout: The municipality\nUrgency: Urgent\n"
        "From: anonymous\n\nLes réunions changent d’heure sans prévenir."
    )
    assert [label for label, _ in new.buttons] == [
        "💬 Answer",
        "Discussed",
        "Action agreed",
        "Done",
        "Decline",
    ]

    await admin.press("Answer", message=new)
    assert f"Write your answer to {handle}" in admin.new_text()
    await admin.send("We will put it on Monday’s agenda.")
    assert f"Your answer to {handle} was passed on." in admin.new_text()
    answer = await fatou.wait_for("Réponse à votre préoccupation")
    assert answer.plain_text == (
        f"💬 Réponse à votre préoccupation {handle} :\n\nWe will put it on Monday’s agenda."
    )

    await fatou.press("Répondre", message=answer)
    assert "toujours sans votre nom" in fatou.new_text()
    await fatou.send("Merci, surtout celles du jeudi.")
    assert "Votre réponse a été transmise aux coordinateurs" in fatou.new_text()
    reply = await admin.wait_for("Reply about concern")
    assert reply.plain_text == (
        f"↩ Reply about concern {handle} (received) from the person who raised it (anonymous):\n\n"
        "Merci, surtout celles du jeudi."
    )

    await admin.press("Discussed", message=reply)
    assert f"{handle} is now: discussed in committee." in admin.new_text()
    await fatou.wait_for("a été discutée en comité")
    await admin.press("Action agreed")
    await fatou.wait_for("Une action a été décidée")
    await admin.press("Done")
    assert f"{handle} is now: done." in admin.new_text()
    await fatou.wait_for("Réalisé : l’action sur votre préoccupation")

    await fatou.send("/concerns")
    assert f"{handle} (anonyme) – réalisée – Confiance" in fatou.new_text()
    await admin.send("/tickets")
    assert "No open concern." in admin.new_text()

    # Nothing the coordinator was shown (text, markup, button data) names the raiser.
    fatou_member = await db.member(fatou.user_id)
    assert fatou_member is not None and fatou_member.id is not None
    shown = everything_shown(admin.messages)
    assert "Fatou" not in shown
    assert str(fatou.user_id) not in shown
    # …nor does the database, outside the sealed route.
    [ticket] = await rows(db, Ticket)
    assert ticket.anonymous is True and ticket.member_id is None
    assert ticket.status == "done" and ticket.closed_at is not None
    [route] = await rows(db, TicketRoute)
    assert route.ticket_id == ticket.id
    # Only the anonymity key opens the route; without it, it leads nowhere.
    assert Sealer(b"some-other-anonymity-key-0123456789").unseal(route.sealed) is None
    assert app.sealer is not None and app.sealer.unseal(route.sealed) == fatou_member.id
    events = await rows(db, TicketEvent)
    assert [(e.kind, e.status) for e in events] == [
        ("status", "received"),
        ("answer", None),
        ("reply", None),
        ("status", "discussed"),
        ("status", "agreed"),
        ("status", "done"),
    ]
    raiser_events = [e for e in events if e.from_raiser]
    assert [e.actor_member_id for e in raiser_events] == [None]
    assert [r for r in await rows(db, FlowRun) if r.flow_id == "concerns"] == []
    assert [a for a in await rows(db, Answer) if a.flow_id == "concerns"] == []
    # Messages to an anonymous raiser are not filed under them, and go once delivered.
    assert app.sender is not None
    await app.sender.wait_idle()
    assert [m for m in await db.outbox() if m.chat_id == fatou_member.chat_id] == []
    to_admin = [m for m in await db.outbox() if m.chat_id != fatou_member.chat_id]
    assert all("Fatou" not in m.text for m in to_admin)


async def test_relays_to_an_anonymous_raiser_leave_no_row_behind(
    admin: Phone, fatou: Phone, emulator: BotAPIEmulator, db: Database, app: BotApp
) -> None:
    said = await raise_concern(
        fatou,
        category="Ressources",
        about="Le secteur privé",
        urgency="Bientôt",
        text="Les salles promises ne sont jamais libres.",
        identity="Rester anonyme",
    )
    handle = said.split("ticket ")[1].split(" ")[0].rstrip(";")
    new = await admin.wait_for("New concern")
    await admin.press("Answer", message=new)
    await admin.send("The school hall is free on Thursdays.")
    received = await fatou.wait_for("The school hall is free on Thursdays.")
    assert handle in received.plain_text
    assert app.sender is not None
    await app.sender.wait_idle()

    fatou_member = await db.member(fatou.user_id)
    assert fatou_member is not None
    fatou_chat = fatou_member.chat_id

    def traces(rows: list[OutboxMessage]) -> list[OutboxMessage]:
        """Rows that tie Fatou's chat to the ticket (or are relays to an anonymous raiser)."""
        return [
            m
            for m in rows
            if m.source == outbox.ANONYMOUS_RELAY
            or (
                m.chat_id == fatou_chat
                and (handle in m.text or "school hall" in m.text or "salles" in m.text)
            )
        ]

    # Delivered: Fatou read it, and no row links her chat to the ticket.
    assert traces(await db.outbox()) == []
    # The coordinators' side of the same ticket is kept as usual.
    assert any(handle in m.text for m in await db.outbox() if m.chat_id != fatou_chat)

    # Given up (she has blocked the bot): the row goes too, and nobody is marked blocked.
    emulator.block(fatou.user_id)
    seen, calls = len(fatou.messages), emulator.calls["sendMessage"]
    await admin.press("Discussed", message=new)
    # Ada's two replies, then the relay, held back a moment by the per-chat pace (wait_idle
    # does not count a row whose chat is still paced): wait for the attempt, then its outcome.
    await emulator.wait_for_calls("sendMessage", count=calls + 3)
    await app.sender.wait_idle()
    assert emulator.stats.forbidden == 1
    assert len(fatou.messages) == seen
    assert traces(await db.outbox()) == []
    fatou_member = await db.member(fatou.user_id)
    assert fatou_member is not None and fatou_member.status == "active"


async def test_named_concern_declined_with_a_reason(
    admin: Phone, phone: Phone, db: Database
) -> None:
    await onboard(phone, "Civil-society organisation")
    said = await raise_concern(
        phone,
        category="Resources",
        about="The partnership as a whole",
        urgency="Not urgent",
        text="We never see the budget.",
        identity="Give my name",
    )
    assert "with your name" in said
    new = await admin.wait_for("New concern")
    assert "From: Amina" in new.plain_text

    await admin.press("Decline", message=new)
    assert "Why is" in admin.new_text()
    await admin.send("The budget is published by the municipality itself.")
    assert "is now: declined" in admin.new_text()
    declined = await phone.wait_for("was declined")
    assert declined.plain_text.endswith(
        "Reason: The budget is published by the municipality itself."
    )

    member = await db.member(phone.user_id)
    assert member is not None
    [ticket] = await rows(db, Ticket)
    assert ticket.member_id == member.id and not ticket.anonymous
    assert ticket.status == "declined"
    assert ticket.status_reason == "The budget is published by the municipality itself."
    assert await db.count(TicketRoute) == 0
    await phone.send("/concerns")
    mine = phone.new_text()
    assert "declined – Resources" in mine and "Reason: The budget" in mine


async def test_members_cannot_act_on_tickets(
    admin: Phone, fatou: Phone, phone: Phone, db: Database
) -> None:
    await onboard(phone, "Other")
    await raise_concern(
        fatou,
        category="Autre chose",
        about="Le secteur privé",
        urgency="Bientôt",
        text="Bruit du chantier la nuit.",
        identity="Rester anonyme",
    )
    await admin.wait_for("New concern")
    await phone.send("/tickets")
    assert "Only coordinators can see the concerns raised." in phone.new_text()

    [ticket] = await rows(db, Ticket)
    # Forged presses: a member acting on a ticket, another member replying as the raiser.
    for data in (f"tk:done:{ticket.id}", f"tk:show:{ticket.id}"):
        update_id = phone.emulator.press_button(phone.user_id, phone.last.message_id, data)
        await phone.app.tracker.wait_handled(update_id)
        assert phone.toast() == "You are no longer allowed to do this."
    update_id = phone.emulator.press_button(
        phone.user_id, phone.last.message_id, f"tr:reply:{ticket.id}"
    )
    await phone.app.tracker.wait_handled(update_id)
    assert phone.new() == []
    [ticket] = await rows(db, Ticket)
    assert ticket.status == "received"


async def test_a_demoted_coordinator_cannot_move_a_ticket(
    admin: Phone, fatou: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    marc = Phone(emulator, app, user_id=1003, first_name="Marc")
    await onboard(marc, "Municipality")
    await admin.send("/promote 1003")
    await raise_concern(
        fatou,
        category="Communication",
        about="La municipalité",
        urgency="Urgent",
        text="Personne ne répond au téléphone.",
        identity="Donner mon nom",
    )
    card = await marc.wait_for("New concern")
    assert "From: Fatou" in card.plain_text
    await admin.send("/demote 1003")
    await marc.press("Done", message=card)
    assert marc.toast() == "You are no longer allowed to do this."
    await marc.send("/tickets")
    assert "Only coordinators" in marc.new_text()
    assert [t.status for t in await rows(db, Ticket)] == ["received"]


async def test_cancel_while_answering_sends_nothing(
    admin: Phone, fatou: Phone, db: Database
) -> None:
    await raise_concern(
        fatou,
        category="Rôles et responsabilités",
        about="La société civile",
        urgency="Pas urgent",
        text="Qui organise la fête du quartier ?",
        identity="Rester anonyme",
    )
    new = await admin.wait_for("New concern")
    before = len(fatou.messages)
    await admin.press("Answer", message=new)
    await admin.send("/cancel")
    assert "Nothing was sent." in admin.new_text()
    await admin.send("/tickets")
    listing = admin.new_text()
    assert "Open concerns: 1" in listing and "received – Not urgent – Roles" in listing
    await admin.press("C-")
    card = admin.new_text()
    assert "Concern C-" in card and "From: anonymous" in card
    assert len(fatou.messages) == before
    shown = everything_shown(admin.messages)
    assert "Fatou" not in shown and str(fatou.user_id) not in shown
    assert [e.kind for e in await rows(db, TicketEvent)] == ["status"]


async def test_cancelling_the_flow_leaves_no_trace(fatou: Phone, db: Database) -> None:
    await fatou.send("/concern")
    await fatou.press("Confiance")
    await fatou.press("La municipalité")
    await fatou.send("/cancel")
    assert [r for r in await rows(db, FlowRun) if r.flow_id == "concerns"] == []
    assert await db.count(Ticket) == 0
    async with db.session_factory() as session:
        member = (
            await session.exec(select(Member).where(col(Member.telegram_user_id) == 1002))
        ).one()
        assert member.id is not None
        assert await ticket_store.list_raised(session, member_id=member.id, raiser_tag="x") == []
    assert await db.count(OutboxMessage) == 0


async def test_a_stopped_member_can_still_raise_a_concern(
    admin: Phone, phone: Phone, db: Database
) -> None:
    await onboard(phone)
    await phone.send("/stop")
    phone.new()
    said = await raise_named_concern(phone)
    assert "with your name" in said
    assert "From: Amina" in (await admin.wait_for("New concern")).plain_text
    assert [t.status for t in await rows(db, Ticket)] == ["received"]
    # Raising a concern did not subscribe the member to check-ins again.
    assert (await db.member(phone.user_id)).status == "stopped"  # type: ignore[union-attr]


async def test_answers_replies_and_reasons_are_bounded_like_the_concern(
    admin: Phone, phone: Phone, db: Database
) -> None:
    await onboard(phone)
    await raise_named_concern(phone)
    new = await admin.wait_for("New concern")
    await admin.press("Answer", message=new)
    admin.new()
    await admin.send("a" * 2001)
    assert "2001 characters long; at most 2000 fit" in admin.new_text()
    await admin.send("We will call back.")
    assert "was passed on" in admin.new_text()

    answer = await phone.wait_for("Answer about your concern")
    await phone.press("Reply", message=answer)
    phone.new()
    await phone.send("b" * 2500)
    assert "2500 characters long" in phone.new_text()
    await phone.send("Thanks.")
    assert "was passed on to the coordinators" in phone.new_text()

    await admin.press("Decline", message=new)
    admin.new()
    await admin.send("c" * 2001)
    assert "at most 2000 fit" in admin.new_text()
    await admin.send("Already fixed.")
    assert "is now: declined" in admin.new_text()
    events = [e.text for e in await rows(db, TicketEvent)]
    assert all(len(text or "") <= 2000 for text in events)


async def test_an_answer_to_an_erased_raiser_says_so_and_the_ticket_can_be_closed(
    admin: Phone, phone: Phone, db: Database
) -> None:
    await onboard(phone)
    await raise_named_concern(phone)
    new = await admin.wait_for("New concern")
    await phone.send("/forget")
    await phone.press("Yes, erase everything")
    assert await db.member(phone.user_id) is None

    await admin.press("Answer", message=new)
    await admin.send("We will call back.")
    told = admin.new_text()
    assert "has erased their data: nobody will receive your answer" in told
    assert "was passed on" not in told
    await admin.press("Done")
    assert "is now: done" in admin.new_text()
    assert [t.status for t in await rows(db, Ticket)] == ["done"]


async def test_an_anonymous_raisers_confirmation_outlasts_a_telegram_failure(
    fatou: Phone, emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    """The confirmation (the ticket's handle) is kept in the outbox, sealed, until delivered."""
    await fatou.send("/concern")
    for label in ("Ressources", "Le secteur privé", "Bientôt"):
        await fatou.press(f". {label}")
    await fatou.send("Les salles promises ne sont jamais libres.")
    await fatou.press("Rester anonyme")
    fatou.new()
    # Telegram fails more sends than a direct send would try.
    failures = app.settings.request_retries + 1
    emulator.inject_fault("sendMessage", status=502, description="Bad Gateway", count=failures)
    await go_on_without_media(fatou)
    assert app.sender is not None
    for _ in range(2 * failures):
        if any("ticket" in m.plain_text for m in fatou.messages):
            break
        # Past any retry's back-off: one more attempt is made.
        calls = emulator.calls["sendMessage"]
        clock.advance(timedelta(minutes=5))
        app.wake_sender()
        await emulator.wait_for_calls("sendMessage", count=calls + 1)
        await app.sender.wait_idle()
    confirmations = [m.plain_text for m in fatou.new() if "ticket" in m.plain_text]
    assert len(confirmations) == 1, confirmations
