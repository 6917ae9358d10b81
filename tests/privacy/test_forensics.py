"""The forensic test: a partnership runs through the bot, then its database is read as someone
holding the files (or a dump) but not the anonymity key would read it.

Twelve members in three groups answer the trust pulse for three weeks, each at another time;
one cancels at the last question, one raises an anonymous concern a coordinator answers, and a
coordinator records a pulse for someone without a phone. Member ids are moved past 32 bits, like
Telegram ids, so that every identifier can be found in raw bytes as well as in decoded rows.
"""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, Phone, go_on_without_media, onboard
from forensics import (
    Person,
    Piece,
    beside_a_member,
    exposures,
    move_member_ids,
    sqlite_pieces,
    sqlite_transactions,
    transactions_pairing,
    wal_position,
)
from sqlalchemy import text
from sqlmodel import SQLModel

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import repo
from bot.storage.models import ScheduleStatus

NAMES = (
    "Oyelaran", "Vaszquell", "Thandiwe", "Quorrinne", "Zabulonia", "Ikechukwa",
    "Marisolde", "Brannoch", "Yevgenija", "Lusandro", "Wilhelmyn", "Phaedrana",
)  # fmt: skip
GROUPS = ("Municipality", "Community member", "Private company")
TELEGRAM_IDS = 7_100_000_000
MEMBER_IDS = 8_200_000_000
REVIEW = 2
WEEKS = 3
PULSE = "Weekly trust pulse"
MONDAY = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No background sweep: the test ticks when it means to."""
    return settings.model_copy(update={"checkin_sweep_s": 3600.0})


async def tick(app: BotApp) -> None:
    assert app.scheduler is not None
    await app.scheduler.tick()


async def answer_pulse(phone: Phone, remark: str, *, cancel: bool = False) -> None:
    """Six ratings and a remark; then keep it out of digests, or /cancel at that question."""
    # This week's pulse, not last week's: answers typed before it is shown are not taken.
    await phone.wait_for(PULSE, unseen=True)
    phone.new()
    for n in range(6):
        await phone.send(str(1 + (phone.user_id + n) % 5))
    await phone.send(remark)
    await phone.wait_for("May we quote this comment")
    if cancel:
        await phone.send("/cancel")
        return
    await phone.press("No")
    await phone.wait_for("See you next week")


async def raise_anonymous_concern(phone: Phone, remark: str, look: Any) -> str:
    """/concern up to its last question (where `look` reads the database), then anonymous."""
    await phone.send("/concern")
    for label in ("Trust", "The municipality", "Urgent"):
        await phone.press(f". {label}")
    await phone.send(remark)
    await look()
    phone.new()
    await phone.press("Stay anonymous")
    await go_on_without_media(phone)
    said = phone.new_text()
    return said.split("ticket ")[1].split(" ")[0].rstrip(";")


class Reader:
    """Reads the database as its files (SQLite) or a dump of every table (PostgreSQL) are."""

    def __init__(self, app: BotApp, database_url: str) -> None:
        assert app.session_factory is not None
        self.app = app
        self.sqlite = (
            Path(database_url.removeprefix("sqlite:///"))
            if database_url.startswith("sqlite")
            else None
        )
        self.found: list[str] = []

    async def pieces(self) -> list[Piece]:
        if self.sqlite is not None:
            return list(sqlite_pieces(self.sqlite))
        assert self.app.session_factory is not None
        found = []
        async with self.app.session_factory() as session:
            for table in SQLModel.metadata.sorted_tables:
                result = await session.exec(
                    text(f'SELECT xmin::text, ctid::text, t::text FROM "{table.name}" t')  # type: ignore[call-overload]
                )
                for xmin, ctid, row in result.all():
                    line = f"{xmin} {ctid} {row}"
                    found.append(
                        Piece(f"{table.name} {ctid}", line.encode(), texts=(line,), row=True)
                    )
        return found

    async def look(self, people: list[Person]) -> None:
        """Read everything now, and note whatever ties someone to their anonymous words."""
        self.found += exposures(iter(await self.pieces()), people)


async def ordered_remarks(app: BotApp, remarks: list[str]) -> dict[str, list[str]]:
    """The anonymous remarks in the order of each column a reader could sort them by."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        postgres = session.get_bind().dialect.name == "postgresql"
        system = (
            "xmin::text::bigint AS xmin, ctid::text AS ctid,"
            if postgres
            else "rowid AS row_number,"
        )
        result = await session.exec(
            text(  # type: ignore[call-overload]
                f"SELECT {system} id, created_at, stakeholder_group, value_text FROM answer"
                " WHERE question_key = 'comment' AND value_text IS NOT NULL"
            )
        )
        rows = [dict(r._mapping) for r in result.all() if r.value_text in remarks]
    orders = {}
    for column in rows[0] if rows else ():
        if column != "value_text":
            ranked = sorted(rows, key=lambda r: str(r[column]))
            orders[column] = [r["value_text"] for r in ranked]
    if postgres:
        ranked = sorted(rows, key=lambda r: tuple(int(x) for x in r["ctid"].strip("()").split(",")))
        orders["ctid"] = [r["value_text"] for r in ranked]
    return orders


def spearman(first: list[str], second: list[str]) -> float:
    """Rank correlation of two orders of the same items (0 when one says nothing)."""
    n = len(first)
    if n < 3:
        return 0.0
    where = {item: i for i, item in enumerate(second)}
    d2 = sum((i - where[item]) ** 2 for i, item in enumerate(first))
    return 1 - 6 * d2 / (n * (n * n - 1))


async def xmins_shared(app: BotApp) -> list[str]:
    """Anonymous answers written in the same transaction as a row of a member (PostgreSQL)."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        linked = set()
        for table in ("member", "flowrun", "checkin"):
            result = await session.exec(text(f'SELECT xmin::text FROM "{table}"'))  # type: ignore[call-overload]
            linked |= {x for (x,) in result.all()}
        result = await session.exec(
            text("SELECT xmin::text, question_key FROM answer WHERE anonymous AND NOT proxy")  # type: ignore[call-overload]
        )
        return [f"{q} (xmin {x})" for x, q in result.all() if x in linked]


async def test_a_database_reader_cannot_tie_anonymous_words_to_anyone(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, database_url: str
) -> None:
    await move_member_ids(app, MEMBER_IDS)
    postgres = not database_url.startswith("sqlite")
    since = await wal_position(app) if postgres else ""
    admin = Phone(emulator, app, user_id=ADMIN, first_name="Ada")
    await onboard(admin, "Municipality")
    phones = [
        Phone(emulator, app, user_id=TELEGRAM_IDS + n, first_name=name)
        for n, name in enumerate(NAMES)
    ]
    for n, phone in enumerate(phones):
        await onboard(phone, GROUPS[n % 3])
    assert app.session_factory is not None and app.checkins is not None
    async with app.session_factory() as session:
        await app.checkins.set_status(
            session, schedule_id=REVIEW, status=ScheduleStatus.PAUSED, now=clock.now()
        )
        members = {
            p.user_id: await repo.get_member_by_telegram_id(session, telegram_user_id=p.user_id)
            for p in phones
        }
        await session.commit()
    member_ids = {user: m.id if m is not None and m.id else 0 for user, m in members.items()}
    assert all(n > MEMBER_IDS for n in member_ids.values())
    said: dict[int, set[str]] = {p.user_id: set() for p in phones}

    def people() -> list[Person]:
        return [
            Person(p.user_id, member_ids[p.user_id], p.first_name, frozenset(said[p.user_id]))
            for p in phones
        ]

    reader = Reader(app, database_url)
    shuffle = random.Random()
    finished: list[list[str]] = []
    canceller = phones[11]
    for week in range(WEEKS):
        clock.advance(MONDAY + timedelta(weeks=week) - clock.now())
        await tick(app)
        order = shuffle.sample(phones, len(phones))
        done: list[str] = []
        for n, phone in enumerate(order):
            remark = f"remark {uuid.uuid4().hex[:16]}"
            said[phone.user_id].add(remark)
            clock.advance(timedelta(minutes=shuffle.randint(3, 40)))
            if week == 0 and phone is canceller:
                await answer_pulse(phone, remark, cancel=True)
                continue
            if week == 0 and n == len(order) // 2:
                # Half-way through the week: runs are open, one conversation is half done; someone
                # who already answered the pulse raises a concern.
                raiser = order[0] if order[0] is not canceller else order[1]
                concern = f"concern {uuid.uuid4().hex[:16]}"
                said[raiser.user_id].add(concern)

                async def look() -> None:
                    await reader.look(people())

                handle = await raise_anonymous_concern(raiser, concern, look)
                said[raiser.user_id].add(handle)
                card = await admin.wait_for(f"New concern {handle}")
                if reader.sqlite is not None:  # the WAL still holds the raiser's transaction
                    raised_by = next(p for p in people() if p.telegram_id == raiser.user_id)
                    paired = transactions_pairing(
                        sqlite_transactions(reader.sqlite), handle, raised_by
                    )
                    assert paired == 0, "the ticket was written in its raiser's transaction"
                await admin.press("Answer", message=card)
                await admin.send("We will raise it with the mayor.")
                await raiser.wait_for("We will raise it with the mayor.")
                await reader.look(people())
                await admin.send("/proxy trust_pulse community")
                for value in ("2", "3", "4", "5", "1", "2"):
                    await admin.send(value)
                await admin.press("Skip")
            await answer_pulse(phone, remark)
            done.append(remark)
        await reader.look(people())
        finished.append(done)
        clock.advance(MONDAY + timedelta(weeks=week, days=3, hours=23) - clock.now())
        await tick(app)
        await phones[0].wait_for("Trust pulse: what you said together")
        await reader.look(people())

    assert reader.found == []
    correlations: dict[str, list[float]] = {}
    for done in finished:
        for column, stored in (await ordered_remarks(app, done)).items():
            assert sorted(stored) == sorted(done), "every remark is stored, once"
            correlations.setdefault(column, []).append(spearman(done, stored))
    assert correlations
    # Each week is a fresh draw of 11: by chance alone a mean this high has odds near 1e-4.
    following = {c: r for c, r in correlations.items() if abs(sum(r) / len(r)) >= 0.7}
    assert following == {}, f"anonymous answers sorted by these follow who finished: {following}"
    if postgres:
        assert await xmins_shared(app) == []
        assert await beside_a_member(app, since, "SELECT xmin::text FROM ticketroute") == []
