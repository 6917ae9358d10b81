"""Facilitator entry: a coordinator records answers for people without a phone."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

from conftest import ADMIN, Database, Phone, onboard
from sqlmodel import col, select

from bot.app import BotApp
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import audit
from bot.storage.models import Answer, FlowRun, RunStatus

SAID = "A bench by the clinic, please"


async def all_answers(app: BotApp) -> list[Answer]:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        return list((await session.exec(select(Answer).order_by(col(Answer.id)))).all())


async def answer_roles_for_someone(admin: Phone) -> None:
    """Answer the roles questions for a French speaker (they are shown in French)."""
    await admin.send("2")  # brings: technical skills
    await admin.press("Passer")  # leads nothing
    await admin.send(SAID)
    for _ in range(3):
        await admin.press("Passer")
    await admin.send("4")


async def test_a_coordinator_records_answers_for_people_without_a_phone(
    admin: Phone, app: BotApp, db: Database
) -> None:
    coordinator = await db.member(ADMIN)
    assert coordinator is not None
    await admin.send("/proxy")
    assert "Record answers for someone without a phone. Which questionnaire?" in admin.new_text()
    offered = [b for b, _ in admin.last.buttons]
    assert "Roles and responsibilities" in offered and "Trust pulse" in offered
    assert not any("Welcome" in b or "Concern" in b for b in offered)
    await admin.press("Roles and responsibilities")
    assert "Which stakeholder group is the person in?" in admin.new_text()
    await admin.press("Community member")
    assert "Which language does the person speak?" in admin.new_text()
    await admin.press("Français")
    shown = admin.new_text()
    assert (
        "Recording Roles and responsibilities for a person of the group Community member "
        "(language: Français)" in shown
    )
    await answer_roles_for_someone(admin)
    assert "Recorded: the answers are stored for that person, not for you." in admin.new_text()

    # The next person, same questionnaire and group, in one press.
    await admin.press("Next person, same questionnaire and group")
    assert "Recording Roles and responsibilities" in admin.new_text()
    await answer_roles_for_someone(admin)
    admin.new()

    proxied = [a for a in await all_answers(app) if a.flow_id == "roles"]
    assert proxied and all(
        (a.proxy, a.recorded_by, a.member_id, a.stakeholder_group, a.anonymous)
        == (True, coordinator.id, None, "community", False)
        for a in proxied
    )
    assert [a.value_text for a in proxied if a.question_key == "expect_municipality"] == [
        SAID,
        SAID,
    ]
    runs = [r for r in await db.runs(ADMIN) if r.flow_id == "roles"]
    assert [(r.proxy, r.status, r.answers) for r in runs] == [
        ({"group": "community", "language": "fr"}, RunStatus.DONE, {}),
    ] * 2
    assert {a.run_id for a in proxied} == {r.id for r in runs}
    # Nothing was recorded as the coordinator's own.
    assert await db.answers(ADMIN, "roles") == {}
    after = await db.member(ADMIN)
    assert after is not None and after.stakeholder_group == "municipality"

    # An anonymous questionnaire, started in one command: no run, no member, still flagged.
    await admin.send("/proxy trust_pulse private_sector")
    assert "(language: –)" in admin.new_text()
    for value in ("1", "2", "3", "4", "5", "3"):
        await admin.send(value)
    await admin.press("Skip")
    assert "Recorded:" in admin.new_text()
    pulse = [a for a in await all_answers(app) if a.flow_id == "trust_pulse"]
    assert pulse and all(
        (a.proxy, a.run_id, a.member_id, a.anonymous, a.stakeholder_group)
        == (True, None, None, True, "private_sector")
        for a in pulse
    )

    await admin.send("/export")
    await admin.press("CSV")
    rows = list(csv.DictReader(io.StringIO((admin.last.file_bytes or b"").decode("utf-8-sig"))))
    flagged = [r for r in rows if r["proxy"] == "yes"]
    assert len(flagged) == len(proxied) + len(pulse)
    assert {r["respondent"] for r in flagged} == {""}
    assert {r["stakeholder_group"] for r in flagged} == {"community", "private_sector"}
    assert {r["response"] == "" for r in flagged if r["flow"] == "trust_pulse"} == {True}

    await admin.send("/proxy roles nobody")
    assert "Usage: /proxy" in admin.new_text()


async def test_only_coordinators_and_the_role_is_checked_at_every_answer(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    helper = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(helper, "Civil-society organisation")
    await helper.send("/proxy")
    assert "Only coordinators can record answers for someone else." in helper.new_text()

    await admin.send("/promote 1001")
    await helper.send("/proxy")
    menu = helper.new()[-1]
    await helper.send("/proxy roles community")
    assert "Recording Roles" in helper.new_text()
    await admin.send("/demote 1001")

    await helper.press("Trust pulse", message=menu)
    assert helper.toast() == "You are no longer allowed to do this."
    await helper.send("2")
    assert "You are no longer allowed to record answers for someone else" in helper.new_text()
    assert [a for a in await all_answers(app) if a.proxy] == []
    runs = await db.runs(1001)
    assert [(r.flow_id, r.status) for r in runs if r.proxy] == [("roles", RunStatus.ABANDONED)]
    assert app.session_factory is not None
    async with app.session_factory() as session:
        assert (await session.exec(select(FlowRun).where(FlowRun.status == "running"))).all() == []


async def test_every_proxy_session_is_in_the_audit_log(admin: Phone, app: BotApp) -> None:
    await admin.send("/proxy roles community fr")
    await answer_roles_for_someone(admin)
    await admin.press("Next person, same questionnaire and group")
    await admin.send("2")  # half-way through the next person's answers
    await admin.send("/cancel")
    await admin.send("/proxy trust_pulse private_sector")
    admin.new()
    assert app.session_factory is not None
    async with app.session_factory() as session:
        entries = await audit.list_entries(session)
    sessions = [
        (
            e.actor_label,
            e.action,
            e.detail.get("flow"),
            e.detail.get("group"),
            e.detail.get("outcome"),
        )
        for e in reversed(entries)
        if e.action.startswith("proxy.")
    ]
    label = f"admin {ADMIN}"
    assert sessions == [
        (label, "proxy.start", "roles", "community", None),
        (label, "proxy.end", "roles", "community", "done"),
        (label, "proxy.start", "roles", "community", None),
        (label, "proxy.end", "roles", "community", "cancelled"),
        (label, "proxy.start", "trust_pulse", "private_sector", None),
    ]


async def test_a_proxy_session_left_for_a_week_is_closed_and_audited(
    admin: Phone, app: BotApp, clock: ManualClock
) -> None:
    await admin.send("/proxy trust_pulse private_sector")
    admin.new()
    clock.advance(timedelta(days=7, minutes=1))
    assert app.scheduler is not None and app.session_factory is not None
    assert (await app.scheduler.tick()).abandoned == 1
    await admin.wait_for("was left without an answer")
    async with app.session_factory() as session:
        entries = await audit.list_entries(session)
    ends = [e.detail.get("outcome") for e in entries if e.action == "proxy.end"]
    assert ends == ["abandoned"]


async def test_questions_are_shown_in_the_persons_language_and_the_facilitators_own_in_theirs(
    admin: Phone, app: BotApp
) -> None:
    await admin.send("/proxy trust_pulse community fr")
    shown = admin.new_text()
    # The facilitator's own messages: in English, their language.
    assert "Recording Trust pulse for a person of the group Community member" in shown
    assert "/cancel stops" in shown
    # The questions: in French, to be read aloud as the person will understand them.
    assert "Quelle confiance faites-vous en ce moment à la municipalité" in shown
    assert "How much do you trust" not in shown
    assert [b for b, _ in admin.last.buttons][-1] == "Passer"

    # A hint is for the one typing; the question it repeats stays the person's.
    await admin.send("dix")
    hinted = admin.new_text()
    assert "Please answer with a whole number from 1 to 5." in hinted
    assert "Quelle confiance faites-vous en ce moment à la municipalité" in hinted

    # The labels typed are the ones the facilitator sees.
    await admin.send("Passer")
    assert "aux entreprises privées du partenariat" in admin.new_text()

    await admin.send("/cancel")
    assert "Conversation left." in admin.new_text()
