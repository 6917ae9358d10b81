"""The database fails while members write: nobody is told to resend, nothing is applied twice.

A real fault: on PostgreSQL the bot reaches the server through a fault proxy that resets every
connection and refuses new ones (PostgreSQL stopped); on SQLite another connection holds the
write lock past the bot's busy timeout ("database is locked"). Each test runs the bot polling
and, where it applies, receiving by webhook (the emulator redelivers what is answered 500, as
Telegram does).
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import pytest
from conftest import Database, Phone
from pgproxy import FaultProxy, pg_proxy  # noqa: F401  (a fixture)
from sqlalchemy.engine import make_url

from bot.app import BotApp
from bot.config import Settings
from bot.sandbox.emulator import BotAPIEmulator
from bot.services.conversations import Conversations
from bot.storage import db as storage_db

FIRST_USER = 7100
OUTAGE_S = 3.0
SORRY = "Sorry, something went wrong"
HANDLING_LOGGERS = (
    "aiogram",
    "bot.telegram.attempts",
    "bot.telegram.middlewares",
    "bot.telegram.routers",
    "bot.telegram.webhook",
    "bot.storage",
)
BEFORE_ORGANISATION = ("/start", "yes", "English", "Skip", "Municipality")


class Fault(Protocol):
    """Something that makes the bot's database fail until it is lifted."""

    async def begin(self) -> None: ...

    async def end(self) -> None: ...


class Outage:
    """PostgreSQL stopped: open connections reset, new ones refused."""

    def __init__(self, proxy: FaultProxy) -> None:
        self.proxy = proxy

    async def begin(self) -> None:
        await self.proxy.outage()

    async def end(self) -> None:
        await self.proxy.restore()


class HeldLock:
    """Another process holds SQLite's write lock: the bot's writes wait, then fail."""

    def __init__(self, path: str) -> None:
        self.connection = sqlite3.connect(
            path, timeout=30, isolation_level=None, check_same_thread=False
        )

    async def begin(self) -> None:
        await asyncio.to_thread(self.connection.execute, "BEGIN IMMEDIATE")

    async def end(self) -> None:
        await asyncio.to_thread(self.connection.execute, "ROLLBACK")


# The sender probes a database that failed again with backoff (bot/delivery/breaker.py).
REPLY_AFTER_OUTAGE_S = 45.0


@pytest.fixture
async def faulty(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[Settings, Fault]]:
    """Settings whose database can be made to fail, and the means to do it."""
    if not settings.database_url.startswith("postgres"):
        # One second instead of fifteen before a locked write gives up (and is retried).
        monkeypatch.setattr(storage_db, "SQLITE_BUSY_TIMEOUT_MS", 1000)
        lock = HeldLock(str(make_url(settings.database_url).database))
        try:
            yield settings, lock
        finally:
            lock.connection.close()
        return
    parsed = make_url(settings.database_url)
    proxy = FaultProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    try:
        yield (
            settings.model_copy(update={"database_url": proxy.proxied_url(settings.database_url)}),
            Outage(proxy),
        )
    finally:
        await proxy.stop()


async def until(condition: Callable[[], bool], timeout: float = 20.0) -> None:
    """Return once `condition` holds (it is read from the emulator's or the bot's state)."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)


async def members_at_the_organisation_question(
    emulator: BotAPIEmulator, app: BotApp, count: int
) -> list[Phone]:
    phones = [Phone(emulator, app, user_id=FIRST_USER + n) for n in range(count)]
    for phone in phones:
        for typed in BEFORE_ORGANISATION:
            await phone.send(typed)
        assert "name of your organisation" in phone.new_text()
    return phones


async def a_member_at_the_organisation_question(
    starting: Awaitable[BotApp], emulator: BotAPIEmulator, caplog: pytest.LogCaptureFixture
) -> tuple[BotApp, Phone]:
    """The bot `starting`, one member at the organisation question, the log from then on."""
    app = await starting
    [phone] = await members_at_the_organisation_question(emulator, app, 1)
    caplog.clear()
    caplog.set_level(logging.INFO)
    return app, phone


async def attempted_during(fault: Fault, tried: Callable[[], bool]) -> None:
    """Hold the fault until the bot has tried (`tried`), then `OUTAGE_S` longer; lift it."""
    try:
        await until(tried)
        await asyncio.sleep(OUTAGE_S)  # the outage's length, not a wait for anything
    finally:
        await fault.end()


def handling_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What update handling logged at WARNING and above (not the sender, scheduler, leader,
    broadcast monitor: each has its own)."""
    return [
        r
        for r in caplog.records
        if r.name.startswith(HANDLING_LOGGERS) and r.levelno >= logging.WARNING
    ]


def typed_through_an_outage(emulator: BotAPIEmulator, phones: list[Phone]) -> list[int]:
    """Each member answers the organisation question and, impatient, types their role too,
    before the bot could ask for it: the update ids, in order."""
    return [
        emulator.send_text(phone.user_id, typed, first_name=phone.first_name)
        for n, phone in enumerate(phones)
        for typed in (f"Acme Water {n}", f"Director {n}")
    ]


async def assert_onboarded_on_their_answers(phones: list[Phone], database: Database) -> None:
    """The organisation is taken once; the role typed before its question was shown is not taken
    (the member is told so); retyped once seen, it is; no apology, no question twice."""
    for n, phone in enumerate(phones):
        # Replies wait in the outbox while the sender's breaker probes the database again.
        await phone.wait_for("not taken as its answer", timeout=REPLY_AFTER_OUTAGE_S)
        assert (await database.answers(phone.user_id, "onboarding")).get("role") is None
        await phone.send(f"Director {n}")
        await phone.wait_for("roles and responsibilities", timeout=REPLY_AFTER_OUTAGE_S)
        shown = [m.plain_text for m in phone.messages]
        assert not [text for text in shown if text.startswith(SORRY)], shown
        assert sum("What is your role" in text for text in shown) == 1, shown
        assert sum("not taken as its answer" in text for text in shown) == 1, shown
        assert sum("roles and responsibilities" in text for text in shown) == 1, shown
        answers = await database.answers(phone.user_id, "onboarding")
        assert answers["organisation"] == f"Acme Water {n}"
        assert answers["role"] == f"Director {n}"
        member = await database.member(phone.user_id)
        assert member is not None
        assert (member.organisation, member.role_title) == (f"Acme Water {n}", f"Director {n}")


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_members_writing_through_an_outage_are_answered_once_without_apologies(
    faulty: tuple[Settings, Fault],
    emulator: BotAPIEmulator,
    start_bot: Callable[..., Awaitable[BotApp]],
    caplog: pytest.LogCaptureFixture,
    webhook: bool,
) -> None:
    settings, fault = faulty
    app = await start_bot(settings, webhook=webhook)
    phones = await members_at_the_organisation_question(emulator, app, 3)
    caplog.clear()
    caplog.set_level(logging.INFO)
    failures_before = emulator.stats.webhook_failures

    await fault.begin()
    sent = typed_through_an_outage(emulator, phones)
    if webhook:
        # Each chat's first update was answered 500 at least once (its second waits for it).
        tried = lambda: emulator.stats.webhook_failures - failures_before >= len(phones)  # noqa: E731
    else:
        # Polling: every update was fetched (getUpdates confirmed it) and is being handled.
        tried = lambda: all(emulator.is_update_confirmed(u) for u in sent)  # noqa: E731
    await attempted_during(fault, tried)
    for update_id in sent:
        await emulator.wait_for_update_confirmed(update_id, timeout=30)
        await app.tracker.wait_handled(update_id, timeout=30)
    await app.tracker.wait_idle()

    await assert_onboarded_on_their_answers(phones, Database(app))
    # One line when handling starts failing and one when it works again; no tracebacks.
    lines = handling_lines(caplog)
    assert all(r.exc_info is None for r in lines), [r.getMessage() for r in lines]
    assert len(lines) == 2, [r.getMessage() for r in lines]


async def test_polling_gives_up_after_its_retries_with_one_apology(
    faulty: tuple[Settings, Fault],
    emulator: BotAPIEmulator,
    start_bot: Callable[..., Awaitable[BotApp]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings, fault = faulty
    app, phone = await a_member_at_the_organisation_question(
        start_bot(settings.model_copy(update={"update_retry_s": 1.5})), emulator, caplog
    )

    await fault.begin()
    try:
        update_id = emulator.send_text(phone.user_id, "Acme Water 0")
        # The errors router apologises after the dispatcher's tracker saw the update end.
        await phone.wait_for(SORRY, timeout=30)
    finally:
        await fault.end()
    phone.new()
    lines = [r.getMessage() for r in handling_lines(caplog)]
    assert all(r.exc_info is None for r in handling_lines(caplog)), lines
    assert len(lines) == 2, lines  # handling fails; this update is given up
    assert f"update {update_id} given up" in lines[1]

    # Told to try again, the member does; the answer lands on the question they saw.
    await phone.send("Acme Water 0")
    await phone.wait_for("What is your role", timeout=REPLY_AFTER_OUTAGE_S)
    assert "What is your role" in phone.new_text()
    assert sum(m.plain_text.startswith(SORRY) for m in phone.messages) == 1
    await phone.send("Director 0")
    await phone.wait_for("roles and responsibilities", timeout=REPLY_AFTER_OUTAGE_S)
    assert "roles and responsibilities" in phone.new_text()
    answers = await Database(app).answers(phone.user_id, "onboarding")
    assert (answers["organisation"], answers["role"]) == ("Acme Water 0", "Director 0")
    assert sum(m.plain_text.startswith(SORRY) for m in phone.messages) == 1


@pytest.mark.parametrize("webhook", [False, True], ids=["polling", "webhook"])
async def test_a_bug_gets_one_apology_and_one_traceback(
    settings: Settings,
    emulator: BotAPIEmulator,
    start_bot: Callable[..., Awaitable[BotApp]],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    webhook: bool,
) -> None:
    app = await start_bot(settings, webhook=webhook)
    [phone] = await members_at_the_organisation_question(emulator, app, 1)
    real_answer = Conversations.answer

    async def buggy_answer(self: Conversations, *args: Any, **kwargs: Any) -> Any:
        event = kwargs.get("event")
        if getattr(event, "text", None) == "boom":
            raise RuntimeError("a bug in a handler")
        return await real_answer(self, *args, **kwargs)

    monkeypatch.setattr(Conversations, "answer", buggy_answer)
    caplog.clear()
    update_id = emulator.send_text(phone.user_id, "boom")
    # Not delivered again: a bug would fail the same way each time.
    await emulator.wait_for_update_confirmed(update_id, timeout=15)
    await phone.wait_for(SORRY)
    phone.new()
    assert app.tracker.times_handled(update_id) == 1
    tracebacks = [r for r in caplog.records if r.exc_info is not None]
    assert len(tracebacks) == 1 and f"update {update_id} failed" in tracebacks[0].getMessage()
    await phone.send("Acme Water 0")
    await phone.wait_for("What is your role", timeout=REPLY_AFTER_OUTAGE_S)
    assert "What is your role" in phone.new_text()
    assert sum(m.plain_text.startswith(SORRY) for m in phone.messages) == 1


async def test_the_apology_speaks_the_language_the_member_chose(
    settings: Settings,
    emulator: BotAPIEmulator,
    start_bot: Callable[..., Awaitable[BotApp]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A member whose phone is set to English but who chose French is apologised to in French."""
    app = await start_bot(settings)
    phone = Phone(emulator, app, user_id=FIRST_USER + 50, language_code="en")
    for typed in ("/start", "yes", "Français", "Passer", "Municipalité"):
        await phone.send(typed)
    assert "organisation" in phone.new_text()
    real_answer = Conversations.answer

    async def buggy_answer(self: Conversations, *args: Any, **kwargs: Any) -> Any:
        if getattr(kwargs.get("event"), "text", None) == "boom":
            raise RuntimeError("a bug in a handler")
        return await real_answer(self, *args, **kwargs)

    monkeypatch.setattr(Conversations, "answer", buggy_answer)
    await phone.send("boom")
    await phone.wait_for("Désolé, un problème est survenu")
    assert SORRY not in phone.new_text()


async def test_an_outage_is_logged_once_per_change_of_state_by_every_part(
    faulty: tuple[Settings, Fault],
    emulator: BotAPIEmulator,
    start_bot: Callable[..., Awaitable[BotApp]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings, fault = faulty
    # The broadcast monitor ticks every 0.1 s and followers campaign every 0.2 s: a line (or a
    # traceback) per try would be dozens in the outage.
    app, phone = await a_member_at_the_organisation_question(
        start_bot(settings.model_copy(update={"leader_poll_s": 0.2})), emulator, caplog
    )
    await fault.begin()
    update_id = emulator.send_text(phone.user_id, "Acme Water 0")
    await attempted_during(fault, lambda: emulator.is_update_confirmed(update_id))
    await app.tracker.wait_handled(update_id, timeout=30)
    # Typed once the question is shown (before, it would not be taken as its answer).
    await phone.wait_for("What is your role", timeout=REPLY_AFTER_OUTAGE_S)
    await phone.send("Director 0")
    await phone.wait_for("roles and responsibilities", timeout=REPLY_AFTER_OUTAGE_S)
    assert "roles and responsibilities" in phone.new_text()

    lines = [r for r in caplog.records if r.name.startswith("bot") and r.levelno >= logging.WARNING]
    shown = [f"{r.name}: {r.getMessage()}" for r in lines]
    assert all(r.exc_info is None for r in lines), "\n".join(shown)
    by_logger: dict[str, int] = {}
    for record in lines:
        by_logger[record.name] = by_logger.get(record.name, 0) + 1
    # At most: lost it (the leader's lock), fails, works again; never one line per try.
    assert all(count <= 3 for count in by_logger.values()), "\n".join(shown)


async def test_a_database_that_stops_answering_holds_updates_until_it_answers(
    pg_proxy: FaultProxy,  # noqa: F811
    settings: Settings,
    emulator: BotAPIEmulator,
    start_bot: Callable[..., Awaitable[BotApp]],
) -> None:
    # Connections stay open, nothing comes back: each statement runs into its time-out.
    stalling = settings.model_copy(
        update={
            "database_url": pg_proxy.proxied_url(settings.database_url),
            "database_statement_timeout_s": 1.0,
            "database_connect_timeout_s": 1.0,
        }
    )
    app = await start_bot(stalling)
    phones = await members_at_the_organisation_question(emulator, app, 2)
    pg_proxy.stall()
    sent = typed_through_an_outage(emulator, phones)
    await attempted_during(
        Outage(pg_proxy), lambda: all(emulator.is_update_confirmed(u) for u in sent)
    )
    for update_id in sent:
        await app.tracker.wait_handled(update_id, timeout=60)
    await assert_onboarded_on_their_answers(phones, Database(app))
