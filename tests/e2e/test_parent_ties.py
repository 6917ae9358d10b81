"""Ties to parent organisations end to end: a coordinator sets up the parent check in /schedules;
it goes to partners' representatives only; its trend per partner group is k-anonymous; every
coordinator is alerted when "marginalised" rises two periods in a row (not after one); /brief
gives a representative a one-page PNG with no figure under k.

k is 3 here. The app starts at 09:00 UTC on Monday 5 January 2026; the check goes out every
Monday at 10:00 (the partnership's time, UTC) and closes two days later.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from datetime import date, timedelta

import pytest
from conftest import ADMIN, Database, Phone, add_roles_run, onboard
from PIL import Image
from sqlmodel import col, select

from bot.app import BotApp
from bot.cli import main
from bot.cli.report import report_lines
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.commitments import CommitmentSpec
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import repo
from bot.storage.commitments import add_commitment
from bot.storage.models import OutboxMessage, Schedule, ScheduleStatus, Ticket

K = 3
CHECK = "A short check for partners"
THANKS = "/brief gives you a one-page briefing"
ALERT = "feel more marginalised from their own organisation two periods in a row"
DEFAULTS = (1, 2)  # the trust pulse and the partnership review, paused here


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """k = 3, and no background sweep: each test ticks when it means to."""
    return settings.model_copy(update={"checkin_sweep_s": 3600.0, "report_min_group": K})


async def tick(app: BotApp) -> None:
    assert app.scheduler is not None
    await app.scheduler.tick()


async def pause_defaults(app: BotApp) -> None:
    assert app.session_factory is not None and app.checkins is not None
    async with app.session_factory() as session:
        for schedule_id in DEFAULTS:
            await app.checkins.set_status(
                session, schedule_id=schedule_id, status=ScheduleStatus.PAUSED, now=app.clock.now()
            )
        await session.commit()


async def create_parent_check(admin: Phone) -> str:
    """The coordinator's /schedules conversation; the preview's text."""
    await admin.send("/schedules")
    await admin.press("New schedule")
    await admin.press("Ties to your organisation")
    await admin.press("Continue")  # no narrowing: everyone the check may go to
    await admin.press("On days of the week")
    await admin.press("Monday")
    await admin.press("Continue")
    await admin.press("1")
    admin.new()
    await admin.send("10:00")
    await admin.press("The partnership’s time (UTC)")
    await admin.press("2 d")
    admin.new()
    await admin.press("No reminders")
    preview = admin.new_text()
    await admin.press("Create")
    return preview


async def answer_check(
    phone: Phone, *, backing: int, pending: bool, resources: int, low: int
) -> None:
    """The four questions, typed; `low` is how marginalised the representative feels."""
    await phone.wait_for(CHECK, unseen=True)
    for typed in (str(backing), "yes" if pending else "no", str(resources), str(low)):
        await phone.send(typed)
    await phone.wait_for(THANKS, unseen=True)
    phone.new()


async def period(
    app: BotApp,
    clock: ManualClock,
    partners: Sequence[Phone],
    small: Phone,
    *,
    marginalised: int,
) -> None:
    """Monday 10:00: the check goes out; the partners answer; Wednesday 10:00 it closes."""
    clock.advance(timedelta(hours=1))
    await tick(app)
    for phone in partners:
        await answer_check(phone, backing=4, pending=False, resources=4, low=marginalised)
    await answer_check(small, backing=1, pending=True, resources=1, low=marginalised - 1)
    clock.advance(timedelta(days=2))
    await tick(app)
    clock.advance(timedelta(days=5, hours=-1))  # next Monday 09:00


async def alerts(db: Database) -> list[OutboxMessage]:
    return [m for m in await db.outbox() if m.source == "parent:alert"]


async def representatives(
    emulator: BotAPIEmulator, app: BotApp
) -> tuple[list[Phone], Phone, Phone]:
    """Three private-company representatives, one of a civil-society organisation (a group
    under k) and a community member."""
    partners = [
        Phone(emulator, app, user_id=1001 + n, first_name=name)
        for n, name in enumerate(("Amina", "Kenji", "Maria"))
    ]
    for phone in partners:
        await onboard(phone, "Private company")
    small = Phone(emulator, app, user_id=1010, first_name="Ode")
    await onboard(small, "Civil-society organisation")
    resident = Phone(emulator, app, user_id=1020, first_name="Lena")
    await onboard(resident)
    return partners, small, resident


async def test_the_parent_check_trend_and_the_alert_on_two_rises(
    emulator: BotAPIEmulator,
    app: BotApp,
    admin: Phone,
    clock: ManualClock,
    db: Database,
    settings: Settings,
) -> None:
    partners, small, resident = await representatives(emulator, app)
    await pause_defaults(app)
    preview = await create_parent_check(admin)
    # Partners' representatives only: the community member is not among them.
    assert (
        "To: Municipality, Private company, Civil-society organisation, Other (5 members now)"
        in preview
    )
    [schedule] = [s for s in await db.rows(Schedule) if s.flow_id == "parent_check"]
    assert schedule.kind == "parent_check"
    assert "community" not in schedule.audience["groups"]

    await period(app, clock, partners, small, marginalised=2)
    assert CHECK not in " ".join(m.plain_text for m in resident.messages)
    assert await alerts(db) == []
    await period(app, clock, partners, small, marginalised=3)
    assert await alerts(db) == [], "one rise is not yet a trend"
    await period(app, clock, partners, small, marginalised=4)

    [alert] = await alerts(db)
    assert alert.chat_id == ADMIN
    message = await admin.wait_for(ALERT)
    assert "representatives of Private company feel more marginalised" in message.plain_text
    assert "(2.0 → 3.0 → 4.0, latest period from 2026-01-19)" in message.plain_text
    # The civil-society representative's answers rose too, but one person is under k: no
    # figure, and no alert that would give it away.
    assert "Civil-society" not in message.plain_text
    await tick(app)
    assert len(await alerts(db)) == 1, "an alert goes once"

    # The coordinators' trend, by period: the group under k shows dashes only.
    lines = await report_lines(settings, since=None, out=None)
    start = lines.index("Marginalised")
    assert [line.split() for line in lines[start + 2 : start + 4]] == [
        ["Private", "company", "2.0", "3.0", "4.0"],
        ["Civil-society", "organisation", "–", "–", "–"],
    ]
    assert not any("1.0" in line for line in lines[lines.index("Backing") :][:6])

    await admin.send("/report parent")
    chart = await admin.wait_for("Ties to parent organisations: feeling marginalised")
    assert chart.kind == "photo"


async def test_brief_is_one_page_without_figures_under_k(
    emulator: BotAPIEmulator,
    app: BotApp,
    admin: Phone,
    clock: ManualClock,
) -> None:
    partners, small, resident = await representatives(emulator, app)
    await pause_defaults(app)
    await create_parent_check(admin)
    assert app.session_factory is not None
    async with app.session_factory() as session:
        kenji = await repo.get_member_by_telegram_id(session, telegram_user_id=1002)
        assert kenji is not None
        await add_roles_run(
            session,
            kenji,
            [("brings", "funding"), ("brings", "technical_skills"), ("leads", "technical_skills")],
            now=clock.now(),
        )
        now = clock.now()
        session.add(
            Ticket(
                handle="C-AGREED",
                category="resources",
                about="partnership",
                urgency="normal",
                text="Not shown on a briefing",
                status="agreed",
                created_at=now,
                updated_at=now,
            )
        )
        await add_commitment(
            session,
            spec=CommitmentSpec("somewhere", "Clean the canal", date(2026, 3, 1), "Ward 4"),
            owner_member_id=None,
            created_by=None,
            now=now,
        )
        await session.commit()
    await period(app, clock, partners, small, marginalised=2)

    amina = partners[0]
    await amina.send("/brief")
    brief = await amina.wait_for("Briefing for your organisation")
    assert brief.kind == "photo" and brief.file_bytes is not None
    page = Image.open(io.BytesIO(brief.file_bytes))
    assert (page.format, page.size) == ("PNG", (827, 1169))  # A4 portrait, one page
    caption = brief.plain_text
    assert (
        "Private company: Backing 4.0 · Approvals pending 0 % · Resources in place 4.0 · "
        "Marginalised 2.0" in caption
    )
    assert (
        "Civil-society organisation: Backing – · Approvals pending – · Resources in place – · "
        "Marginalised –" in caption
    )
    said = page.info["Description"]
    assert "Somewhere · Private company · 2026-01-12" in said
    assert "Resources (the partnership): Action agreed" in said
    assert "Leads: Technical skills" in said and "Brings: Funding or resources" in said
    assert "Committed to: Clean the canal, for Ward 4, by 2026-03-01" in said
    assert "Not shown on a briefing" not in said
    # The lone civil-society answers (backing 1, approvals pending) are nowhere on the page.
    assert "1.0" not in said and "100 %" not in said

    await resident.send("/brief")
    refusal = await resident.wait_for("The briefing pack is for partners' representatives")
    assert refusal.kind == "text"


async def test_the_command_line_keeps_the_parent_check_to_partners(
    app: BotApp, cli_env: Settings, db: Database
) -> None:
    add = ["schedules", "add", "--kind", "parent_check", "--monthly", "first:tue"]
    assert await asyncio.to_thread(main, [*add, "--group", "community"]) == 1
    assert await asyncio.to_thread(main, [*add, "--group", "community", "--group", "other"]) == 0
    assert await asyncio.to_thread(main, add) == 0
    assert app.session_factory is not None
    async with app.session_factory() as session:
        found = (
            await session.exec(
                select(Schedule)
                .where(col(Schedule.kind) == "parent_check")
                .order_by(col(Schedule.id))
            )
        ).all()
    assert [s.audience["groups"] for s in found] == [
        ["other"],
        ["municipality", "private_sector", "civil_society", "other"],
    ]
    assert {s.flow_id for s in found} == {"parent_check"}
