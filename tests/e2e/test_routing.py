"""Concerns routed by category, urgent ones escalated, trust drops told: committees declare the
categories they handle (chat and shell); an urgent ticket nobody answered for 48 hours goes to
every coordinator once, never naming an anonymous raiser; a fall in a group's visible trust
index reaches coordinators once, with a follow-up question. In English and in French."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, Database, Phone, go_on_without_media, onboard

from bot.app import BotApp
from bot.cli import main
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import repo
from bot.storage.models import (
    Answer,
    AuditEntry,
    CheckIn,
    CheckInStatus,
    Committee,
    OutboxMessage,
    ScheduleOccurrence,
    Ticket,
    TicketRoute,
)

RAISER_NAME = "Zoubeida"
TRUST_PULSE = 1  # the default schedule created at start
OCCURRENCE = "seeded"


@pytest.fixture
async def odile(emulator: BotAPIEmulator, app: BotApp, admin: Phone) -> Phone:
    """A French-speaking coordinator."""
    phone = Phone(emulator, app, user_id=1004, first_name="Odile", language_code="fr")
    await onboard(phone, "Municipalité", language="Français")
    await admin.send("/promote 1004")
    admin.new()
    return phone


@pytest.fixture
async def raiser(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    phone = Phone(emulator, app, user_id=1001, first_name=RAISER_NAME)
    await onboard(phone, "Community member")
    return phone


async def raise_concern(phone: Phone, labels: tuple[str, str, str], text: str, who: str) -> None:
    await phone.send("/concern")
    for label in labels:
        await phone.press(f". {label}")
    await phone.send(text)
    await phone.press(who)
    await go_on_without_media(phone)
    phone.new()


async def tick(app: BotApp) -> None:
    assert app.scheduler is not None and app.sender is not None
    await app.scheduler.tick()
    await app.sender.wait_idle()


async def shell(*args: str) -> int:
    """`partnerbot committees …`, run off the test's event loop (it runs its own)."""
    return await asyncio.to_thread(main, ["committees", *args])


def seen(phone: Phone, fragment: str) -> list[str]:
    return [m.plain_text for m in phone.messages if fragment in m.plain_text]


async def queued(db: Database, fragment: str) -> list[OutboxMessage]:
    """Messages put in the outbox (sent or not) whose text holds `fragment`."""
    return [m for m in await db.rows(OutboxMessage) if fragment in (m.text or "")]


async def test_a_concern_goes_to_the_committee_owning_its_category(
    admin: Phone, marc: Phone, raiser: Phone, app: BotApp, db: Database
) -> None:
    await admin.send("/committee new Steering group")
    await admin.send("/committee new Trust committee")
    await admin.send(f"/committee staff 1 {ADMIN}")
    await admin.send("/committee staff Trust committee 1003")
    admin.new()
    await admin.send("/committee categories Trust committee trust roles")
    assert admin.new_text() == (
        "Trust committee now receives the concerns about: Roles and responsibilities, Trust."
    )
    await admin.send("/committee categories 2 weather")
    assert "Name the concern categories the committee handles, among: roles," in admin.new_text()
    await admin.send("/committees")
    assert admin.new_text() == (
        "Committees\n#1 Steering group: Ada\n"
        "#2 Trust committee: Marc – handles: Roles and responsibilities, Trust"
    )

    await raise_concern(
        raiser, ("Trust", "The municipality", "Urgent"), "The mayor ignores us.", "Stay anonymous"
    )
    card = await marc.wait_for("The mayor ignores us.")
    assert "From: anonymous" in card.plain_text and RAISER_NAME not in card.plain_text
    await raise_concern(
        raiser, ("Resources", "The municipality", "Soon"), "No room for meetings.", "Give my name"
    )
    await admin.wait_for("No room for meetings.")
    # Ada is not on the trust committee; resources are the steering group's.
    assert [m.chat_id for m in await queued(db, "The mayor ignores us.")] == [marc.user_id]
    assert [m.chat_id for m in await queued(db, "No room for meetings.")] == [ADMIN]
    committees = {c.name: c.id for c in await db.rows(Committee)}
    tickets = sorted(await db.rows(Ticket), key=lambda t: t.id)
    assert [t.committee_id for t in tickets] == [
        committees["Trust committee"],
        committees["Steering group"],
    ]
    assert [t.member_id for t in tickets][0] is None  # the anonymous one keeps no raiser
    [entry] = [e for e in await db.rows(AuditEntry) if e.action == "committee.categories_set"]
    assert entry.detail["categories"] == ["roles", "trust"]

    # Taken over by the steering group, trust concerns go there from now on.
    admin.new()
    await admin.send("/committee categories 1 trust")
    assert admin.new_text() == (
        "Steering group now receives the concerns about: Trust.\n"
        "Trust was handled by Trust committee until now."
    )
    await raise_concern(
        raiser, ("Trust", "The private sector", "Soon"), "Contracts are secret.", "Stay anonymous"
    )
    await admin.wait_for("Contracts are secret.")
    await admin.send("/committee categories 1 none")
    assert "Steering group handles no concern category now" in admin.new_text()


async def test_categories_in_french_and_from_the_shell(
    admin: Phone,
    odile: Phone,
    raiser: Phone,
    db: Database,
    cli_env: Any,
    capsys: pytest.CaptureFixture[str],
) -> None:
    await admin.send("/committee new Steering group")
    await admin.send("/committee new Comité services")
    await admin.send("/committee staff 2 1004")
    await odile.send("/committee categories Comité services service_delivery resources")
    assert odile.new_text() == (
        "Comité services reçoit désormais les préoccupations sur : Ressources, "
        "Prestation des services."
    )
    await odile.send("/committee categories 2 météo")
    assert "Indiquez les catégories de préoccupations" in odile.new_text()
    await raise_concern(
        raiser, ("Resources", "The municipality", "Urgent"), "The pump is broken.", "Give my name"
    )
    card = await odile.wait_for("The pump is broken.")
    assert "Nouvelle préoccupation" in card.plain_text and RAISER_NAME in card.plain_text

    assert await shell("categories", "Steering group", "communication") == 0
    assert capsys.readouterr().out.strip() == (
        "Steering group now receives the concerns about: Communication."
    )
    assert await shell("categories", "2", "weather") == 1
    assert "Name the concern categories" in capsys.readouterr().err
    assert await shell("list") == 0
    listed = capsys.readouterr().out
    assert "#1 Steering group: " in listed and "– handles: Communication\n" in listed
    assert "#2 Comité services: Odile (1004) – handles: Resources, Service delivery" in listed
    [entry] = [
        e
        for e in await db.rows(AuditEntry)
        if e.action == "committee.categories_set" and e.actor_label == "cli"
    ]
    assert entry.detail["categories"] == ["communication"]


async def test_an_urgent_concern_left_unanswered_escalates_to_every_coordinator_once(
    admin: Phone,
    marc: Phone,
    odile: Phone,
    raiser: Phone,
    app: BotApp,
    db: Database,
    clock: ManualClock,
) -> None:
    await admin.send("/committee new Trust committee")
    await admin.send("/committee staff 1 1003")
    await admin.send("/committee categories 1 trust")
    await raise_concern(
        raiser, ("Trust", "The municipality", "Urgent"), "Threats at the market.", "Stay anonymous"
    )
    await raise_concern(
        raiser, ("Trust", "The municipality", "Urgent"), "Answered in time.", "Give my name"
    )
    await raise_concern(
        raiser, ("Trust", "The municipality", "Soon"), "Not urgent enough.", "Stay anonymous"
    )
    await marc.wait_for("Not urgent enough.")
    answered = await marc.wait_for("Answered in time.")
    await marc.press("Answer", message=answered)
    await marc.send("We are on it.")
    assert "was passed on" in marc.new_text()

    clock.advance(timedelta(hours=47, minutes=59))
    await tick(app)
    assert await queued(db, "⏰") == []

    clock.advance(timedelta(minutes=2))
    await tick(app)
    escalated = (await admin.wait_for("unanswered for 48 hours")).plain_text
    assert "Threats at the market." in escalated
    assert "From: anonymous" in escalated and RAISER_NAME not in escalated
    french = (await odile.wait_for("sans réponse depuis 48 heures")).plain_text
    assert "Threats at the market." in french and "De : anonyme" in french
    await marc.wait_for("unanswered for 48 hours")
    # Neither the answered ticket nor the one that is not urgent; once per ticket.
    escalations = await queued(db, "⏰")
    assert sorted(m.chat_id for m in escalations) == sorted([ADMIN, marc.user_id, odile.user_id])
    assert all("Threats at the market." in m.text for m in escalations)
    clock.advance(timedelta(hours=2))
    await tick(app)
    assert len(await queued(db, "⏰")) == 3
    [entry] = [e for e in await db.rows(AuditEntry) if e.action == "ticket.escalated"]
    [ticket] = [t for t in await db.rows(Ticket) if t.text == "Threats at the market."]
    [route] = [r for r in await db.rows(TicketRoute) if r.ticket_id == ticket.id]
    assert ticket.escalated_at is not None and entry.actor_label == "system"
    assert entry.detail == {
        "ticket": ticket.id,
        "handle": ticket.handle,
        "committee": ticket.committee_id,
        "after_hours": 48.0,
    }
    assert str(raiser.user_id) not in str(entry.detail) and route.sealed not in str(entry.detail)


def trust_answers(group: str, rating: float, raters: int, when: Any) -> list[Answer]:
    day = when.replace(hour=0, minute=0, second=0, microsecond=0)
    return [
        Answer(
            flow_id="trust_pulse",
            question_key="civil_society",
            kind="scale",
            value_number=rating,
            anonymous=True,
            stakeholder_group=group,
            created_at=day,
        )
        for _ in range(raters)
    ]


async def test_a_visible_trust_drop_is_told_once_with_a_question(
    admin: Phone, odile: Phone, app: BotApp, db: Database, clock: ManualClock
) -> None:
    weeks = [
        # (municipality: six raters, falls by 1), (community: six, falls by 0.25),
        # (private sector: four raters only, hidden however far it falls)
        {"municipality": 4.0, "community": 3.5, "private_sector": 5.0},
        {"municipality": 3.0, "community": 3.25, "private_sector": 1.0},
    ]
    assert app.session_factory is not None
    for ratings in weeks:
        async with app.session_factory() as session:
            for group, rating in ratings.items():
                raters = 4 if group == "private_sector" else 6
                session.add_all(trust_answers(group, rating, raters, clock.now()))
            await session.commit()
        clock.advance(timedelta(days=7))
    await tick(app)
    alert = (await admin.wait_for("Trust is falling")).plain_text
    assert alert.startswith("📉 Trust is falling: Municipality\n")
    assert "from 4.00 to 3.00" in alert
    assert "A follow-up question you could ask them: “What has changed" in alert
    french = (await odile.wait_for("La confiance baisse")).plain_text
    assert "Municipalité" in french and "de 4.00 à 3.00" in french
    assert "Une question de suivi" in french
    # Neither the community (a smaller fall) nor the private sector (four raters: hidden).
    assert len(await queued(db, "📉")) == 2

    clock.advance(timedelta(hours=2))
    await tick(app)
    assert len(await queued(db, "📉")) == 2
    [entry] = [e for e in await db.rows(AuditEntry) if e.action == "trust.alert"]
    assert entry.detail["group"] == "municipality"
    assert (entry.detail["before"], entry.detail["after"]) == (4.0, 3.0)


async def seed_checkins(app: BotApp, clock: ManualClock) -> None:
    """Trust pulses sent and finished: the municipality 6 of 8 members, civil society 5 of 10,
    the community 2 of 6 (too few answered to show); their window then closes."""
    assert app.session_factory is not None
    now = clock.now()
    sizes = {"municipality": (8, 6), "civil_society": (10, 5), "community": (6, 2)}
    async with app.session_factory() as session:
        session.add(
            ScheduleOccurrence(
                schedule_id=TRUST_PULSE,
                occurrence=OCCURRENCE,
                first_send_at=now,
                last_close_at=now + timedelta(days=2),
                recorded_at=now,
            )
        )
        for g, (group, (sent, finished)) in enumerate(sizes.items()):
            for index in range(sent):
                member = await repo.create_member(
                    session,
                    telegram_user_id=600_000 + 1000 * g + index,
                    chat_id=600_000 + 1000 * g + index,
                    display_name=f"{group} {index}",
                    language="en",
                    now=now,
                )
                member.stakeholder_group = group
                await session.flush()
                assert member.id is not None
                session.add(
                    CheckIn(
                        schedule_id=TRUST_PULSE,
                        occurrence=OCCURRENCE,
                        member_id=member.id,
                        status=CheckInStatus.DONE if index < finished else CheckInStatus.EXPIRED,
                        due_at=now,
                        closes_at=now + timedelta(days=2),
                        sent_at=now,
                        finished_at=now if index < finished else None,
                    )
                )
        await session.commit()
    clock.advance(timedelta(days=7))


async def test_response_rates_show_answered_of_invited_per_group(
    admin: Phone,
    odile: Phone,
    app: BotApp,
    clock: ManualClock,
    cli_env: Any,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    await seed_checkins(app, clock)
    await admin.send("/report")
    await admin.press("Response rates")
    caption = (await admin.wait_for("Answered of invited")).plain_text
    said = caption.split("Answered of invited (check-ins finished of those sent, per group):")[1]
    assert "Municipality: 6 of 8 (75%)" in said
    assert "Civil-society organisation: 5 of 10 (50%)" in said
    # Two answered in the community: hidden, and in no total (nothing to subtract).
    assert "Community member: –" in said and "Total: 11 of 18 (61%)" in said
    assert "Share of" not in said  # the share-of-members chart stays beside it

    await odile.send("/report")
    await odile.press("Taux de réponse")
    french = (await odile.wait_for("Réponses sur invitations")).plain_text
    assert "\nMunicipalité : 6 sur 8 (75 %)\nOrganisation de la société civile : 5 sur 10" in french

    out = str(tmp_path)
    assert await asyncio.to_thread(main, ["report", "--out", out]) == 0
    printed = capsys.readouterr().out
    assert "Answered of invited (check-ins finished of those sent, per group):" in printed
    assert "Municipality: 6 of 8 (75%)\n" in printed
