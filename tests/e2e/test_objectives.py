"""Measuring success, per partner: a partner states an objective, every partner sees it
(/objectives), its group rates progress on it period by period, and coordinators get progress
towards targets with the trend and the Box 6.25 alignment matrix; small groups stay hidden."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from conftest import Phone, add_roles_run, onboard
from sqlmodel import select
from test_reports import assert_every_report_worded, assert_png, command_line_settings

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.objectives import objective_fields
from bot.sandbox.emulator import BotAPIEmulator
from bot.services.reports import Reports
from bot.storage import repo
from bot.storage.models import Member
from bot.storage.objective_models import Objective, ObjectiveRating
from bot.storage.objectives import add_objective

WATER = "Clean water for every household of Pikine"
ROADS = "Pave the market road"


async def state_objective(phone: Phone, *, kind: str, statement: str, needs: list[str]) -> None:
    """Through /objectives and its button, as a member would."""
    await phone.send("/objectives")
    await phone.press("State an objective")
    assert "Which kind of objective is it?" in phone.new_text()
    await phone.press(kind)
    for typed in (statement, "Households connected", "120 households", "400 households"):
        await phone.send(typed)
    for need in needs:
        await phone.press(need)
    await phone.press("Done")


async def test_a_partner_states_an_objective_and_another_partner_sees_it(
    emulator: BotAPIEmulator, app: BotApp
) -> None:
    amina = Phone(emulator, app, user_id=2001, first_name="Amina")
    await onboard(amina, "Private company")
    fatou = Phone(emulator, app, user_id=2002, first_name="Fatou")
    await onboard(fatou, "Municipality")

    await fatou.send("/objectives")
    empty = fatou.new()[-1]
    assert "No partner has stated an objective yet" in empty.plain_text
    assert [label for label, _ in empty.buttons] == ["State an objective"]

    await state_objective(amina, kind="Social", statement=WATER, needs=["Funding or resources"])
    assert "Your objective is recorded" in amina.new_text()

    await fatou.send("/objectives")
    shown = fatou.new()[-1]
    assert "The partners’ objectives" in shown.plain_text
    assert "Social" in shown.plain_text
    assert f"Somewhere (Private company): {WATER}" in shown.plain_text
    assert "Indicator: Households connected · baseline: 120 households" in shown.plain_text
    assert "target: 400 households" in shown.plain_text
    # Fatou's group did not state it: she may not rate it, even with the button's data.
    assert [label for label, _ in shown.buttons] == ["State an objective"]
    await amina.send("/objectives")
    offer = amina.new()[-1]
    rate = next(data for label, data in offer.buttons if label.startswith("Rate: Clean water"))
    assert rate is not None
    update_id = emulator.press_button(fatou.user_id, shown.message_id, rate)  # forged
    await app.tracker.wait_handled(update_id)
    assert fatou.toast() == "You can rate only your own group’s objectives."
    assert fatou.new() == []

    assert app.session_factory is not None
    async with app.session_factory() as session:
        (row,) = (await session.exec(select(Objective))).all()
    assert (row.category, row.organisation, row.stakeholder_group) == (
        "social",
        "Somewhere",
        "private_sector",
    )
    assert (row.indicator, row.baseline, row.target, row.needs) == (
        "Households connected",
        "120 households",
        "400 households",
        ["funding"],
    )


async def seed_members(app: BotApp, group: str, count: int, *, first_id: int) -> list[Member]:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        members = []
        for index in range(count):
            member = await repo.create_member(
                session,
                telegram_user_id=first_id + index,
                chat_id=first_id + index,
                display_name=f"{group} {index}",
                language="en",
                now=app.clock.now(),
            )
            member.stakeholder_group = group
            members.append(member)
        await session.commit()
        return members


async def seed_objective(
    app: BotApp, member: Member, *, category: str, statement: str, needs: list[str]
) -> int:
    assert app.session_factory is not None and member.id is not None
    fields = objective_fields(
        {
            "category": category,
            "statement": statement,
            "indicator": "km",
            "baseline": "0",
            "target": "3",
            "needs": needs,
        }
    )
    assert fields is not None
    async with app.session_factory() as session:
        stated = await add_objective(
            session,
            member_id=member.id,
            organisation=member.organisation,
            group=member.stakeholder_group,
            fields=fields,
            now=app.clock.now(),
        )
        await session.commit()
        return stated.id


async def rate(phone: Phone, statement: str, value: int) -> None:
    """Rate an objective through /objectives, as its group's member would."""
    await phone.send("/objectives")
    await phone.press(f"Rate: {statement[:20]}")
    await phone.press(str(value))
    assert "Your rating is recorded" in phone.new_text()


async def test_progress_over_two_periods_gives_the_trend_and_small_groups_stay_hidden(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    officers = await seed_members(app, "municipality", 5, first_id=3100)
    residents = await seed_members(app, "community", 2, first_id=3200)
    await seed_objective(app, officers[0], category="physical", statement=ROADS, needs=[])
    await seed_objective(app, residents[0], category="social", statement=WATER, needs=[])
    phones = {
        m.telegram_user_id: Phone(emulator, app, user_id=m.telegram_user_id)
        for m in [*officers, *residents]
    }
    for member in officers:
        await rate(phones[member.telegram_user_id], ROADS, 2)  # a quarter of the way
    for member in residents:
        await rate(phones[member.telegram_user_id], WATER, 5)
    clock.advance(timedelta(days=7))
    for member in officers:
        await rate(phones[member.telegram_user_id], ROADS, 4)  # three quarters
    for member in residents:
        await rate(phones[member.telegram_user_id], WATER, 5)
    clock.advance(timedelta(days=7))  # both weeks are over: their figures may be published

    # Through the bot: the chart and its caption.
    await admin.send("/report progress")
    photo = await admin.wait_for("Progress towards each partner group")
    assert photo.kind == "photo"
    assert_png(photo.file_bytes)
    caption = photo.plain_text
    assert "Municipality: 25% → 75% of the way (+50 points since the period before)." in caption
    assert "All partners: 25% → 75% of the way (+50 points" in caption
    assert "Community member" not in caption  # two raters only
    assert "Figures over fewer than 5 people are hidden" in caption
    assert "100" not in caption  # the residents' fives appear nowhere

    # The figures behind it.
    reports = app.dispatcher["reports"] if app.dispatcher else None
    assert isinstance(reports, Reports) and app.read_sessions and app.catalogs
    (part,) = await reports.build(
        app.read_sessions, kinds=("progress",), since=None, words=app.catalogs.translator("en")
    )
    series = {s.label: s.values for s in part.chart.series}
    assert series["Municipality"] == (25.0, 75.0)
    assert series["Community member"] == (None, None)
    assert series["All partners"] == (25.0, 75.0)
    header, *rows = part.lines[1:]
    assert header.split()[-1] == "trend"
    community = next(line for line in rows if line.startswith("Community member"))
    assert "–" in community and "100%" not in community
    municipality = next(line for line in rows if line.startswith("Municipality"))
    assert municipality.split()[1:] == ["25%", "75%", "+50"]


async def seed_partnership(app: BotApp, clock: ManualClock) -> None:
    """Five municipal officers bring funding and decisions, five companies technical skills,
    two civil-society members local knowledge (too few: left out). Objectives: a financial one
    calling for funding, rated 4 by five officers; a physical one calling for technical skills
    and local knowledge, not rated; nothing economic."""
    officers = await seed_members(app, "municipality", 5, first_id=4100)
    companies = await seed_members(app, "private_sector", 5, first_id=4200)
    civil = await seed_members(app, "civil_society", 2, first_id=4300)
    assert app.session_factory is not None
    now = clock.now()
    async with app.session_factory() as session:
        claims = {
            "municipality": [("brings", "funding"), ("brings", "decisions"), ("leads", "funding")],
            "private_sector": [("brings", "technical_skills")],
            "civil_society": [("brings", "local_knowledge")],
        }
        for member in [*officers, *companies, *civil]:
            assert member.stakeholder_group is not None
            await add_roles_run(session, member, claims[member.stakeholder_group], now=now)
        await session.commit()
    budget = await seed_objective(
        app, officers[0], category="financial", statement="Recover costs", needs=["funding"]
    )
    await seed_objective(
        app,
        companies[0],
        category="physical",
        statement="Pave the market road",
        needs=["technical_skills", "local_knowledge"],
    )
    async with app.session_factory() as session:
        session.add_all(
            ObjectiveRating(
                objective_id=budget,
                member_id=member.id,
                stakeholder_group="municipality",
                rating=4.0,
                created_at=now,
            )
            for member in officers
        )
        await session.commit()
    clock.advance(timedelta(days=7))


@pytest.mark.parametrize("locale", ["en", "fr"])
async def test_the_alignment_matrix_fills_box_6_25_and_no_report_shows_a_key(
    app: BotApp,
    clock: ManualClock,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    locale: str,
) -> None:
    await seed_partnership(app, clock)
    command_line_settings(monkeypatch, settings)
    monkeypatch.setenv("DEFAULT_LOCALE", locale)
    assert await asyncio.to_thread(main, ["report"]) == 0
    printed = capsys.readouterr().out
    assert_every_report_worded(printed, locale)
    if locale == "fr":
        assert "Encadré 6.25" in printed
        assert "Financier – les objectifs demandent : Financement ou ressources" in printed
        return
    matrix = printed.split("Box 6.25: what each sector brings to each kind of objective")[1]
    lines = [line.rstrip() for line in matrix.splitlines()]
    at = lines.index("Financial – the objectives call for: Funding or resources")
    assert lines[at + 1] == "  Municipality: Funding or resources ✓"
    at = lines.index(
        "Physical / environmental – the objectives call for: Local knowledge, Technical skills"
    )
    assert lines[at + 1] == "  Private company: Technical skills"  # not used: no progress
    assert not lines[at + 2].startswith("  Civil")  # two people: left out
    assert "Economic – no objective calls for a competency yet" in lines
    assert "Civil-society organisation" not in matrix.split("Figures over")[0]


async def test_a_facilitator_cannot_state_or_rate_objectives_for_someone_else(
    admin: Phone, app: BotApp
) -> None:
    """An objective is its partner's statement and a rating its member's: a proxy run would
    record them under the facilitator's organisation and group."""
    await admin.send("/proxy")
    offered = [label for label, _ in admin.last.buttons]
    assert "Roles and responsibilities" in offered
    assert "Our objectives" not in offered and "Progress on our objectives" not in offered
    await admin.send("/proxy objectives_progress municipality")
    assert "Usage: /proxy" in admin.new_text()
