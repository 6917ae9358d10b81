"""k-anonymity across releases: two published figures, subtracted, give nobody's answer away.

Each test plays a curious coordinator: it takes two releases that the bot or the command line
publishes and tries to work one person's rating out of them (n·mean − m·mean').
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from conftest import ROOT, add_roles_run
from sqlmodel import col, select

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.storage import repo
from bot.storage import schedules as store
from bot.storage.models import Answer, OccurrenceStatus, Schedule

RATED = "municipality"  # every rating below is of the municipality, by community members
LONE_RATING = 1.0
OTHERS_RATING = 4.0


def day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def rating(day: datetime, value: float, *, proxy: bool = False) -> Answer:
    """One anonymous trust-pulse rating, stamped with its day like every anonymous answer."""
    return Answer(
        flow_id="trust_pulse",
        question_key=RATED,
        kind="scale",
        value_number=value,
        anonymous=True,
        proxy=proxy,
        stakeholder_group="community",
        created_at=day_start(day),
    )


async def store_answers(app: BotApp, answers: list[Answer]) -> None:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        session.add_all(answers)
        await session.commit()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if settings.database_schema:
        monkeypatch.setenv("DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("FLOWS_DIR", str(ROOT / "flows"))
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))


async def matrix_cell(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`partnerbot report` as a coordinator runs it: the community's rating of the municipality
    in the matrix, as printed ('–' when hidden)."""
    assert await asyncio.to_thread(main, ["report", *args]) == 0
    printed = capsys.readouterr().out
    matrix = printed.split("How each group (rows) trusts each group (columns), 1–5")[1]
    header, *lines = matrix.strip("\n").splitlines()
    community = next(line for line in lines if line.startswith("Community member"))
    column = header.index("Municipality")
    return community[column : column + 4].strip() or "–"


def monday_of(clock: ManualClock) -> datetime:
    now = day_start(clock.now())
    return now - timedelta(days=now.weekday())


@pytest.mark.usefixtures("cli_env")
async def test_the_since_attack_recovers_nothing(
    app: BotApp, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Six ratings over a week, then the same report from the next day (five ratings): the
    difference used to be the first day's lone rating."""
    monday = monday_of(clock)
    await store_answers(
        app,
        [rating(monday, LONE_RATING)]
        + [rating(monday + timedelta(days=1), OTHERS_RATING) for _ in range(5)],
    )
    week = await matrix_cell(capsys, "--since", monday.date().isoformat())
    next_day = await matrix_cell(capsys, "--since", (monday + timedelta(days=1)).date().isoformat())
    assert week == next_day  # the same whole week, so the same figure
    if week != "–":
        lone = 6 * float(week) - 5 * float(next_day)
        assert lone != LONE_RATING


@pytest.mark.usefixtures("cli_env")
async def test_pulse_results_and_the_report_give_no_one_away(
    app: BotApp, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """Five ratings in a pulse occurrence (its results are sent) and one more the same week
    outside it: the week's report minus the results used to be that one rating."""
    assert app.session_factory is not None and app.digests is not None
    monday = monday_of(clock)
    opens, closes = monday + timedelta(days=1), monday + timedelta(days=3)
    async with app.session_factory() as session:
        schedule = (
            await session.exec(select(Schedule).where(col(Schedule.flow_id) == "trust_pulse"))
        ).first()
        assert schedule is not None and schedule.id is not None
        await store.add_occurrence(
            session,
            schedule_id=schedule.id,
            occurrence=opens.date().isoformat(),
            status=OccurrenceStatus.CLOSED,
            first_send_at=opens,
            last_close_at=closes,
            now=opens,
        )
        await session.commit()
    await store_answers(
        app,
        [rating(opens, OTHERS_RATING) for _ in range(5)]
        + [rating(monday + timedelta(days=5), LONE_RATING)],
    )
    async with app.session_factory() as session:
        results = await app.digests.pulse(
            session, "trust_pulse", since=day_start(opens), until=closes
        )
    figure = next(f for f in results.figures if f.question_key == RATED)
    assert figure.by_group["community"] == OTHERS_RATING
    week = await matrix_cell(capsys, "--since", monday.date().isoformat())
    assert week != "–"
    # six ratings in the week against five in the occurrence: what remains is withheld
    assert float(week) == OTHERS_RATING
    assert 6 * float(week) - 5 * OTHERS_RATING != LONE_RATING


@pytest.mark.usefixtures("cli_env")
async def test_proxy_answers_do_not_make_a_lone_rating_visible(
    app: BotApp, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """One real rating and four a facilitator typed: the cell stays hidden, and the proxies are
    counted apart."""
    monday = monday_of(clock)
    await store_answers(
        app,
        [rating(monday, LONE_RATING)]
        + [rating(monday, OTHERS_RATING, proxy=True) for _ in range(4)],
    )
    assert await asyncio.to_thread(main, ["report"]) == 0
    printed = capsys.readouterr().out
    assert "Fewer than 5 responses were recorded by a facilitator" in printed
    assert await matrix_cell(capsys) == "–"


async def test_proxy_answers_do_not_make_pulse_results_visible(
    app: BotApp, clock: ManualClock
) -> None:
    """The same padding against the results sent when a pulse closes."""
    assert app.session_factory is not None and app.digests is not None
    monday = monday_of(clock)
    await store_answers(
        app,
        [rating(monday, LONE_RATING)]
        + [rating(monday, OTHERS_RATING, proxy=True) for _ in range(4)],
    )
    async with app.session_factory() as session:
        results = await app.digests.pulse(
            session, "trust_pulse", since=monday, until=monday + timedelta(days=7)
        )
    assert results.empty
    assert all(f.overall is None for f in results.figures)


async def seed_roles(app: BotApp, clock: ManualClock, group: str, people: int, area: str) -> None:
    """`people` members of a group, each claiming through a finished roles run to lead `area`,
    and answering the trust pulse (anonymously)."""
    assert app.session_factory is not None
    now = clock.now()
    async with app.session_factory() as session:
        for index in range(people):
            user = 600_000 + 1000 * len(group) + index
            member = await repo.create_member(
                session,
                telegram_user_id=user,
                chat_id=user,
                display_name=f"{group} {index}",
                language="en",
                now=now,
            )
            member.stakeholder_group = group
            await session.flush()
            await add_roles_run(session, member, [("brings", area), ("leads", area)], now=now)
            answer = rating(now, OTHERS_RATING)
            answer.stakeholder_group = group
            session.add(answer)
        await session.commit()


def section(printed: str, title: str) -> str:
    return printed.split(title)[1].split("\n\n")[0]


@pytest.mark.usefixtures("cli_env")
async def test_a_one_member_group_is_not_revealed_by_response_rates_or_the_role_map(
    app: BotApp, clock: ManualClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """The report reads the same whether or not the one member of a group answered."""
    await seed_roles(app, clock, "municipality", 6, "decisions")
    await seed_roles(app, clock, "community", 6, "community_links")
    async with app.session_factory() as session:  # type: ignore[misc]
        lone = await repo.create_member(
            session,
            telegram_user_id=7_700_001,
            chat_id=7_700_001,
            display_name="Lone",
            language="en",
            now=clock.now(),
        )
        lone.stakeholder_group = "private_sector"
        await session.commit()
    outputs = []
    for answered in (False, True):
        if answered:  # the lone private company claims to lead funding, and rates
            async with app.session_factory() as session:  # type: ignore[misc]
                await session.delete(
                    await repo.get_member_by_telegram_id(session, telegram_user_id=7_700_001)
                )
                await session.commit()
            await seed_roles(app, clock, "private_sector", 1, "funding")
        assert await asyncio.to_thread(main, ["report"]) == 0
        printed = capsys.readouterr().out
        outputs.append(
            (
                section(printed, "Role map: who says they lead or support what"),
                section(printed, "Responses per group against members per group"),
            )
        )
    assert outputs[0] == outputs[1]
    assert "Private company" not in outputs[1][0]
