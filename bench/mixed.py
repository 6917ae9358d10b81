"""mixed: how fast members get answers while everything else a partnership does is going on.

One run per store (``--stores sqlite,postgres``), each with its own database (PostgreSQL: a
schema of its own, dropped afterwards), Bot API emulator and bot (``python -m bot run``):

- the emulator enforces Telegram's limits with real 429s: 30 messages/s overall and 1/s per
  chat for bulk messages (answers to a member's message are not refused, ``--answer-window``);
- before the clock starts, set-based inserts store ``--answers`` anonymous trust answers (the
  coordinator's reports and exports read them) and the members: ``--members`` who answer,
  ``--broadcast`` who receive the broadcast, ``--checkin`` whose check-in falls due, a
  coordinator; a check-in for the answering members is already due when the bot starts;
- the answering members get the weekly trust pulse through the outbox and answer its seven
  steps (six ratings and "/skip" for the comment) at a phone's pace: ``--think`` seconds on
  average, 0.5-1.5x, seeded; a step runs from posting the answer to the reply being visible;
- at 1x ``--think`` after the start a coordinator's broadcast to the broadcast members comes due
  (the bot's broadcast monitor releases it), at 2x the coordinator asks for ``/report all``, at
  3x for ``/export xlsx``, at 4x a check-in for the check-in members is added and falls due at
  the bot's next sweep (``--sweep`` seconds);
- the run lasts until every member is through, the report and export have arrived and the
  check-in was queued, and at least ``--duration`` seconds.

Event-loop lag is read from the bot: its ``partnerbot_event_loop_lag_seconds`` histogram before
and after the mix (percentiles from the buckets, so p99 and max are bucket bounds) and the
warnings its probe logs for every stall past 250 ms (exact, with what held the loop).
``broadcast_ratio`` is the outbox's achieved send rate over the allowed 30/s, from its first
send to the end of the mix (the outbox has work throughout). After the bot stops (sends in
flight finish), every chat's messages are counted against what the outbox marked sent and the
replies the members saw: ``lost`` and ``duplicates``. Then, without a target, the saturation
steps/s of ``bench/flow_steps.py`` beside its echo baseline and ``bench/step_cpu.py``, per store.

The last stdout line is the JSON result. Exit status: 0 when every member got through, 1 if
not (or, with ``--strict``, if a target was missed), 2 if the benchmark could not run.

    .venv/bin/python bench/mixed.py                     # both stores, the issue's sizes
    .venv/bin/python bench/mixed.py --stores sqlite     # PostgreSQL: --postgres-url,
                                                        # BENCH_DATABASE_URL or TEST_DATABASE_URL
    .venv/bin/python bench/mixed.py --members 5 --broadcast 20 --answers 500 --checkin 50 \\
        --think 0.2 --saturation-members 0 --step-cpu-members 0   # a tiny mix: seconds
    .venv/bin/python bench/mixed.py --bot-core          # the bot on a CPU of its own (its export
                                                        # worker too), the rest on the others
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import random
import re
import secrets
import signal
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
from _common import (
    PARTNERBOT_ENV,
    PYTHON,
    REPO_ROOT,
    Child,
    child_env,
    cpu_seconds,
    emit,
    info,
    peak_rss_mb,
    percentile,
    read_line,
    rounded,
    run_stoppable,
    spawn,
    stop_child,
)
from flow_steps import _free_port, _schema
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import col

from bot.domain.audiences import Audience
from bot.domain.schedules import Recurrence
from bot.services.reports import KINDS
from bot.storage import migrate
from bot.storage.db import create_engine
from bot.storage.models import (
    Answer,
    Broadcast,
    BroadcastStatus,
    Member,
    OutboxMessage,
    OutboxStatus,
    Schedule,
    ScheduleOccurrence,
    ScheduleStatus,
)

T = TypeVar("T")
TOKEN = "123456:bench-mixed-token"
COORDINATOR = 9_000_000
FIRST_MEMBER = 10_000_000
# Who is who, by stakeholder group: audiences select them without a committee to build.
ANSWERING, BROADCAST, CHECKIN, OTHERS = "community", "civil_society", "private_sector", "other"
CHECKIN_FLOW = "trust_pulse"
TYPED = ("3", "4", "2", "5", "4", "3", "/skip")  # six ratings, then no comment: seven steps
RATED = ("municipality", "private_sector", "civil_society", "community", "heard", "commitment")
GROUPS = ("municipality", "private_sector", "civil_society", "community", "other")
RATE_PER_S = 30.0  # Telegram's, overall
PER_CHAT_PER_S = 1.0
ANSWER_WINDOW_S = 60.0  # a reply within a minute of the member's message answers it
STALL = re.compile(r"the event loop was held for (\d+) ms by (.*)$")
LAG_METRIC = "partnerbot_event_loop_lag_seconds"
TARGETS = {
    "step_p99_ms": 100.0,
    "step_max_ms": 1000.0,
    "loop_lag_p99_ms": 20.0,
    "loop_lag_max_ms": 250.0,
    "broadcast_ratio_min": 0.95,
    "report_s": 10.0,
    "export_s": 10.0,
}


# ----------------------------------------------------------------------------- the database


def _ids(start: int, count: int) -> range:
    return range(FIRST_MEMBER + start, FIRST_MEMBER + start + count)


@dataclass(frozen=True)
class People:
    """User ids (= chat ids) of each kind of member."""

    answering: range
    broadcast: range
    checkin: range

    @classmethod
    def of(cls, args: argparse.Namespace) -> People:
        return cls(
            answering=_ids(0, args.members),
            broadcast=_ids(args.members, args.broadcast),
            checkin=_ids(args.members + args.broadcast, args.checkin),
        )

    def chats(self) -> list[int]:
        return [COORDINATOR, *self.answering, *self.broadcast, *self.checkin]


def _member_row(user_id: int, group: str, role: str, since: datetime) -> dict[str, Any]:
    return {
        "telegram_user_id": user_id,
        "chat_id": user_id,
        "display_name": f"Member {user_id}",
        "language": "en",
        "stakeholder_group": group,
        "time_zone": None,
        "role": role,
        "status": "active",
        "consent_at": since,
        "joined_at": since,
        "updated_at": since,
    }


async def _insert(engine: AsyncEngine, table: Any, rows: list[dict[str, Any]]) -> None:
    async with engine.begin() as conn:
        for start in range(0, len(rows), 5000):
            await conn.execute(insert(table), rows[start : start + 5000])


def _schedule_row(group: str, now: datetime) -> dict[str, Any]:
    """A one-off check-in for one group, due two minutes ago (72 hours to answer)."""
    due = (now - timedelta(minutes=2)).replace(second=0, microsecond=0)
    recurrence = Recurrence(kind="once", at=clock_time(due.hour, due.minute), on=due.date())
    return {
        "flow_id": CHECKIN_FLOW,
        "recurrence": recurrence.to_json(),
        "basis": "member",
        "audience": Audience(groups=(group,)).to_json(),
        "window_minutes": 72 * 60,
        "reminder_minutes": [],
        "status": ScheduleStatus.ACTIVE,
        "active_from": now - timedelta(days=1),
        "created_at": now,
        "updated_at": now,
    }


async def seed(engine: AsyncEngine, args: argparse.Namespace, people: People) -> None:
    """Everything stored before the clock starts, in set-based inserts."""
    now = datetime.now(UTC)
    since = now - timedelta(days=60)
    await migrate.upgrade(engine)
    members = [_member_row(COORDINATOR, "municipality", "coordinator", since)]
    for ids, group in (
        (people.answering, ANSWERING),
        (people.broadcast, BROADCAST),
        (people.checkin, CHECKIN),
    ):
        members += [_member_row(user_id, group, "member", since) for user_id in ids]
    await _insert(engine, Member, members)
    rng = random.Random(args.seed)
    answers = [
        {
            "flow_id": CHECKIN_FLOW,
            "question_key": RATED[n % len(RATED)],
            "kind": "scale",
            "value_number": float(rng.randint(1, 5)),
            "anonymous": True,
            "stakeholder_group": GROUPS[(n // len(RATED)) % len(GROUPS)],
            # stamped with their day only, as the bot stores anonymous answers
            "created_at": (now - timedelta(minutes=rng.randint(60, 60 * 24 * 56))).replace(
                hour=0, minute=0, second=0, microsecond=0
            ),
        }
        for n in range(args.answers)
    ]
    await _insert(engine, Answer, answers)
    # The default schedules stay out of the mix (they could fall due on a Monday morning).
    await _insert(
        engine,
        Schedule,
        [
            {**_schedule_row(OTHERS, now), "default_key": key, "status": ScheduleStatus.PAUSED}
            for key in ("trust_pulse_weekly", "partnership_review_quarterly")
        ],
    )
    await _insert(engine, Schedule, [_schedule_row(ANSWERING, now)])


async def while_locked(write: Callable[[], Awaitable[T]], patience: float) -> T:
    """`write()`, again while SQLite says the bot holds its write lock (up to `patience` s)."""
    deadline = time.monotonic() + patience
    while True:
        try:
            return await write()
        except OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            info("the database is locked by the bot; trying again")


async def add_checkin(engine: AsyncEngine) -> int:
    """The big check-in: added now, due already, so the bot's next sweep sends it."""
    async with engine.begin() as conn:
        result = await conn.execute(
            insert(Schedule).returning(col(Schedule.id)),
            [_schedule_row(CHECKIN, datetime.now(UTC))],
        )
        schedule_id = result.scalar_one()
        assert schedule_id is not None
        return schedule_id


async def add_broadcast(engine: AsyncEngine) -> None:
    """The coordinator's broadcast, confirmed for now: the bot's monitor releases it."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        coordinator = (
            await conn.execute(
                select(col(Member.id)).where(col(Member.telegram_user_id) == COORDINATOR)
            )
        ).scalar_one()
        await conn.execute(
            insert(Broadcast),
            [
                {
                    "created_by": coordinator,
                    "status": BroadcastStatus.SCHEDULED,
                    "audience": Audience(groups=(BROADCAST,)).to_json(),
                    "texts": {"en": "<b>Update</b>: the partnership meets on Friday."},
                    "urgent": True,
                    "send_at": now,
                    "created_at": now,
                }
            ],
        )


async def occurrence_recorded(engine: AsyncEngine, schedule_id: int) -> bool:
    async with engine.connect() as conn:
        found = await conn.execute(
            select(func.count())
            .select_from(ScheduleOccurrence)
            .where(col(ScheduleOccurrence.schedule_id) == schedule_id)
        )
        return int(found.scalar_one()) > 0


async def outbox_tally(engine: AsyncEngine) -> tuple[Counter[int], Counter[str], list[datetime]]:
    """Messages marked sent per chat, rows per status, and every send time."""
    async with engine.connect() as conn:
        sent = Counter[int]()
        times: list[datetime] = []
        rows = await conn.execute(
            select(col(OutboxMessage.chat_id), col(OutboxMessage.sent_at)).where(
                col(OutboxMessage.status) == OutboxStatus.SENT
            )
        )
        for chat_id, sent_at in rows:
            sent[int(chat_id)] += 1
            if sent_at is not None:
                times.append(sent_at if sent_at.tzinfo else sent_at.replace(tzinfo=UTC))
        statuses = Counter[str]()
        for status, count in await conn.execute(
            select(col(OutboxMessage.status), func.count()).group_by(col(OutboxMessage.status))
        ):
            statuses[str(status)] = int(count)
    return sent, statuses, times


async def pause_schedules(engine: AsyncEngine) -> None:
    """Nothing new falls due while the results are counted."""
    async with engine.begin() as conn:
        await conn.execute(update(Schedule).values(status=ScheduleStatus.PAUSED))


# ----------------------------------------------------------------------------- the mix


@dataclass
class Tally:
    """What the members and the coordinator saw."""

    latencies: list[float] = field(default_factory=list)
    # Seconds into the mix at which each step over the p99 target began (where the tail is).
    slow_at: Counter[int] = field(default_factory=Counter)
    began: float = field(default_factory=time.perf_counter)
    replies: Counter[int] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    gave_up: set[int] = field(default_factory=set)  # their later messages cannot be judged
    members_done: int = 0
    report_s: float | None = None
    export_s: float | None = None
    checkin_id: int | None = None


async def _post_text(http: aiohttp.ClientSession, base: str, user_id: int, text: str) -> None:
    async with http.post(
        f"{base}/_emulator/users/{user_id}/text",
        json={"text": text, "first_name": f"M{user_id}", "language_code": "en"},
    ) as resp:
        if resp.status != 200:
            raise RuntimeError(f"posting {text!r} failed: HTTP {resp.status}")
        await resp.read()


async def _wait(
    http: aiohttp.ClientSession, base: str, chat_id: int, count: int, timeout: float
) -> list[dict[str, Any]]:
    async with http.get(
        f"{base}/_emulator/chats/{chat_id}/wait",
        params={"count": str(count), "timeout": str(timeout)},
    ) as resp:
        body = await resp.json()
    if resp.status != 200:
        raise TimeoutError(f"chat {chat_id}: waited {timeout}s for {count} message(s)")
    return list(body)


async def member(
    http: aiohttp.ClientSession,
    base: str,
    user_id: int,
    pauses: list[float],
    args: argparse.Namespace,
    tally: Tally,
) -> None:
    """Wait for the check-in, then answer its seven steps, each after thinking."""
    try:
        # The check-in's first question, not just its opening part: a member answers what
        # they were asked (an answer typed before its question is shown is not taken).
        shown = await _wait(http, base, user_id, 1, args.first_message_timeout)
        while not any(m.get("buttons") for m in shown):
            shown = await _wait(http, base, user_id, len(shown) + 1, args.first_message_timeout)
        seen = len(shown)
        for typed, pause in zip(TYPED, pauses, strict=True):
            await asyncio.sleep(pause)
            seen = len(await _wait(http, base, user_id, seen, args.step_timeout))
            began = time.perf_counter()
            await _post_text(http, base, user_id, typed)
            await _wait(http, base, user_id, seen + 1, args.step_timeout)
            tally.latencies.append(time.perf_counter() - began)
            if tally.latencies[-1] * 1000 > TARGETS["step_p99_ms"]:
                tally.slow_at[int(began - tally.began)] += 1
            seen += 1
            tally.replies[user_id] += 1
    except (TimeoutError, RuntimeError, aiohttp.ClientError) as exc:
        tally.errors.append(f"member {user_id}: {exc}")
        tally.gave_up.add(user_id)
    finally:
        tally.members_done += 1


async def coordinator_asks(
    http: aiohttp.ClientSession, base: str, command: str, done: Any, timeout: float
) -> float:
    """Seconds from the coordinator's command to the bot's last answer to it."""
    async with http.get(f"{base}/_emulator/chats/{COORDINATOR}/messages") as resp:
        before = len(await resp.json())
    began = time.perf_counter()
    await _post_text(http, base, COORDINATOR, command)
    want = before + 1
    while True:
        messages = await _wait(http, base, COORDINATOR, want, timeout)
        if done(messages[before:]):
            return time.perf_counter() - began
        want = len(messages) + 1


def _report_done(messages: list[dict[str, Any]]) -> bool:
    return sum(1 for m in messages if m["kind"] == "photo") >= len(KINDS)


def _export_done(messages: list[dict[str, Any]]) -> bool:
    return any(m["kind"] == "document" for m in messages)


async def timeline(
    http: aiohttp.ClientSession,
    base: str,
    engine: AsyncEngine,
    args: argparse.Namespace,
    tally: Tally,
) -> None:
    """The broadcast, the report, the export and the big check-in, `--think` s apart."""
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def at(multiple: int) -> None:
        await asyncio.sleep(max(0.0, start + multiple * args.think - loop.time()))

    async def broadcast() -> None:
        await at(1)
        await while_locked(lambda: add_broadcast(engine), args.step_timeout)
        info("broadcast confirmed")

    async def report() -> None:
        await at(2)
        tally.report_s = await coordinator_asks(
            http, base, "/report all", _report_done, args.step_timeout
        )
        info(f"report answered in {tally.report_s:.2f}s")

    async def export() -> None:
        await at(3)
        tally.export_s = await coordinator_asks(
            http, base, "/export xlsx", _export_done, args.step_timeout
        )
        info(f"export answered in {tally.export_s:.2f}s")

    async def checkin() -> None:
        await at(4)
        tally.checkin_id = await while_locked(lambda: add_checkin(engine), args.step_timeout)
        info("check-in added; waiting for the bot's sweep")
        async with asyncio.timeout(args.sweep * 3 + args.step_timeout):
            while not await occurrence_recorded(engine, tally.checkin_id):
                await asyncio.sleep(0.5)
        info("check-in queued")

    async with asyncio.TaskGroup() as group:
        for job in (broadcast, report, export, checkin):
            group.create_task(job())


# ----------------------------------------------------------------------------- one store


def lag_histogram(text: str) -> dict[float, float]:
    """Cumulative bucket counts of the lag histogram, by upper bound."""
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        if family.name != LAG_METRIC:
            continue
        for sample in family.samples:
            if sample.name == f"{LAG_METRIC}_bucket":
                buckets[float(sample.labels["le"])] = sample.value
    if not buckets:
        raise RuntimeError(f"the bot's /metrics has no {LAG_METRIC}")
    return buckets


def bucket_quantile(buckets: dict[float, float], q: float) -> float | None:
    """Prometheus' histogram_quantile over cumulative buckets: linear within the bucket."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    rank = q * total
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = buckets[bound]
        if count >= rank:
            if math.isinf(bound):
                return lower
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = bound, count
    return lower


def bucket_max(buckets: dict[float, float]) -> float | None:
    """The upper bound of the highest bucket with samples in it (None past the last bound)."""
    bounds = sorted(buckets)
    total = buckets[bounds[-1]]
    if total <= 0:
        return None
    bound = next(bound for bound in bounds if buckets[bound] >= total)
    return None if math.isinf(bound) else bound


async def scrape(http: aiohttp.ClientSession, port: int) -> dict[float, float]:
    async with http.get(f"http://127.0.0.1:{port}/metrics") as resp:
        resp.raise_for_status()
        return lag_histogram(await resp.text())


def stalls_since(log: Path, offset: int) -> list[tuple[int, str]]:
    """The probe's warnings (ms, what held the loop) written to the bot's log past `offset`."""
    with log.open("rb") as handle:
        handle.seek(offset)
        text = handle.read().decode(errors="replace")
    return [(int(m.group(1)), m.group(2)) for m in map(STALL.search, text.splitlines()) if m]


@dataclass
class Store:
    """One store's database, emulator and bot."""

    name: str
    url: str
    workdir: Path
    schema: str | None = None
    engine: AsyncEngine | None = None
    emulator: Child | None = None
    bot: Child | None = None
    base: str = ""
    ops_port: int = 0

    async def open(self, args: argparse.Namespace, people: People) -> None:
        if self.name == "postgres":
            self.schema = f"mixed_{os.getpid()}_{secrets.token_hex(4)}"
            await _schema(self.url, self.schema, create=True)
        self.engine = create_engine(self.url, schema=self.schema)
        began = time.perf_counter()
        await seed(self.engine, args, people)
        info(f"[{self.name}] seeded in {time.perf_counter() - began:.1f}s")
        self.emulator = await spawn(
            f"{self.name}-emulator",
            [PYTHON, "-m", "bot.sandbox.emulator", "--host", "127.0.0.1", "--port", "0",
             "--global", str(RATE_PER_S), "--per-chat", str(PER_CHAT_PER_S),
             "--answer-window", str(ANSWER_WINDOW_S)],
            env=child_env({}),
            log_dir=self.workdir,
            stdout_pipe=True,
        )  # fmt: skip
        self.base = await read_line(self.emulator, args.startup_timeout)

    def bot_env(self, args: argparse.Namespace) -> dict[str, str]:
        settings = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.base,
            "DATABASE_URL": self.url,
            "FLOWS_DIR": str(REPO_ROOT / "flows"),
            "LOCALES_DIR": str(REPO_ROOT / "locales"),
            "LOG_LEVEL": "WARNING",
            "PARTNERSHIP_TIMEZONE": "UTC",
            "QUIET_HOURS_START": "00:00",
            "QUIET_HOURS_END": "00:00",
            "SEND_RATE_PER_S": str(RATE_PER_S),
            "SEND_PER_CHAT_PER_S": str(PER_CHAT_PER_S),
            "CHECKIN_SWEEP_S": str(args.sweep),
            "OPS_HOST": "127.0.0.1",
            "OPS_PORT": str(self.ops_port),
            "ANONYMITY_KEY": "bench-mixed-anonymity-key-0123456789",
        }
        if self.schema:
            settings["DATABASE_SCHEMA"] = self.schema
        return child_env(settings, drop=PARTNERBOT_ENV | settings.keys())

    async def start_bot(self, http: aiohttp.ClientSession, args: argparse.Namespace) -> None:
        self.ops_port = _free_port()
        self.bot = await spawn(
            f"{self.name}-bot",
            [PYTHON, "-m", "bot", "run"],
            env=self.bot_env(args),
            log_dir=self.workdir,
            cwd=self.workdir,
            cpus=args.bot_cpus,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + args.startup_timeout
        while loop.time() < deadline:
            if not self.bot.running:
                raise RuntimeError(f"the bot exited before it was ready:\n{self.bot.log_tail()}")
            async with http.get(f"{self.base}/_emulator/stats") as resp:
                stats = await resp.json()
            if stats.get("calls", {}).get("getUpdates", 0) >= 1:
                return
            await asyncio.sleep(0.1)
        raise RuntimeError(f"the bot was not ready within {args.startup_timeout}s")

    async def close(self) -> None:
        bot, self.bot = self.bot, None
        emulator, self.emulator = self.emulator, None
        engine, self.engine = self.engine, None
        schema, self.schema = self.schema, None
        try:
            if bot is not None:
                await stop_child(bot)
            if emulator is not None:
                await stop_child(emulator)
        finally:
            if engine is not None:
                await engine.dispose()
            if schema is not None:
                await _schema(self.url, schema, create=False)


async def mix(store: Store, args: argparse.Namespace, people: People) -> dict[str, Any]:
    """Seed, start, run the mix, stop the bot, count."""
    await store.open(args, people)
    assert store.engine is not None
    tally = Tally()
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=args.first_message_timeout + 60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        async with http.post(
            f"{store.base}/_emulator/chats/open", json={"chat_ids": people.chats()}
        ) as resp:
            resp.raise_for_status()
        await store.start_bot(http, args)
        assert store.bot is not None
        info(f"[{store.name}] bot ready; the mix starts")
        lag_before = await scrape(http, store.ops_port)
        log_offset = store.bot.log_path.stat().st_size
        cpu_before = cpu_seconds(store.bot.pid)
        began = time.perf_counter()
        wall_began = datetime.now(UTC)
        rng = random.Random(args.seed)
        pauses = {
            user_id: [args.think * rng.uniform(0.5, 1.5) for _ in TYPED]
            for user_id in people.answering
        }
        members = [
            asyncio.create_task(member(http, store.base, u, pauses[u], args, tally))
            for u in people.answering
        ]

        async def progress() -> None:
            while True:
                await asyncio.sleep(5)
                info(
                    f"[{store.name}] {len(tally.latencies)} steps, {tally.members_done}/"
                    f"{len(members)} members done, {len(tally.errors)} error(s)"
                )

        reporter = asyncio.create_task(progress())
        try:
            await timeline(http, store.base, store.engine, args, tally)
            await asyncio.gather(*members)
            await asyncio.sleep(max(0.0, args.duration - (time.perf_counter() - began)))
        finally:
            reporter.cancel()
            for task in members:
                task.cancel()
            await asyncio.gather(reporter, *members, return_exceptions=True)
        wall_s = time.perf_counter() - began
        wall_ended = datetime.now(UTC)
        lag_after = await scrape(http, store.ops_port)
        cpu_after = cpu_seconds(store.bot.pid)
        rss = peak_rss_mb(store.bot.pid)
        stalls = stalls_since(store.bot.log_path, log_offset)
        engine = store.engine
        await while_locked(lambda: pause_schedules(engine), args.step_timeout)
        code = await stop_child(store.bot)
        if code not in (0, -signal.SIGTERM):
            tally.errors.append(f"the bot exited with code {code}")
        async with http.get(f"{store.base}/_emulator/chats/counts") as resp:
            received = Counter({int(k): int(n) for k, n in (await resp.json()).items()})
        async with http.get(f"{store.base}/_emulator/stats") as resp:
            emulator_stats = await resp.json()
    sent, statuses, send_times = await outbox_tally(store.engine)
    for sample in tally.errors[:5]:
        info(f"[{store.name}] error: {sample}")

    # every chat but the coordinator's: the outbox's sent rows plus the replies members saw
    lost = duplicates = 0
    odd: list[str] = []  # a few chats that got more or fewer messages than they should have
    for chat in people.chats()[1:]:
        if chat in tally.gave_up:
            continue
        expected = sent[chat] + tally.replies[chat]
        got = received[chat]
        lost += max(0, expected - got)
        duplicates += max(0, got - expected)
        if got != expected and len(odd) < 5:
            odd.append(f"chat {chat}: {got} received, {sent[chat]} sent + {tally.replies[chat]}")
    lost += statuses.get(OutboxStatus.FAILED, 0)
    steps_missing = len(people.answering) * len(TYPED) - len(tally.latencies)
    lost += steps_missing

    # from the first send to the end of the mix, or to the last send if the outbox ran dry
    in_window = [t for t in send_times if wall_began <= t <= wall_ended]
    ratio = None
    if len(in_window) > 1:
        until = wall_ended if statuses.get(OutboxStatus.QUEUED, 0) else max(in_window)
        span = (until - min(in_window)).total_seconds()
        ratio = (len(in_window) - 1) / span / RATE_PER_S if span > 0 else None
    lag = {bound: lag_after[bound] - lag_before.get(bound, 0.0) for bound in lag_after}
    lag_p99 = bucket_quantile(lag, 0.99)
    # past 250 ms the probe's warnings are exact; below, the highest bucket's bound
    lag_max = max(ms for ms, _ in stalls) / 1000 if stalls else bucket_max(lag)
    cpu = None if cpu_before is None or cpu_after is None else cpu_after - cpu_before
    steps = len(tally.latencies)
    latencies_ms = [s * 1000 for s in tally.latencies]
    return {
        "step_p50_ms": rounded(percentile(latencies_ms, 50)),
        "step_p99_ms": rounded(percentile(latencies_ms, 99)),
        "step_max_ms": rounded(max(latencies_ms, default=None)),
        "loop_lag_p99_ms": rounded(None if lag_p99 is None else lag_p99 * 1000),
        "loop_lag_max_ms": rounded(None if lag_max is None else lag_max * 1000),
        "broadcast_ratio": rounded(ratio, 3),
        "lost": lost,
        "duplicates": duplicates,
        "report_s": rounded(tally.report_s),
        "export_s": rounded(tally.export_s),
        "slow_steps_at_s": dict(sorted(tally.slow_at.items())),
        "cpu_ms_per_step": rounded(None if cpu is None or not steps else 1000 * cpu / steps),
        "rss_mb": rss,
        "steps": steps,
        "errors": len(tally.errors),
        "wall_s": rounded(wall_s),
        "bot_cpu_s": rounded(cpu),
        "loop_lag_samples": int(lag[math.inf]),
        "loop_stalls": len(stalls),
        "loop_stall_top": [f"{ms} ms: {what}" for ms, what in sorted(stalls, reverse=True)[:3]],
        "miscounted_chats": odd,
        "outbox_sent_in_mix": len(in_window),
        "outbox": dict(statuses),
        "http_429": int(emulator_stats.get("errors", {}).get("429", 0)),
        "members": len(people.answering),
        "broadcast": len(people.broadcast),
        "checkin": len(people.checkin),
        "answers": args.answers,
    }


# ----------------------------------------------------------------------------- extras


async def sub_bench(
    script: str, args: list[str], env: dict[str, str], log_dir: Path
) -> dict[str, Any] | None:
    """Another benchmark's JSON line, or None if it failed (its stderr is in log_dir)."""
    child = await spawn(
        script.removesuffix(".py"),
        [PYTHON, str(REPO_ROOT / "bench" / script), *args],
        env=env,
        log_dir=log_dir,
        stdout_pipe=True,
    )
    try:
        assert child.process.stdout is not None
        out = await child.process.stdout.read()
    finally:
        code = await stop_child(child)
    lines = out.decode().strip().splitlines()
    if not lines:
        info(f"{script} printed nothing (exit {code}):\n{child.log_tail()}")
        return None
    result: dict[str, Any] = json.loads(lines[-1])
    return result


async def extras(store: str, url: str, args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    """Saturation steps/s beside the echo baseline, and step_cpu, on this store."""
    env = child_env({"BENCH_DATABASE_URL": url} if store == "postgres" else {})
    found: dict[str, Any] = {}
    if args.saturation_members:
        info(f"[{store}] saturation (flow_steps --think 0)")
        flow = await sub_bench(
            "flow_steps.py",
            ["--think", "0", "--rounds", "1", "--members", str(args.saturation_members),
             "--db", store],
            env,
            log_dir,
        )  # fmt: skip
        if flow is not None and "partnerbot" in flow:
            found["saturation_steps_per_s"] = flow["partnerbot"]["steps_per_s"]
            found["echo_steps_per_s"] = flow["echo"]["steps_per_s"]
            found["saturation_ratio"] = flow["ratio_steps_per_s"]
    if args.step_cpu_members:
        info(f"[{store}] step_cpu")
        cpu = await sub_bench(
            "step_cpu.py",
            ["--members", str(args.step_cpu_members), "--rounds", "1", "--db", store],
            env,
            log_dir,
        )
        if cpu is not None and "partnerbot_us_per_step" in cpu:
            found["step_cpu_us"] = cpu["partnerbot_us_per_step"]
            found["step_cpu_echo_us"] = cpu["echo_us_per_step"]
    return found


# ----------------------------------------------------------------------------- main


def judge(result: dict[str, Any]) -> dict[str, Any]:
    """Each target, met or not, for one store."""

    def below(key: str, limit: float) -> bool:
        value = result[key]
        return value is not None and value < limit

    return {
        "step_p99": below("step_p99_ms", TARGETS["step_p99_ms"]),
        "step_max": below("step_max_ms", TARGETS["step_max_ms"]),
        "loop_lag_p99": below("loop_lag_p99_ms", TARGETS["loop_lag_p99_ms"]),
        "loop_lag_max": below("loop_lag_max_ms", TARGETS["loop_lag_max_ms"]),
        "broadcast_ratio": result["broadcast_ratio"] is not None
        and result["broadcast_ratio"] >= TARGETS["broadcast_ratio_min"],
        "nothing_lost": result["lost"] == 0,
        "no_duplicates": result["duplicates"] == 0,
        "report": below("report_s", TARGETS["report_s"]),
        "export": below("export_s", TARGETS["export_s"]),
    }


def postgres_url(args: argparse.Namespace) -> str:
    url = (
        args.postgres_url
        or os.environ.get("BENCH_DATABASE_URL")
        or os.environ.get("TEST_DATABASE_URL")
    )
    if not url:
        raise RuntimeError(
            "PostgreSQL needs --postgres-url, BENCH_DATABASE_URL or TEST_DATABASE_URL"
        )
    return url


def place_bot(args: argparse.Namespace) -> None:
    """With --bot-core, the bot runs on a CPU of its own (the last this process may use) and
    this process, with the emulator it starts, on the others: the phones and Telegram are not
    on the bot's machine. PostgreSQL's server, a service of its own, is not placed."""
    args.bot_cpus = None
    if not args.bot_core:
        return
    allowed = sorted(os.sched_getaffinity(0))
    if len(allowed) < 2:
        raise SystemExit("mixed: --bot-core needs at least two CPUs")
    args.bot_cpus = frozenset(allowed[-1:])
    os.sched_setaffinity(0, allowed[:-1])


@contextlib.contextmanager
def all_cpus(args: argparse.Namespace) -> Iterator[None]:
    """The benchmarks after the mix run on every CPU, as without --bot-core."""
    if args.bot_cpus is None:
        yield
        return
    placed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, placed | args.bot_cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, placed)


async def amain(args: argparse.Namespace) -> int:
    people = People.of(args)
    place_bot(args)
    summary: dict[str, Any] = {
        "bench": "mixed",
        "stores": {},
        "cpus": os.cpu_count(),
        "bot_cpus": sorted(args.bot_cpus) if args.bot_cpus else None,
        "think_s": args.think,
        "rate_per_s": RATE_PER_S,
        "per_chat_per_s": PER_CHAT_PER_S,
        "seed": args.seed,
    }
    met: dict[str, dict[str, bool]] = {}
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mixed-")))
        else:
            workdir = args.keep
            workdir.mkdir(parents=True, exist_ok=False)
        for name in args.stores:
            run_dir = workdir / name
            run_dir.mkdir()
            try:
                url = postgres_url(args) if name == "postgres" else f"sqlite:///{run_dir}/mix.db"
                store = Store(name, url, run_dir)
                try:
                    result = await mix(store, args, people)
                finally:
                    await store.close()
                with all_cpus(args):
                    result.update(await extras(name, url, args, run_dir))
            except (RuntimeError, OSError, aiohttp.ClientError, TimeoutError) as exc:
                info(f"could not run on {name}: {exc}")
                emit({**summary, "error": f"{name}: {exc}"})
                return 2
            info(f"[{name}] {result}")
            summary["stores"][name] = result
            met[name] = judge(result)
    summary["targets"] = {
        **TARGETS,
        "met": {name: checks for name, checks in met.items()},
        "all_met": all(all(checks.values()) for checks in met.values()),
    }
    emit(summary)
    if any(result["errors"] for result in summary["stores"].values()):
        return 1
    return 1 if args.strict and not summary["targets"]["all_met"] else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mixed", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stores", default="sqlite,postgres", help="sqlite, postgres or both")
    parser.add_argument("--postgres-url", default=None)
    parser.add_argument("--members", type=int, default=1000, help="members answering (1000)")
    parser.add_argument("--broadcast", type=int, default=5000, help="broadcast recipients (5000)")
    parser.add_argument("--answers", type=int, default=100_000, help="stored answers (100000)")
    parser.add_argument("--checkin", type=int, default=20_000, help="check-in falling due (20000)")
    parser.add_argument("--duration", type=float, default=0.0, help="the mix lasts at least (s)")
    parser.add_argument("--think", type=float, default=5.0, help="mean think time (5 s)")
    parser.add_argument("--sweep", type=float, default=5.0, help="CHECKIN_SWEEP_S of the bot (5)")
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument(
        "--step-timeout", type=float, default=300.0,
        help="a member gives up on a reply after (300 s: a late reply counts in step_max)",
    )  # fmt: skip
    parser.add_argument("--startup-timeout", type=float, default=90.0)
    parser.add_argument(
        "--saturation-members", type=int, default=500, help="flow_steps --think 0 (0: skip)"
    )
    parser.add_argument("--step-cpu-members", type=int, default=400, help="step_cpu (0: skip)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--bot-core", action="store_true", help="the bot on a CPU of its own, the rest elsewhere"
    )
    parser.add_argument("--keep", type=Path, default=None, help="keep logs and databases here")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.stores = [s.strip() for s in args.stores.split(",") if s.strip()]
    if args.keep is not None:
        args.keep = args.keep.resolve()
    if not args.stores or set(args.stores) - {"sqlite", "postgres"}:
        raise SystemExit("mixed: --stores takes sqlite, postgres or both")
    if min(args.members, args.broadcast, args.checkin) < 1 or args.answers < 0:
        raise SystemExit("mixed: --members, --broadcast and --checkin must be at least 1")
    # The answering members' first questions wait behind nothing but each other at 30/s.
    args.first_message_timeout = args.members / RATE_PER_S * 3 + 300

    return run_stoppable(lambda: amain(args))


if __name__ == "__main__":
    sys.exit(main())
