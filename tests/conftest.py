"""End-to-end harness: the real bot, polling the project's Bot API emulator over loopback HTTP,
on a real database (an SQLite file; PostgreSQL too when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import event, text
from sqlmodel import col, select

from bot.app import BotApp
from bot.config import Settings
from bot.domain import payload
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator, SentMessage
from bot.services.ballots import Ballots
from bot.services.sealing import Sealer
from bot.storage import migrate, outbox, outbox_figures, repo
from bot.storage.db import SessionFactory, create_engine, create_session_factory
from bot.storage.models import (
    Answer,
    Broadcast,
    FlowRun,
    Member,
    OutboxMessage,
    RunStatus,
    Ticket,
    TicketRoute,
)

pytest_plugins = ["emulator_fixtures"]
ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-secret-token-value"
ADMIN = 9001  # in ADMIN_IDS of the test settings
BACKENDS = ["sqlite", "postgres"]


@dataclass(frozen=True)
class Statement:
    """One statement the migrations sent to PostgreSQL, as the driver received it."""

    sql: str
    parameters: Any


def run_aside(work: Coroutine[Any, Any, None]) -> None:
    """Run `work` to the end on a loop of its own, in a thread (a fixture may ask for a
    session template while the test's loop is running)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, work).result()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated to head once per session, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "partnerbot.db"

    async def build() -> None:
        engine = create_engine(f"sqlite:///{path}")
        try:
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()

    run_aside(build())
    # Closing the last connection checkpointed the WAL: the file alone holds the schema.
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


@pytest.fixture(scope="session")
def postgres_template() -> list[Statement]:
    """The statements (DDL and seed rows) the migrations send to an empty PostgreSQL schema,
    captured once per session by migrating a throw-away schema, to replay in each test's own.
    Reads are left out: on an empty schema they change nothing."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set")
    schema = f"template_{uuid.uuid4().hex[:12]}"
    captured: list[Statement] = []

    def record(
        _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool
    ) -> None:
        if not statement.lstrip().upper().startswith("SELECT"):
            captured.append(Statement(statement, parameters))

    async def build() -> None:
        admin = create_engine(base)
        engine = create_engine(base, schema=schema)
        try:
            async with admin.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            event.listen(engine.sync_engine, "before_cursor_execute", record)
            await migrate.upgrade(engine)
        finally:
            await engine.dispose()
            async with admin.begin() as conn:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            await admin.dispose()

    run_aside(build())
    # Replayed under another search_path, a statement must not name the template's schema.
    assert not [each for each in captured if schema in each.sql], "schema-qualified statement"
    return captured


@pytest.fixture
async def sessions(database_url: str, database_schema: str | None) -> AsyncIterator[SessionFactory]:
    """Sessions on the test's database, migrated, without a bot around it."""
    engine = create_engine(database_url, schema=database_schema)
    await migrate.upgrade(engine)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def fresh_database(request: pytest.FixtureRequest) -> bool:
    """Whether the test wants an empty database (it tests the migrations themselves) rather
    than one already at head."""
    return request.node.get_closest_marker("empty_database") is not None


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh database for one test, on each backend available: at the migrations' head
    (`migrate.upgrade` finds nothing to do), or empty for tests marked `empty_database`."""
    if request.param == "sqlite":
        path = tmp_path / "partnerbot.db"
        if not fresh_database(request):
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            path.chmod(0o600)
        yield f"sqlite:///{path}"
        return
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        pytest.skip("TEST_DATABASE_URL is not set")
    yield base


@pytest.fixture
async def database_schema(
    request: pytest.FixtureRequest, database_url: str
) -> AsyncIterator[str | None]:
    """On PostgreSQL, a schema of its own for the test (at head unless the test is marked
    `empty_database`), dropped afterwards."""
    if not database_url.startswith("postgres"):
        yield None
        return
    template: list[Statement] = (
        [] if fresh_database(request) else request.getfixturevalue("postgres_template")
    )
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(database_url)
    engine = create_engine(database_url, schema=schema)
    try:
        async with admin.begin() as conn:
            await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        async with engine.begin() as conn:
            for statement in template:
                await conn.exec_driver_sql(statement.sql, statement.parameters)
        await engine.dispose()
        yield schema
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def emulator() -> AsyncIterator[BotAPIEmulator]:
    emu = BotAPIEmulator()
    await emu.start()
    try:
        yield emu
    finally:
        await emu.stop()


@pytest.fixture
def settings(emulator: BotAPIEmulator, database_url: str, database_schema: str | None) -> Settings:
    return Settings(
        _env_file=None,
        bot_token=TOKEN,
        telegram_api_url=emulator.base_url,
        database_url=database_url,
        database_schema=database_schema,
        flows_dir=ROOT / "flows",
        locales_dir=ROOT / "locales",
        admin_ids=frozenset({ADMIN}),
        anonymity_key="test-anonymity-key-0123456789abcdef",
        request_retries=2,
        progress_interval_s=0.1,
        # No load balancer to wait for: webhook apps close at once when a test stops them.
        shutdown_grace_s=0,
    )


WEBHOOK_SECRET = "webhook-secret_0123456789"
# How long a phone waits for the bot to handle what it sent. A press that builds an export waits
# for a worker process that runs at a lower priority (bot/services/offload.py): on a machine whose
# cores the other test workers keep busy it gets little CPU, and took over 10 s there.
HANDLED_WITHIN_S = 60.0


def webhook_settings(settings: Settings) -> Settings:
    """`settings` receiving updates by webhook on a free local port."""
    port = closed_port()  # free now, for the bot to listen on
    return settings.model_copy(
        update={
            "webhook_url": f"http://127.0.0.1:{port}/telegram/webhook",
            "webhook_secret": SecretStr(WEBHOOK_SECRET),
            "webhook_host": "127.0.0.1",
            "webhook_port": port,
        }
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Settings:
    """The command line sees the test's database and key, from a directory without `.env`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if settings.database_schema:
        monkeypatch.setenv("DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("FLOWS_DIR", str(ROOT / "flows"))
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))
    assert settings.anonymity_key is not None
    monkeypatch.setenv("ANONYMITY_KEY", settings.anonymity_key.get_secret_value())
    return settings


@contextlib.asynccontextmanager
async def running_app(
    settings: Settings, clock: ManualClock, *, webhook: bool = False
) -> AsyncIterator[BotApp]:
    """The bot started on `settings` (by webhook on a free port when asked), stopped on leaving."""
    bot_app = BotApp(
        webhook_settings(settings) if webhook else settings, clock=clock, webhook=webhook
    )
    await bot_app.start()
    try:
        yield bot_app
    finally:
        await bot_app.stop()


@pytest.fixture
async def app(settings: Settings, clock: ManualClock) -> AsyncIterator[BotApp]:
    async with running_app(settings, clock) as bot_app:
        yield bot_app


@pytest.fixture
async def start_bot(
    emulator: BotAPIEmulator, clock: ManualClock
) -> AsyncIterator[Callable[..., Awaitable[BotApp]]]:
    """Starts bots on given settings, polling or by webhook; stops them all at the end."""
    async with contextlib.AsyncExitStack() as started:

        async def start(settings: Settings, *, webhook: bool = False) -> BotApp:
            return await started.enter_async_context(running_app(settings, clock, webhook=webhook))

        yield start


@dataclass
class Phone:
    """One person's Telegram app: sends as them and reads what the bot showed them."""

    emulator: BotAPIEmulator
    app: BotApp
    user_id: int
    first_name: str = "Amina"
    language_code: str | None = "en"
    seen: int = field(default=0)

    @property
    def messages(self) -> list[SentMessage]:
        return self.emulator.messages(self.user_id)

    @property
    def last(self) -> SentMessage:
        assert self.messages, "the bot has sent nothing to this chat"
        return self.messages[-1]

    def new(self) -> list[SentMessage]:
        """Messages that arrived since the last call."""
        fresh = self.messages[self.seen :]
        self.seen = len(self.messages)
        return fresh

    def new_text(self) -> str:
        return "\n---\n".join(m.plain_text for m in self.new())

    async def send(self, text: str) -> int:
        """Type and send `text`; return once the bot has handled it."""
        update_id = self.emulator.send_text(
            self.user_id, text, first_name=self.first_name, language_code=self.language_code
        )
        await self.app.tracker.wait_handled(update_id, timeout=HANDLED_WITHIN_S)
        return update_id

    async def press(self, label: str, *, message: SentMessage | None = None) -> int:
        """Press the button whose text contains `label` on the newest message that has one."""
        candidates = [message] if message else list(reversed(self.messages))
        for candidate in candidates:
            for shown, data in candidate.buttons:
                if label.casefold() in shown.casefold() and data is not None:
                    update_id = self.emulator.press_button(self.user_id, candidate.message_id, data)
                    await self.app.tracker.wait_handled(update_id, timeout=HANDLED_WITHIN_S)
                    return update_id
        offered = [b for m in candidates for b, _ in m.buttons]
        raise AssertionError(f"no button {label!r}; buttons shown: {offered}")

    async def wait_for(
        self, fragment: str, timeout: float = 15.0, *, unseen: bool = False
    ) -> SentMessage:
        """Wait until a message (new or edited) containing `fragment` is in the chat; with
        `unseen`, among those not yet taken by `new()` (a question asked again, say)."""
        events = self.emulator.subscribe()
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for message in self.messages[self.seen if unseen else 0 :]:
                        if fragment in message.plain_text:
                            return message
                    await events.get()
        except TimeoutError:
            shown = [m.plain_text[:80] for m in self.messages[-5:]]
            raise AssertionError(
                f"no message with {fragment!r} within {timeout}s; last: {shown}"
            ) from None
        finally:
            self.emulator.unsubscribe(events)

    def toast(self) -> str | None:
        """The text of the last callback answer (the small notice over the chat)."""
        answers = self.emulator.callback_answers(self.user_id)
        return answers[-1].text if answers else None


class Database:
    """Reads what the bot stored, through the repository functions."""

    def __init__(self, app: BotApp) -> None:
        assert app.session_factory is not None
        self.session_factory = app.session_factory

    async def count(self, model: type[Any]) -> int:
        async with self.session_factory() as session:
            return await repo.count_rows(session, model)

    async def rows(self, model: type[Any]) -> list[Any]:
        """Every row of one table, as stored."""
        async with self.session_factory() as session:
            return list((await session.exec(select(model))).all())

    async def member(self, telegram_user_id: int) -> Member | None:
        async with self.session_factory() as session:
            return await repo.get_member_by_telegram_id(session, telegram_user_id=telegram_user_id)

    async def answers(self, telegram_user_id: int, flow_id: str | None = None) -> dict[str, Any]:
        """The member's answers by question: a value, or a list when several were stored."""
        member = await self.member(telegram_user_id)
        assert member is not None, f"user {telegram_user_id} is not a member"
        async with self.session_factory() as session:
            rows = await repo.list_answers(session, member_id=member.id, flow_id=flow_id)
        found: dict[str, Any] = {}
        for row in rows:
            value = row.value_choice if row.value_choice is not None else row.value_number
            value = row.value_text if value is None else value
            if row.question_key in found:
                previous = found[row.question_key]
                found[row.question_key] = [
                    *(previous if isinstance(previous, list) else [previous]),
                    value,
                ]
            else:
                found[row.question_key] = value
        return found

    async def outbox(self) -> list[OutboxMessage]:
        async with self.session_factory() as session:
            return list(
                (await session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
            )

    async def broadcasts(self) -> list[Broadcast]:
        async with self.session_factory() as session:
            return await repo.list_broadcasts(session)

    async def runs(self, telegram_user_id: int) -> list[FlowRun]:
        member = await self.member(telegram_user_id)
        assert member is not None and member.id is not None
        async with self.session_factory() as session:
            return await repo.list_runs(session, member_id=member.id)


@pytest.fixture
def db(app: BotApp) -> Database:
    return Database(app)


@pytest.fixture
def phone(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    return Phone(emulator, app, user_id=1001)


@pytest.fixture
def french_phone(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    return Phone(emulator, app, user_id=1002, first_name="Fatou", language_code="fr")


async def onboard(phone: Phone, group: str = "Community member", language: str = "English") -> None:
    """Take `phone` through onboarding by typing, declining the roles conversation after it."""
    english = language == "English"
    skip = "Skip" if english else "Passer"  # the time zone: the partnership's
    for typed in ("/start", "yes", language, skip, group, "Somewhere", "Someone"):
        await phone.send(typed)
    await phone.send("no" if english else "non")
    phone.new()


@pytest.fixture
async def admin(emulator: BotAPIEmulator, app: BotApp) -> Phone:
    """Ada, an admin (ADMIN_IDS), onboarded as a municipal officer."""
    phone = Phone(emulator, app, user_id=ADMIN, first_name="Ada")
    await onboard(phone, "Municipality")
    return phone


@pytest.fixture
async def marc(emulator: BotAPIEmulator, app: BotApp, admin: Phone) -> Phone:
    """A municipal officer, made coordinator by the admin."""
    phone = Phone(emulator, app, user_id=1003, first_name="Marc")
    await onboard(phone, "Municipality")
    await admin.send("/promote 1003")
    admin.new()
    return phone


async def add_anonymous_concern(
    session: Any, sealer: Sealer, *, raiser_id: int, text: str, now: Any, handle: str = "C-TEST1"
) -> Ticket:
    """An anonymous concern as the concerns service stores it: a sealed route, no member.
    Flushed in the caller's session; the caller commits."""
    ticket = Ticket(
        handle=handle,
        category="money",
        about="partnership",
        urgency="normal",
        text=text,
        anonymous=True,
        created_at=now,
        updated_at=now,
    )
    session.add(ticket)
    await session.flush()
    assert ticket.id is not None
    session.add(
        TicketRoute(
            ticket_id=ticket.id,
            sealed=sealer.seal(raiser_id),
            raiser_tag=sealer.tag("raiser", raiser_id),
        )
    )
    return ticket


async def add_roles_run(
    session: Any, member: Member, claims: Iterable[tuple[str, str]], *, now: Any
) -> None:
    """A finished roles run of `member` with its named answers, `claims` being (question,
    option) pairs, as the conversation stores them. Flushed in the caller's session; the
    caller commits."""
    answers = [dict(question_key=q, kind="multi_choice", value_choice=o) for q, o in claims]
    await add_finished_run(session, member, "roles", answers, version=2, now=now)


async def add_finished_run(
    session: Any,
    member: Member,
    flow_id: str,
    answers: Iterable[dict[str, Any]],
    *,
    version: int = 1,
    now: Any,
) -> None:
    """A finished run of `flow_id` by `member` with these named answers (`Answer` fields).
    Flushed in the caller's session; the caller commits."""
    assert member.id is not None
    run = FlowRun(
        member_id=member.id,
        flow_id=flow_id,
        flow_version=version,
        status=RunStatus.DONE,
        started_at=now,
        updated_at=now,
    )
    session.add(run)
    await session.flush()
    session.add_all(
        Answer(
            run_id=run.id,
            member_id=member.id,
            flow_id=flow_id,
            stakeholder_group=member.stakeholder_group,
            created_at=now,
            **answer,
        )
        for answer in answers
    )
    await session.flush()


async def begin_flow(app: BotApp, phone: Phone, flow_id: str) -> None:
    """Open `flow_id` for `phone`'s member as a check-in would (the flow has no command)."""
    from bot.services.conversations import UserRef

    assert app.session_factory is not None and app.conversations is not None
    async with app.session_factory() as session:
        member = await repo.get_member_by_telegram_id(session, telegram_user_id=phone.user_id)
        assert member is not None
        user = UserRef(telegram_user_id=phone.user_id, chat_id=phone.user_id, display_name="x")
        await app.conversations.begin(session, user=user, member=member, flow_id=flow_id)
        await session.commit()


async def release_ballots(app: BotApp, *, at_least: int = 1) -> int:
    """Release waiting ballots as the leader does, in batches of `at_least` instead of k (for
    tests with fewer respondents than k, or reading before an occurrence closes)."""
    assert app.session_factory is not None and app.sealer is not None
    ballots = Ballots(sealer=app.sealer, min_group=at_least)
    async with app.session_factory() as session:
        released = await ballots.release_due(session, now=app.clock.now(), hold_open=False)
        await session.commit()
    return released


def closed_port() -> int:
    """A local port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def run_bench(script: str, *args: str) -> dict[str, Any]:
    """Run `bench/<script>` with `args`, check it exited 0, and return its JSON result."""
    completed = subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = completed.stdout.strip().splitlines()
    assert lines, completed.stderr[-4000:]
    result: dict[str, Any] = json.loads(lines[-1])
    return result


async def queue_news(
    session_factory: SessionFactory,
    chats: list[int],
    *,
    per_chat: int = 1,
    now: datetime | None = None,
) -> None:
    """A member per chat and `per_chat` outbox messages to each, due `now` (the wall clock's
    by default), committed together: what a broadcast queues. Message n to a chat reads
    `news_text(chat, n)`."""
    now = now or datetime.now(UTC)
    async with session_factory() as session:
        for chat_id in chats:
            member = await repo.create_member(
                session,
                telegram_user_id=chat_id,
                chat_id=chat_id,
                display_name="",
                language="en",
                now=now,
            )
            for n in range(per_chat):
                await outbox.enqueue(
                    session,
                    chat_id=chat_id,
                    member_id=member.id,
                    text=news_text(chat_id, n),
                    dedupe_key=f"news:{chat_id}:{n}",
                    now=now,
                )
        await session.commit()


def news_text(chat_id: int, n: int = 0) -> str:
    """The text of `queue_news`' message n to a chat."""
    return f"News {n} for chat {chat_id}"


async def wait_drained(session_factory: SessionFactory, timeout: float = 30.0) -> None:
    """Wait until no outbox row is queued or being sent (polling the database)."""
    async with asyncio.timeout(timeout):
        while True:
            async with session_factory() as session:
                if await outbox_figures.outbox_depth(session) == {"queued": 0, "sending": 0}:
                    return
            await asyncio.sleep(0.05)


@contextlib.asynccontextmanager
async def partnerbot_run(
    settings: Settings, concurrency: int = 8, **extra_env: str
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`python -m bot run` against the emulator and the test database (with `extra_env`, e.g.
    SEND_LEASE_S); killed on the way out."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.upper().startswith(("SEND_", "DATABASE_", "TELEGRAM_", "BOT_", "ANONYMITY_"))
    }
    env.update(
        BOT_TOKEN=settings.token(),
        TELEGRAM_API_URL=settings.telegram_api_url,
        DATABASE_URL=settings.database_url,
        FLOWS_DIR=str(ROOT / "flows"),
        LOCALES_DIR=str(ROOT / "locales"),
        LOG_LEVEL=os.environ.get("TEST_BOT_LOG_LEVEL", "WARNING"),
        SEND_RATE_PER_S="100",
        SEND_PER_CHAT_PER_S="10",
        SEND_CONCURRENCY=str(concurrency),
    )
    env.update(extra_env)
    if settings.anonymity_key is not None:
        env["ANONYMITY_KEY"] = settings.anonymity_key.get_secret_value()
    if settings.database_schema:
        env["DATABASE_SCHEMA"] = settings.database_schema
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=ROOT, env=env, stdin=asyncio.subprocess.DEVNULL
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def go_on_without_media(phone: Phone) -> None:
    """Past a concern's media question: Skip it (named), or No to sending any (anonymous).

    The question is the newest message with either button, not necessarily the last: a
    message from the outbox (a decision's outcome, a reminder) may arrive after it."""
    for message in reversed(phone.messages):
        data = next(
            (
                d
                for _, d in message.buttons
                if d
                and (answer := payload.decode_answer(d)) is not None
                and answer.value in (payload.SKIP, "no")
            ),
            None,
        )
        if data is not None:
            update_id = phone.emulator.press_button(phone.user_id, message.message_id, data)
            await phone.app.tracker.wait_handled(update_id, timeout=HANDLED_WITHIN_S)
            return
    raise AssertionError(f"no media question; last: {phone.last.plain_text[:80]!r}")
