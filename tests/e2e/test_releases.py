"""k-anonymity across releases: two published figures, subtracted, give nobody's answer away.

Each test plays a curious coordinator: it takes two releases that the bot or the command line
publishes and tries to work one person's rating out of them (n·mean − m·mean').
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from conftest import ROOT, Database, Phone, add_roles_run, begin_flow, onboard
from sqlmodel import col, select

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator, SentMessage
from bot.storage import repo
from bot.storage import schedules as store
from bot.storage.models import Answer, OccurrenceStatus, Schedule, ScheduleStatus

RATED = "municipality"  # every rating below is of the municipality, by community members
LONE_RATING = 1.0
OTHERS_RATING = 4.0


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No background sweep: the tests tick when they mean to."""
    return settings.model_copy(update={"checkin_sweep_s": 3600.0})


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
    async with app.session_factory() as session:
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
            async with app.session_factory() as session:
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


# -- releases over time: the open week, and latest answers ------------------------------------

PROGRESS_REPORT = "Progress towards each partner group"
OBJECTIVE = "Water points repaired"
RESPONSE_REPORT = "Responses per group against members per group"
ROLE_REPORT = "Role map: who says they lead or support what"


async def members_of(
    emulator: BotAPIEmulator, app: BotApp, count: int, *, first: int = 7_300_000
) -> list[Phone]:
    phones = [
        Phone(emulator, app, user_id=first + n, first_name=f"Member{n}") for n in range(count)
    ]
    for phone in phones:
        await onboard(phone, "Community member")
    return phones


async def pause_defaults(app: BotApp) -> None:
    """The default pulse and review stay quiet: the test's own schedule is all that goes out."""
    assert app.session_factory is not None and app.checkins is not None
    async with app.session_factory() as session:
        for schedule_id in (1, 2):
            await app.checkins.set_status(
                session, schedule_id=schedule_id, status=ScheduleStatus.PAUSED, now=app.clock.now()
            )
        await session.commit()


async def tick(app: BotApp) -> None:
    assert app.scheduler is not None
    await app.scheduler.tick()


async def answer_progress(phone: Phone, rating: int) -> None:
    """A rating of the group's objective, from /objectives."""
    await phone.send("/objectives")
    await phone.press(f"Rate: {OBJECTIVE}")
    await phone.press(str(rating))
    await phone.wait_for("Your rating is recorded")


async def next_with(phone: Phone, fragment: str) -> SentMessage:
    """The first message holding `fragment` among those `phone` has not seen yet."""
    events = phone.emulator.subscribe()
    try:
        async with asyncio.timeout(15):
            while True:
                for message in phone.messages[phone.seen :]:
                    if fragment in message.plain_text:
                        phone.new()
                        return message
                await events.get()
    finally:
        phone.emulator.unsubscribe(events)


async def published(admin: Phone, kind: str, title: str) -> tuple[str, bytes]:
    """What `/report <kind>` shows a coordinator: the caption and the chart's bytes."""
    admin.new()
    await admin.send(f"/report {kind}")
    photo = await next_with(admin, title)
    assert photo.file_bytes is not None
    return photo.plain_text, photo.file_bytes


async def test_reports_on_wednesday_and_friday_of_an_open_week_tell_nobody_apart(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, admin: Phone
) -> None:
    """Five partners rate their progress by Tuesday, a sixth on Thursday: the reports a
    coordinator takes on Wednesday and on Friday used to differ by the sixth's ratings (6·mean'
    − 5·mean) and by their response; the open week is published once it is over, whole."""
    assert app.session_factory is not None
    await pause_defaults(app)
    phones = await members_of(emulator, app, 6)
    await phones[0].send("/objectives")
    await phones[0].press("State an objective")
    await phones[0].press("Physical")
    for typed in (OBJECTIVE, "Points working", "3", "12"):
        await phones[0].send(typed)
    await phones[0].press("Skip")
    monday = monday_of(clock)
    clock.advance(monday + timedelta(hours=10) - clock.now())
    await tick(app)
    for phone in phones[:5]:
        clock.advance(timedelta(minutes=17))
        await answer_progress(phone, 4)
    clock.advance(monday + timedelta(days=2, hours=12) - clock.now())  # Wednesday
    wednesday = [
        await published(admin, "progress", PROGRESS_REPORT),
        await published(admin, "response", RESPONSE_REPORT),
    ]
    clock.advance(monday + timedelta(days=3, hours=9) - clock.now())  # Thursday
    await answer_progress(phones[5], 1)
    clock.advance(monday + timedelta(days=4, hours=12) - clock.now())  # Friday
    friday = [
        await published(admin, "progress", PROGRESS_REPORT),
        await published(admin, "response", RESPONSE_REPORT),
    ]
    assert friday == wednesday
    # Once the round is over (and its week), it is published whole, with the six together.
    clock.advance(monday + timedelta(days=8, hours=12) - clock.now())
    await tick(app)
    assert app.dispatcher is not None and app.read_sessions is not None
    assert app.catalogs is not None
    reports = app.dispatcher["reports"]
    (progress,) = await reports.build(
        app.read_sessions, kinds=("progress",), since=None, words=app.catalogs.translator("en")
    )
    means = {series.label: series.values for series in progress.chart.series}
    # Percent of the way from baseline (1) to target (5), drawn to the nearest whole point.
    assert means["Community member"] == (pytest.approx(100 * ((5 * 4 + 1) / 6 - 1) / 4, abs=0.5),)


async def answer_roles(phone: Phone, brings: str, leads: str) -> None:
    """/roles: what one brings and leads (option numbers), the rest skipped."""
    phone.new()
    await phone.send("/roles")
    await next_with(phone, "What do you (or your organisation) bring")
    await phone.send(brings)
    await phone.send(leads)
    for _ in range(4):
        await phone.press("Skip")
    await phone.send("4")
    await next_with(phone, "Your answers help the partnership agree on who does what")


def gaps(caption: str) -> str:
    return next((line for line in caption.splitlines() if line.startswith("Gaps")), "")


async def test_one_member_changing_their_roles_is_not_published_alone(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, admin: Phone
) -> None:
    """Six community members lead community links; a week later one of them says they lead
    funding instead: the role maps before and after used to differ by exactly that member. The
    map moves on only once at least k of the group changed their answer."""
    await pause_defaults(app)
    phones = await members_of(emulator, app, 6)
    for phone in phones:
        await answer_roles(phone, "3, 4", "4")  # brings funding and community links, leads links
    clock.advance(timedelta(days=7))
    before = await published(admin, "roles", ROLE_REPORT)
    assert "Funding or resources" in gaps(before[0])
    assert "Links with the community" not in gaps(before[0])
    await answer_roles(phones[0], "3, 4", "3")  # now leads funding
    clock.advance(timedelta(days=7))
    assert await published(admin, "roles", ROLE_REPORT) == before
    for phone in phones[1:5]:
        await answer_roles(phone, "3, 4", "3")
    clock.advance(timedelta(days=7))
    after = await published(admin, "roles", ROLE_REPORT)
    assert after != before
    assert "Funding or resources" not in gaps(after[0])


async def digest_and_export(
    app: BotApp, admin: Phone, *, since: datetime
) -> tuple[float | None, list[str]]:
    """The community's rating of the municipality in a voice digest from `since` until now,
    and the anonymous rows of a coordinator's `/export` of the trust pulse."""
    assert app.session_factory is not None and app.digests is not None
    async with app.session_factory() as session:
        digest = await app.digests.build_voice_digest(
            session, pulse_flow="trust_pulse", since=since, until=app.clock.now()
        )
    figure = next((f for f in digest.pulse.figures if f.question_key == RATED), None)
    admin.new()
    await admin.send("/export csv trust_pulse")
    document = await next_with(admin, "Keep this file safe")
    assert document.file_bytes is not None
    lines = document.file_bytes.decode("utf-8-sig").splitlines()
    shown = None if figure is None else figure.by_group.get("community")
    return shown, [line for line in lines if ",yes," in line]


async def test_digests_and_exports_on_wednesday_and_friday_tell_nobody_apart(
    app: BotApp, clock: ManualClock, admin: Phone
) -> None:
    """Five ratings on Monday, a sixth on Thursday, none in a pulse round: the voice digest and
    the export taken on Wednesday and on Friday used to differ by the sixth rating."""
    assert app.session_factory is not None and app.digests is not None
    await pause_defaults(app)
    clock.advance(timedelta(days=7))  # a week without a pulse round (the first opened at start)
    monday = monday_of(clock)
    await store_answers(app, [rating(monday, OTHERS_RATING) for _ in range(5)])
    clock.advance(monday + timedelta(days=2, hours=12) - clock.now())  # Wednesday
    wednesday = await digest_and_export(app, admin, since=monday)
    await store_answers(app, [rating(monday + timedelta(days=3), LONE_RATING)])
    clock.advance(monday + timedelta(days=4, hours=12) - clock.now())  # Friday
    assert await digest_and_export(app, admin, since=monday) == wednesday
    clock.advance(timedelta(days=3))  # the week is over: the six go together
    community, exported = await digest_and_export(app, admin, since=monday)
    assert community == pytest.approx((5 * OTHERS_RATING + LONE_RATING) / 6)
    assert len(exported) == 6


async def test_ballots_released_after_their_week_was_published_go_to_the_open_week(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, admin: Phone, db: Database
) -> None:
    """Five members answer the pulse late on a Sunday; the leader releases their ballots on
    Monday, once that week is over and published: they used to join it, so the digest and
    the export of a week already out changed by exactly their answers."""
    await pause_defaults(app)
    clock.advance(timedelta(days=7))  # a week without a pulse round (the first opened at start)
    monday = monday_of(clock)
    phones = await members_of(emulator, app, 5)
    clock.advance(monday + timedelta(days=6, hours=22) - clock.now())  # Sunday night
    for phone in phones:
        await begin_flow(app, phone, "trust_pulse")
        for _ in range(6):
            await phone.send("2")
        await phone.press("Skip")
        await phone.wait_for("See you next week")
    clock.advance(timedelta(hours=3))  # Monday 01:00: the week is over, its figures are out
    before = await digest_and_export(app, admin, since=monday)
    await tick(app)  # the leader releases the five ballots
    assert await digest_and_export(app, admin, since=monday) == before
    released = [a for a in await db.rows(Answer) if a.flow_id == "trust_pulse"]
    assert len([a for a in released if a.question_key == RATED]) == 5
    assert {a.created_at for a in released} == {monday + timedelta(days=7)}
