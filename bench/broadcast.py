"""broadcast: one message to each of N members through the outbox, against enforced limits.

Three processes: the Bot API emulator (``python -m bot.sandbox.emulator --global RATE
--per-chat PER_CHAT``, the same limits the sender is given), the bot (``python -m bot run``:
the outbox sender runs inside it, exactly as in production), and this process. This process
creates the members, a broadcast and its N outbox rows in the database and commits them before
the bot starts, then watches the emulator and the database until the outbox is drained, and
finally counts what every chat received.

Modes (combinable):
  (default)        achieved send rate against the configured one; no 429 may come from pacing
  --faults         3 % of the chats blocked (403), 1 % of sends answered 502 at random (seeded),
                   and a burst of 429s from the server once 30 % are delivered
  --crash-at 0.5   SIGKILL the bot once half the messages arrived and start it again (with the
                   default lease; the restarted bot takes back at start the rows its killed
                   run held, bot/delivery/leases.py): nothing may be
                   lost, duplicates stay within the documented bound (`send_concurrency`, see
                   bot/delivery/__init__.py), and the outbox drains within
                   `DRAIN_AFTER_CRASH_MAX_S` of the kill (`drain_after_crash_s`)

The last stdout line is the JSON result; progress goes to stderr. Exit status 0 when every
target was met, 1 when not, 2 when the benchmark could not run.

    .venv/bin/python bench/broadcast.py                     # 3000 recipients at 300/s
    .venv/bin/python bench/broadcast.py --faults
    .venv/bin/python bench/broadcast.py --crash-at 0.5
    .venv/bin/python bench/broadcast.py --db postgres       # BENCH_DATABASE_URL or local test db
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import secrets
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    read_line,
    rounded,
    run_stoppable,
    spawn,
    stop_child,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.storage import migrate, outbox, outbox_figures, repo
from bot.storage.db import SessionFactory, create_engine, create_session_factory
from bot.storage.models import BroadcastStatus

TOKEN = "123456:bench-token"
FIRST_USER_ID = 100_000
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
DELIVERY_ENV = frozenset(
    {
        "SEND_RATE_PER_S",
        "SEND_PER_CHAT_PER_S",
        "SEND_GROUP_PER_MIN",
        "PAID_BROADCAST",
        "PAID_BROADCAST_RATE_PER_S",
        "SEND_LEASE_S",
        "SEND_MAX_ATTEMPTS",
        "SEND_CONCURRENCY",
    }
)
BLOCKED_SHARE = 0.03
ERROR_RATE = 0.01
BURST_AT = 0.3
BURST_429S = 3
DRAIN_AFTER_CRASH_MAX_S = 10.0
TARGET_RATIO_MIN = 0.95
POLL_S = 0.2
# The database is asked whether the outbox is drained only this often until the emulator has
# seen enough messages, so that the benchmark itself does not compete with the sender.
DEPTH_EVERY_S = 2.0


@dataclass
class Run:
    """The processes and database of one benchmark run."""

    args: argparse.Namespace
    workdir: Path
    base: str = ""
    db_url: str = ""
    schema: str | None = None
    emulator: Child | None = None
    bot: Child | None = None
    engine: AsyncEngine | None = None
    session_factory: SessionFactory | None = None
    blocked: list[int] = field(default_factory=list)
    broadcast_id: int = 0
    restarts: int = 0

    async def start_emulator(self) -> None:
        """The emulator with the limits the sender is configured with (and faults if asked)."""
        args = self.args
        command = [PYTHON, "-m", "bot.sandbox.emulator", "--host", "127.0.0.1", "--port", "0"]
        command += ["--global", str(args.rate), "--per-chat", str(args.per_chat)]
        if args.faults:
            command += ["--error-rate", str(ERROR_RATE), "--seed", str(args.seed)]
        self.emulator = await spawn(
            "emulator", command, env=child_env({}), log_dir=self.workdir, stdout_pipe=True
        )
        self.base = await read_line(self.emulator, args.startup_timeout)
        info(f"emulator at {self.base} ({args.rate}/s overall, {args.per_chat}/s per chat)")

    def bot_env(self) -> dict[str, str]:
        args = self.args
        settings = {
            "BOT_TOKEN": TOKEN,
            "TELEGRAM_API_URL": self.base,
            "DATABASE_URL": self.db_url,
            "FLOWS_DIR": str(REPO_ROOT / "flows"),
            "LOCALES_DIR": str(REPO_ROOT / "locales"),
            "LOG_LEVEL": args.bot_log_level,
            "SEND_RATE_PER_S": str(args.rate),
            "SEND_PER_CHAT_PER_S": str(args.per_chat),
            "SEND_CONCURRENCY": str(args.concurrency),
        }
        if args.lease is not None:
            settings["SEND_LEASE_S"] = str(args.lease)
        if self.schema:
            settings["DATABASE_SCHEMA"] = self.schema
        return child_env(settings, drop=PARTNERBOT_ENV | DELIVERY_ENV)

    async def start_bot(self) -> None:
        """`partnerbot run`, in the run's directory so no checkout `.env` leaks in."""
        name = "bot" if self.restarts == 0 else f"bot-{self.restarts}"
        self.bot = await spawn(
            name,
            [PYTHON, "-m", "bot", "run"],
            env=self.bot_env(),
            log_dir=self.workdir,
            cwd=self.workdir,
        )

    async def prepare_database(self) -> None:
        """N members, a broadcast to them and its N outbox rows, committed before the bot runs."""
        args = self.args
        if args.db == "postgres":
            self.db_url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_POSTGRES_URL
            self.schema = f"bench_{os.getpid()}_{secrets.token_hex(4)}"
            await _schema(self.db_url, self.schema, create=True)
        else:
            self.db_url = f"sqlite:///{self.workdir / 'broadcast.db'}"
        self.engine = engine = create_engine(self.db_url, schema=self.schema)
        await migrate.upgrade(engine)
        self.session_factory = create_session_factory(engine)
        now = datetime.now(UTC)
        async with self.session_factory() as session:
            broadcast = await repo.create_broadcast(
                session,
                created_by=None,
                audience={},
                texts={"en": "bench"},
                media_kind=None,
                media_file_id=None,
                urgent=True,
                send_at=now,
                status=BroadcastStatus.SENDING,
                now=now,
            )
            assert broadcast.id is not None
            self.broadcast_id = broadcast.id
            for n in range(args.recipients):
                member = await repo.create_member(
                    session,
                    telegram_user_id=FIRST_USER_ID + n,
                    chat_id=FIRST_USER_ID + n,
                    display_name=f"Member {n}",
                    language="en",
                    now=now,
                )
                await outbox.enqueue(
                    session,
                    chat_id=member.chat_id,
                    member_id=member.id,
                    text=f"<b>Update</b> for member {member.id}: the partnership meets on Friday.",
                    language="en",
                    source=f"broadcast:{broadcast.id}",
                    broadcast_id=broadcast.id,
                    dedupe_key=f"broadcast:{broadcast.id}:member:{member.id}",
                    now=now,
                )
            broadcast.total = args.recipients
            session.add(broadcast)
            await session.commit()
        info(f"{args.recipients} members and outbox rows committed ({args.db})")

    async def close(self) -> None:
        """Stop the bot and the emulator, drop the database schema; idempotent."""
        bot, self.bot = self.bot, None
        emulator, self.emulator = self.emulator, None
        engine, self.engine = self.engine, None
        schema, self.schema = self.schema, None
        try:
            if bot is not None:
                code = await stop_child(bot)
                if code not in (0, -signal.SIGTERM):
                    info(f"the bot exited with code {code}:\n{bot.log_tail()}")
            if emulator is not None:
                await stop_child(emulator)
        finally:
            if engine is not None:
                await engine.dispose()
            if schema is not None:
                await _schema(self.db_url, schema, create=False)


async def _schema(url: str, schema: str, *, create: bool) -> None:
    from sqlalchemy import text

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            verb = (
                f'CREATE SCHEMA "{schema}"'
                if create
                else f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'
            )
            await conn.execute(text(verb))
    finally:
        await engine.dispose()


async def _get(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as response:
        response.raise_for_status()
        return await response.json()


async def _post(http: aiohttp.ClientSession, url: str, body: dict[str, Any]) -> Any:
    async with http.post(url, json=body) as response:
        response.raise_for_status()
        return await response.json()


async def _depth(run: Run) -> dict[str, int]:
    assert run.session_factory is not None
    async with run.session_factory() as session:
        return await outbox_figures.outbox_depth(session)


async def drive(run: Run, http: aiohttp.ClientSession) -> dict[str, Any]:
    """Start the bot, inject faults or the crash when due, wait until the outbox is drained."""
    args = run.args
    loop = asyncio.get_running_loop()
    control = f"{run.base}/_emulator"
    chats = [FIRST_USER_ID + n for n in range(args.recipients)]
    await _post(http, f"{control}/chats/open", {"chat_ids": chats})
    if args.faults:
        chooser = random.Random(args.seed)
        run.blocked = sorted(chooser.sample(chats, round(len(chats) * BLOCKED_SHARE)))
        for chat_id in run.blocked:
            await _post(http, f"{control}/chats/{chat_id}/block", {"blocked": True})
        info(f"{len(run.blocked)} chats blocked; {ERROR_RATE:.0%} of sends fail with 502")
    started = loop.time()
    await run.start_bot()
    burst_sent = False
    crash: dict[str, Any] = {}
    killed_at = 0.0
    deadline = started + args.timeout
    next_depth_check = started
    while True:
        now = loop.time()
        if now > deadline:
            raise RuntimeError(f"the outbox was not drained within {args.timeout}s")
        assert run.bot is not None
        if not run.bot.running:
            raise RuntimeError(f"the bot exited early:\n{run.bot.log_tail()}")
        stats = await _get(http, f"{control}/stats")
        sent = int(stats["messages_sent"])
        if args.faults and not burst_sent and sent >= BURST_AT * args.recipients:
            await _post(
                http,
                f"{control}/faults",
                {
                    "method": "sendMessage",
                    "status": 429,
                    "description": "Too Many Requests: retry after 1",
                    "count": BURST_429S,
                    "retry_after": 1,
                },
            )
            burst_sent = True
            info(f"{sent} delivered: {BURST_429S} 429s injected")
        if args.crash_at is not None and not crash and sent >= args.crash_at * args.recipients:
            run.bot.process.send_signal(signal.SIGKILL)
            killed_at = loop.time()
            await run.bot.process.wait()
            depth = await _depth(run)
            crash = {"crashed_after": sent, "in_flight_at_crash": depth["sending"]}
            info(f"{sent} delivered: bot killed with {depth['sending']} message(s) claimed")
            run.restarts += 1
            await run.start_bot()
        expected = args.recipients - len(run.blocked)
        if now >= next_depth_check or sent >= expected:
            next_depth_check = now + DEPTH_EVERY_S
            if await _depth(run) == {"queued": 0, "sending": 0}:
                break
        await asyncio.sleep(POLL_S)
    wall = loop.time() - started
    info(f"outbox drained in {wall:.1f}s")
    if crash:
        crash["drain_after_crash_s"] = loop.time() - killed_at
        info(f"drained {crash['drain_after_crash_s']:.1f}s after the kill")
    assert run.emulator is not None
    cpu = {"bot_cpu_s": cpu_seconds(run.bot.pid), "emulator_cpu_s": cpu_seconds(run.emulator.pid)}
    return {"wall_s": wall, **cpu, **crash}


async def collect(run: Run, http: aiohttp.ClientSession, drove: dict[str, Any]) -> dict[str, Any]:
    """What each chat received, against what it should have."""
    args = run.args
    control = f"{run.base}/_emulator"
    stats = await _get(http, f"{control}/stats")
    counts = {int(k): int(n) for k, n in (await _get(http, f"{control}/chats/counts")).items()}
    assert run.session_factory is not None
    async with run.session_factory() as session:
        statuses = await outbox_figures.broadcast_counts(session, broadcast_id=run.broadcast_id)
        reasons = await outbox_figures.broadcast_failures(session, broadcast_id=run.broadcast_id)
    blocked = set(run.blocked)
    reachable = [FIRST_USER_ID + n for n in range(args.recipients)]
    reachable = [c for c in reachable if c not in blocked]
    delivered = sum(1 for c in reachable if counts.get(c, 0) >= 1)
    duplicates = sum(max(0, n - 1) for n in counts.values())
    sent = int(stats["messages_sent"])
    first, last = stats["first_message_at"], stats["last_message_at"]
    achieved = (sent - 1) / (last - first) if sent > 1 and last > first else None
    errors = {int(code): int(n) for code, n in stats["errors"].items()}
    mode = "+".join(
        name for name, on in (("faults", args.faults), ("crash", args.crash_at is not None)) if on
    )
    result: dict[str, Any] = {
        "bench": "broadcast",
        "mode": mode or "normal",
        "sender": "python -m bot run",
        "db": args.db,
        "recipients": args.recipients,
        "blocked": len(blocked),
        "delivered": delivered,
        "lost": len(reachable) - delivered,
        "duplicates": duplicates,
        "configured_rate": args.rate,
        "achieved_rate": rounded(achieved, 1),
        "ratio": rounded(None if achieved is None else achieved / args.rate, 3),
        "http_429": errors.get(429, 0),
        "http_429_pacing": int(stats["throttled"]),
        "http_5xx": sum(n for code, n in errors.items() if code >= 500),
        "wall_s": rounded(drove["wall_s"], 2),
        "send_s": rounded(None if last is None or first is None else last - first, 2),
        "bot_cpu_s": rounded(drove["bot_cpu_s"], 2),
        "emulator_cpu_s": rounded(drove["emulator_cpu_s"], 2),
        "statuses": {k: v for k, v in statuses.items() if v},
        "reasons": reasons,
        "per_chat_rate": args.per_chat,
        "concurrency": args.concurrency,
    }
    if args.crash_at is not None:
        result["crash_at"] = args.crash_at
        result["crashed_after"] = drove.get("crashed_after")
        result["in_flight_at_crash"] = drove.get("in_flight_at_crash")
        result["bound"] = args.concurrency
        result["drain_after_crash_s"] = rounded(drove.get("drain_after_crash_s"), 2)
    result["targets"] = targets(result, args)
    return result


def targets(result: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Whether the run met its targets (rate only when nothing slowed it on purpose)."""
    checks = {
        "lost_zero": result["lost"] == 0,
        "no_429_from_pacing": result["http_429_pacing"] == 0,
    }
    if args.crash_at is None:
        checks["duplicates_zero"] = result["duplicates"] == 0
    else:
        checks["duplicates_within_bound"] = result["duplicates"] <= result["bound"]
        drained = result["drain_after_crash_s"]
        checks["drained_soon_after_crash"] = (
            drained is not None and drained <= DRAIN_AFTER_CRASH_MAX_S
        )
    if not args.faults and args.crash_at is None:
        ratio = result["ratio"]
        checks["ratio_min"] = ratio is not None and ratio >= TARGET_RATIO_MIN
    return {**checks, "ratio_min": TARGET_RATIO_MIN, "met": all(checks.values())}


async def amain(args: argparse.Namespace) -> int:
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="broadcast-")))
        else:
            workdir = args.keep
            workdir.mkdir(parents=True, exist_ok=False)
        run = Run(args, workdir)
        try:
            await run.start_emulator()
            await run.prepare_database()
            async with aiohttp.ClientSession() as http:
                drove = await drive(run, http)
                assert run.bot is not None
                await stop_child(run.bot)
                result = await collect(run, http, drove)
        except (RuntimeError, OSError, aiohttp.ClientError) as exc:
            info(f"could not run: {exc}")
            emit({"bench": "broadcast", "error": str(exc)})
            return 2
        finally:
            await run.close()
    emit(result)
    return 0 if result["targets"]["met"] else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipients", type=int, default=3000)
    parser.add_argument("--rate", type=float, default=300.0, help="sends/s, sender and emulator")
    parser.add_argument("--per-chat", type=float, default=10.0, help="sends/s to one chat")
    parser.add_argument("--faults", action="store_true", help="blocked chats, 5xx, a 429 burst")
    parser.add_argument(
        "--crash-at", type=float, default=None, help="SIGKILL the bot at this share delivered"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="SEND_CONCURRENCY")
    parser.add_argument(
        "--lease", type=float, default=None, help="SEND_LEASE_S (default: the bot's)"
    )
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=300.0, help="give up after (s)")
    parser.add_argument("--startup-timeout", type=float, default=30.0)
    parser.add_argument("--bot-log-level", default="WARNING")
    parser.add_argument("--keep", type=Path, default=None, help="keep logs and db in this dir")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.recipients < 1:
        raise SystemExit("broadcast: --recipients must be at least 1")
    if args.crash_at is not None and not 0 < args.crash_at < 1:
        raise SystemExit("broadcast: --crash-at must be within (0, 1)")
    if args.keep is not None:
        args.keep = args.keep.resolve()

    return run_stoppable(lambda: amain(args))


if __name__ == "__main__":
    sys.exit(main())
