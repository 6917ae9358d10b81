"""Digests fired by the scheduler: the real bot polls the emulator, a ManualClock tells the time.

The app starts at 09:00 UTC on Monday 5 January 2026 (the trust pulse goes out at 10:00).
Committees and tickets belong to other features: rows are written directly here. Every digest
is checked on what the emulator carried: no name, no raiser, no words but quoted ones.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from conftest import Phone, onboard, release_ballots
from sqlmodel import col, select

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.schedules import Recurrence, ScheduleSpec
from bot.i18n import Catalogs
from bot.sandbox.emulator import BotAPIEmulator, SentMessage
from bot.services.digest_wording import digest_labels
from bot.storage import migrate, outbox, repo
from bot.storage.db import create_engine, create_session_factory
from bot.storage.models import (
    Answer,
    Committee,
    CommitteeMember,
    Member,
    Schedule,
    ScheduleKind,
    ScheduleStatus,
    Ticket,
    TicketEvent,
)

ROOT = Path(__file__).resolve().parents[2]
PULSE = "Weekly trust pulse"
VOICE = "Voice digest for Steering group"
YSWD = "You said, we did"
REVIEW = 2
NAMES = ("Amina", "Kenji", "Maria", "Ode", "Lena", "Tomas")
TICKET_TEXT = "Amina here: the market road lights are broken near my house"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No background sweep: each test ticks when it means to."""
    return settings.model_copy(update={"checkin_sweep_s": 3600.0})


async def tick(app: BotApp) -> None:
    assert app.scheduler is not None
    await app.scheduler.tick()


async def setup(app: BotApp) -> None:
    """Only the trust pulse runs besides the digests."""
    assert app.session_factory is not None and app.checkins is not None
    async with app.session_factory() as session:
        await app.checkins.set_status(
            session, schedule_id=REVIEW, status=ScheduleStatus.PAUSED, now=app.clock.now()
        )
        await session.commit()


async def member_of(app: BotApp, phone: Phone) -> Member:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        member = await repo.get_member_by_telegram_id(session, telegram_user_id=phone.user_id)
    assert member is not None
    return member


async def committee(app: BotApp, name: str, *seated: Phone) -> Committee:
    assert app.session_factory is not None
    now = app.clock.now()
    members = [await member_of(app, phone) for phone in seated]
    async with app.session_factory() as session:
        row = Committee(name=name, created_at=now)
        session.add(row)
        await session.flush()
        for member in members:
            assert row.id is not None and member.id is not None
            session.add(CommitteeMember(committee_id=row.id, member_id=member.id, added_at=now))
        await session.commit()
        await session.refresh(row)
    return row


async def ticket(
    app: BotApp,
    raiser: Member,
    *,
    category: str,
    status: str = "received",
    about: str = "municipality",
    reason: str | None = None,
    summary: str | None = None,
) -> int:
    assert app.session_factory is not None
    now = app.clock.now()
    async with app.session_factory() as session:
        row = Ticket(
            handle=f"H{datetime.now(UTC).timestamp():.6f}"[-12:],
            category=category,
            about=about,
            urgency="medium",
            text=TICKET_TEXT,
            member_id=raiser.id,
            status=status,
            status_reason=reason,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        await session.flush()
        assert row.id is not None
        if status != "received":
            session.add(
                TicketEvent(
                    ticket_id=row.id,
                    kind="status",
                    status=status,
                    text=summary,
                    actor_member_id=raiser.id,
                    created_at=now,
                )
            )
        await session.commit()
        return row.id


async def digest_schedule(
    app: BotApp, kind: ScheduleKind, day: int, at: time, committee_name: str | None = None
) -> Schedule:
    assert app.session_factory is not None and app.digests is not None
    spec = ScheduleSpec(
        flow_id="", recurrence=Recurrence(kind="weekly", at=at, days=(day,)), basis="partnership"
    )
    async with app.session_factory() as session:
        schedule = await app.digests.create(
            session,
            ScheduleSpec(
                flow_id=spec.flow_id,
                recurrence=spec.recurrence,
                basis="partnership",
                window=timedelta(hours=24),
                reminders=(),
            ),
            kind=kind,
            committee=committee_name,
            now=app.clock.now(),
        )
        await session.commit()
    return schedule


async def answer_pulse(phone: Phone, *, score: str, comment: str | None, quote: str = "No") -> None:
    await phone.wait_for(PULSE)
    for _ in range(6):
        await phone.send(score)
    if comment is None:
        await phone.press("Skip")
    else:
        await phone.send(comment)
        await phone.wait_for("May we quote this comment")
        await phone.press(quote)
    await phone.wait_for("See you next week")


def sent(message: SentMessage) -> str:
    """What the bot put on the wire for a message: its text as sent and its buttons."""
    return f"{message.text}\n{message.reply_markup}"


def named(text: str) -> list[str]:
    return [name for name in NAMES if name in text]


async def queued(app: BotApp, phone: Phone, fragment: str) -> int:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        rows = await outbox.list_messages(session, chat_id=phone.user_id)
    return sum(fragment in row.text for row in rows)


async def test_the_committee_hears_what_members_said_without_who_said_it(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    phones = [Phone(emulator, app, user_id=1001 + n, first_name=n_) for n, n_ in enumerate(NAMES)]
    *community, officer = phones
    for phone in community:
        await onboard(phone)
    await onboard(officer, "Municipality")
    await setup(app)
    amina, kenji, maria = community[:3]
    await committee(app, "Steering group", amina, officer)
    raiser = await member_of(app, maria)
    for category, n in (("roles", 6), ("trust", 7), ("resources", 2)):
        for _ in range(n):
            await ticket(app, raiser, category=category)
    schedule = await digest_schedule(
        app, ScheduleKind.VOICE_DIGEST, 1, time(9, 0), "steering GROUP"
    )
    assert schedule.flow_id == "trust_pulse"

    clock.advance(timedelta(hours=1))  # Monday 10:00: the pulse
    await tick(app)
    await answer_pulse(amina, score="4", comment="Please publish the minutes", quote="Yes")
    await answer_pulse(kenji, score="3", comment="Kenji thinks the mayor is lying", quote="No")
    for phone in community[2:]:
        await answer_pulse(phone, score="5", comment=None)
    await answer_pulse(officer, score="2", comment=None)
    # The pulse is still open: its answers are released early, as if it had closed.
    await release_ballots(app, at_least=5)

    clock.advance(timedelta(hours=23))  # Tuesday 09:00: the steering group meets later today
    await tick(app)
    digest = await amina.wait_for(VOICE)
    await officer.wait_for(VOICE)
    text = digest.plain_text
    # The pulse round is still open: nothing of it is published before it closed.
    assert "Conversations finished: none." in text
    assert "Feeling heard" not in text
    # Two resources concerns are hidden, and the next smallest figure with them.
    assert "Open concerns: 15 (roles – · resources – · trust 7)" in text
    # Two comments only: none is quoted before ten people have commented.
    assert "Please publish the minutes" not in text
    assert "mayor" not in text and TICKET_TEXT not in text
    assert named(sent(digest)) == []
    assert "A dash (–) hides a figure from fewer than 5 people" in text
    for phone in (kenji, maria):
        assert await queued(app, phone, VOICE) == 0

    # The next meeting's digest covers whole weeks from the one of the last digest.
    await tick(app)
    clock.advance(timedelta(days=7))
    await tick(app)
    assert await queued(app, amina, VOICE) == 2
    latest = await amina.wait_for(f"{VOICE}: what members said since 2026-01-05")
    # The lone municipal conversation is withheld: in no figure, not even the total.
    assert "Conversations finished: 5 (Community member 5)" in latest.plain_text
    # A lone municipal answer is withheld: hidden, and in no figure that would give it away.
    assert "Feeling heard: 4.4 overall · Municipality – · Community member 4.4" in latest.plain_text
    assert "Please publish the minutes" not in latest.plain_text
    assert app.session_factory is not None
    async with app.session_factory() as session:
        row = (await session.exec(select(Committee))).one()
    assert row.last_digest_at == clock.now()


async def test_everyone_hears_what_became_of_the_concerns_once(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    amina = Phone(emulator, app, user_id=1001, first_name="Amina")
    kenji = Phone(emulator, app, user_id=1002, first_name="Kenji")
    for phone in (amina, kenji):
        await onboard(phone)
    await setup(app)
    raiser = await member_of(app, amina)
    await ticket(app, raiser, category="service_delivery", status="done", summary="Lights fixed")
    await ticket(app, raiser, category="resources", status="declined", reason="Outside our budget")
    agreed = await ticket(app, raiser, category="roles", status="agreed", about="partnership")
    await ticket(app, raiser, category="trust")  # still open: not news yet
    await digest_schedule(app, ScheduleKind.YOU_SAID_WE_DID, 0, time(12, 0))

    clock.advance(timedelta(hours=3))  # Monday 12:00
    await tick(app)
    message = await kenji.wait_for(YSWD)
    text = message.plain_text
    assert "Done: a concern about services (the municipality)\nLights fixed" in text
    assert "Action agreed: a concern about roles (the partnership)" in text
    assert "Declined: a concern about resources (the municipality)\nWhy: Outside our budget" in text
    assert "trust" not in text
    assert named(sent(message)) == [] and TICKET_TEXT not in sent(message)
    await amina.wait_for(YSWD)
    await tick(app)

    # The agreed action is carried out the next day: next week's digest tells that one only.
    clock.advance(timedelta(days=1))
    assert app.session_factory is not None
    async with app.session_factory() as session:
        row = await session.get(Ticket, agreed)
        assert row is not None and row.reported_at is not None
        row.status, row.closed_at, row.updated_at = "done", clock.now(), clock.now()
        session.add(row)
        session.add(
            TicketEvent(
                ticket_id=agreed,
                kind="status",
                status="done",
                text="Roles agreed",
                created_at=clock.now(),
            )
        )
        await session.commit()
    clock.advance(timedelta(days=6))
    await tick(app)
    assert await queued(app, kenji, YSWD) == 2
    async with app.session_factory() as session:
        rows = await outbox.list_messages(session, chat_id=kenji.user_id)
    latest = [r.text for r in rows if YSWD in r.text][-1]
    assert "Roles agreed" in latest and "Lights fixed" not in latest


async def test_digests_wait_for_the_end_of_quiet_hours(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock
) -> None:
    amina = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(amina)
    await setup(app)
    member = await member_of(app, amina)
    assert app.session_factory is not None
    async with app.session_factory() as session:
        row = await repo.get_member(session, member_id=member.id or 0)
        assert row is not None
        await repo.update_member(
            session, member=row, changes={"time_zone": "Asia/Tokyo"}, now=clock.now()
        )
        await session.commit()
    await ticket(app, member, category="trust", status="done")
    await digest_schedule(app, ScheduleKind.YOU_SAID_WE_DID, 0, time(13, 0))
    clock.advance(timedelta(hours=4))  # 13:00 UTC is 22:00 in Tokyo
    await tick(app)
    async with app.session_factory() as session:
        [row_] = [r for r in await outbox.list_messages(session, chat_id=1001) if YSWD in r.text]
    assert row_.next_attempt_at == datetime(2026, 1, 5, 23, 0, tzinfo=UTC)  # 08:00 in Tokyo


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, database_schema: str | None
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    if database_schema:
        monkeypatch.setenv("DATABASE_SCHEMA", database_schema)
    monkeypatch.setenv("FLOWS_DIR", str(ROOT / "flows"))
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))
    monkeypatch.setenv("PARTNERSHIP_TIMEZONE", "UTC")


async def _committee_and_schedules(
    database_url: str, database_schema: str | None, *, create: bool
) -> list[Schedule]:
    engine = create_engine(database_url, schema=database_schema)
    try:
        await migrate.upgrade(engine)
        async with create_session_factory(engine)() as session:
            if create:
                session.add(Committee(name="Steering group", created_at=datetime.now(UTC)))
                await session.commit()
            return list(
                (await session.exec(select(Schedule).where(col(Schedule.kind) != "checkin"))).all()
            )
    finally:
        await engine.dispose()


def test_coordinators_add_digests_from_the_shell(
    capsys: pytest.CaptureFixture[str],
    environment: None,
    database_url: str,
    database_schema: str | None,
) -> None:
    asyncio.run(_committee_and_schedules(database_url, database_schema, create=True))
    args = ["schedules", "add", "--kind", "voice_digest", "--weekly", "tue", "--at", "09:00"]
    assert main(args) == 1
    assert "A voice digest needs its committee" in capsys.readouterr().err
    assert main([*args, "--committee", "Nowhere"]) == 1
    assert "No committee is called “Nowhere”." in capsys.readouterr().err
    assert main([*args, "--committee", "Steering group"]) == 0
    out = capsys.readouterr().out
    assert "Voice digest for Steering group" in out and "the committee's members" in out
    yswd = ["schedules", "add", "--kind", "you_said_we_did", "--monthly", "last:fri"]
    assert main(yswd) == 0
    assert "You said, we did" in capsys.readouterr().out
    assert main([*yswd[:-2], "--after-joining", "3"]) == 1
    assert "not after a member's own date" in capsys.readouterr().err
    digests = asyncio.run(_committee_and_schedules(database_url, database_schema, create=False))
    assert [(s.kind, s.flow_id, s.committee_id is not None) for s in digests] == [
        ("voice_digest", "trust_pulse", True),
        ("you_said_we_did", "you_said_we_did", False),
    ]
    assert all(s.reminder_minutes == [] and s.basis == "partnership" for s in digests)


def test_every_digest_key_has_wording_in_every_locale() -> None:
    catalogs = Catalogs.load(ROOT / "locales", default="en")
    source = "".join(
        (ROOT / "bot" / "services" / name).read_text(encoding="utf-8")
        for name in ("digests.py", "digest_wording.py")
    )
    keys = set(re.findall(r"\"((?:digest|results)\.[a-z_.]+[a-z_])\"", source))
    keys -= set(digest_labels())  # prefixes of keys built from parts
    keys |= {f"{prefix}.{part}" for prefix, parts in digest_labels().items() for part in parts}
    keys |= {f"results.trust_pulse.{key}" for key in ("heard", "commitment", "community")}
    assert len(keys) > 30
    for locale, known in catalogs.keys().items():
        assert sorted(keys - known) == [], locale


async def quotes_after(
    app: BotApp, comments: int, *, day: datetime, since: datetime, until: datetime
) -> tuple[str, ...]:
    """What a voice digest over [since, until) quotes once `comments` more quotable comments
    are stored, stamped with `day` as anonymous answers are."""
    assert app.session_factory is not None and app.digests is not None
    async with app.session_factory() as session:
        for index in range(comments):
            session.add(
                Answer(
                    flow_id="trust_pulse",
                    question_key="comment",
                    kind="text",
                    value_text=f"Comment number {index} of {day.date()}",
                    anonymous=True,
                    quotable=True,
                    stakeholder_group="community",
                    created_at=day,
                )
            )
        await session.commit()
        digest = await app.digests.build_voice_digest(
            session, pulse_flow="trust_pulse", since=since, until=until
        )
    return digest.quotes


async def test_comments_are_quoted_only_among_ten_commenters(
    app: BotApp, clock: ManualClock
) -> None:
    today = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    over = today + timedelta(days=7)  # the week is over: its comments may be counted
    assert await quotes_after(app, 9, day=today, since=today, until=over) == ()  # nine: none
    assert len(await quotes_after(app, 1, day=today, since=today, until=over)) == 3  # the tenth


async def test_comments_of_the_open_week_do_not_count_towards_ten(
    app: BotApp, clock: ManualClock
) -> None:
    """Nine comments last week and one this week: a digest on Wednesday used to count ten and
    quote, though only closed periods are published (and the tenth commenter's week is not)."""
    monday = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    clock.advance(timedelta(days=9))  # Wednesday of the next week
    await quotes_after(app, 9, day=monday, since=monday, until=clock.now())
    this_week = monday + timedelta(days=7)
    assert await quotes_after(app, 1, day=this_week, since=monday, until=clock.now()) == ()


async def test_a_comment_of_the_open_week_is_never_quoted(app: BotApp, clock: ManualClock) -> None:
    """Ten comments last week may be quoted; one written this week may not, though it is the
    newest: its week is not published yet (a later digest would otherwise tie it to a week)."""
    monday = clock.now().replace(hour=0, minute=0, second=0, microsecond=0)
    clock.advance(timedelta(days=9))  # Wednesday of the next week
    await quotes_after(app, 10, day=monday, since=monday, until=clock.now())
    this_week = monday + timedelta(days=7)
    quoted = await quotes_after(app, 1, day=this_week, since=monday, until=clock.now())
    assert quoted and all(str(monday.date()) in quote for quote in quoted), quoted
