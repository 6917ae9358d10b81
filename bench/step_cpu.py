"""step_cpu: the CPU one onboarding step costs partnerbot, fed to its dispatcher in-process.

flow_steps measures whole processes on a shared machine, where the emulator and the members
compete with the bot for two cores; its ratio moves with every hiccup. This script measures
only the bot's own work, with little noise: the real dispatcher and database (``BotApp``, SQLite
in a temporary directory) in this process, the Bot API emulator in another. Members' updates
(the same eight answers as flow_steps, a step's updates fed concurrently, as polling does) go
straight to ``Dispatcher.feed_update``; the replies go to the emulator over loopback. The CPU
time of this process per step is the result, side by side with two floors fed the same updates
on the same bot: a one-handler echo dispatcher (no database), and the durable floor, the echo
with the fewest statements an answer that survives a crash and a reply that cannot be lost need
(the update id claimed, the member read, the answer and the reply's outbox row written, a
commit; the send; the reply recorded as sent in a second commit) through the bot's own storage
calls and engine. Parsing an
update is included; polling is not. Last, the CPU of one hand-off to a worker thread and back
(aiosqlite makes a few per statement), which moves the SQLite figures from machine to machine.

Rounds alternate echo, the durable floor and partnerbot with new members each time; the
medians are reported.

    .venv/bin/python bench/step_cpu.py [--members 400] [--rounds 3]
    .venv/bin/python bench/step_cpu.py --db postgres   # BENCH_DATABASE_URL or the local test db
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
    PYTHON,
    REPO_ROOT,
    child_env,
    emit,
    info,
    read_line,
    rounded,
    spawn,
    stop_child,
)
from aiogram import Bot, Dispatcher, Router
from aiogram.types import Message, Update
from echo_bot import echo
from flow_steps import ANSWERS, _postgres_url, _schema

from bot.app import BotApp
from bot.cli import tune_collector
from bot.config import Settings
from bot.storage import outbox, repo
from bot.storage.db import SessionFactory

TOKEN = "123456:" + "B" * 35
REPLIES_PER_MEMBER = 9  # welcome + consent, then one question or closing text per answer
WARM_UP_MEMBERS = 50
DISPATCHERS = 3  # echo, the durable floor, partnerbot


def echo_dispatcher() -> Dispatcher:
    """The floor: `bench/echo_bot.py`'s handler without its filter, on the same bot and
    session as partnerbot's."""
    router = Router(name="echo")
    router.message.register(echo)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


def durable_floor_dispatcher(sessions: SessionFactory) -> Dispatcher:
    """The least a durable step costs on this stack: the echo handler with the bot's own
    storage calls that an answer surviving a crash and a reply that cannot be lost need at the
    very least: the update id claimed, the member looked up, the answer and the reply's outbox
    row written (leased, as a reply is), one commit; then the send, and the reply recorded as
    sent (and deleted) in a second commit. No flow, no rendering, no middleware; partnerbot's
    step does all of these and more."""

    async def durable_echo(message: Message) -> None:
        assert message.from_user is not None
        text = message.text or ""
        now = datetime.now(UTC)
        async with sessions() as session:
            await repo.claim_update(session, update_id=message.message_id, now=now)
            await repo.get_member_by_telegram_id(session, telegram_user_id=message.from_user.id)
            await repo.add_answer(
                session, run_id=None, member_id=None, flow_id="floor", question_key="echo",
                kind="text", value=text, anonymous=False, stakeholder_group=None, now=now,
            )  # fmt: skip
            rows = await outbox.enqueue(
                session, chat_id=message.chat.id, member_id=None, text=text,
                source=outbox.REPLY, lease_until=now + timedelta(days=1), lease_owner="floor",
                now=now,
            )  # fmt: skip
            await session.commit()
        sent = await message.answer(text)
        if text.startswith("/start"):
            await message.answer(text)  # as echo does, so that both send the same messages
        async with sessions() as session:
            pairs = [(row, sent.message_id) for row in rows]
            await outbox.record_sent_many(session, sent=pairs, now=datetime.now(UTC))
            await session.commit()

    router = Router(name="durable_floor")
    router.message.register(durable_echo)
    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    return dispatcher


class Updates:
    """Telegram-shaped updates from members, numbered as Telegram would."""

    def __init__(self) -> None:
        self.next_id = 0

    def text(self, user_id: int, text: str) -> dict[str, Any]:
        self.next_id += 1
        person = {"id": user_id, "is_bot": False, "first_name": f"M{user_id}"}
        message: dict[str, Any] = {
            "message_id": self.next_id,
            "date": 1_764_000_000,
            "chat": {"id": user_id, "type": "private", "first_name": person["first_name"]},
            "from": {**person, "language_code": "en"},
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return {"update_id": self.next_id, "message": message}


async def onboard(bot: Bot, dispatcher: Dispatcher, updates: Updates, users: range) -> None:
    """Every member of `users` through the eight answers, each step's updates at once."""

    async def feed(raw: dict[str, Any]) -> None:
        update = Update.model_validate(raw, context={"bot": bot})
        await dispatcher.feed_update(bot, update)

    for answer in ANSWERS:
        await asyncio.gather(*(feed(updates.text(u, answer.format(n=u))) for u in users))


async def sent_messages(http: aiohttp.ClientSession, base: str) -> int:
    async with http.get(f"{base}/_emulator/stats") as resp:
        stats = await resp.json()
    return int(stats.get("calls", {}).get("sendMessage", 0))


async def handoff_us(count: int = 2000) -> float:
    """CPU µs of one hand-off to a worker thread and back, as aiosqlite makes for every cursor
    call (a few per statement): what a statement on SQLite costs beyond SQLite's own work
    depends on it, and it varies with the machine (a virtual CPU's wake-ups)."""
    loop = asyncio.get_running_loop()
    started = time.process_time()
    for _ in range(count):
        await loop.run_in_executor(None, int)
    return 1e6 * (time.process_time() - started) / count


async def measured(run: Awaitable[None]) -> float:
    """CPU seconds this process spends until `run` is done."""
    started = time.process_time()
    await run
    return time.process_time() - started


async def amain(args: argparse.Namespace) -> int:
    members, rounds = args.members, args.rounds
    first_user = 200_000
    total_users = (WARM_UP_MEMBERS + members * rounds) * DISPATCHERS
    with tempfile.TemporaryDirectory(prefix="step_cpu-") as workdir:
        emulator = await spawn(
            "emulator",
            [PYTHON, "-m", "bot.sandbox.emulator", "--host", "127.0.0.1", "--port", "0"],
            env=child_env({"PYTHONPATH": str(REPO_ROOT)}),
            log_dir=Path(workdir),
            stdout_pipe=True,
        )
        app: BotApp | None = None
        database_url, schema = f"sqlite:///{workdir}/step_cpu.db", None
        if args.db == "postgres":
            database_url, schema = _postgres_url(), f"step_cpu_{os.getpid()}_{secrets.token_hex(4)}"
            await _schema(database_url, schema, create=True)
        try:
            base = await read_line(emulator, timeout=60)
            async with aiohttp.ClientSession() as http:
                # The emulator only delivers to chats it knows: each member says hello first.
                for user in range(first_user, first_user + total_users):
                    async with http.post(
                        f"{base}/_emulator/users/{user}/text", json={"text": "hello"}
                    ) as resp:
                        await resp.read()
                settings = Settings(
                    _env_file=None,
                    bot_token=TOKEN,
                    telegram_api_url=base,
                    database_url=database_url,
                    database_schema=schema,
                    flows_dir=REPO_ROOT / "flows",
                    locales_dir=REPO_ROOT / "locales",
                    anonymity_key="step-cpu-anonymity-key-0123456789",
                )
                app = BotApp(settings)
                await app.prepare()
                app.start_sender()  # sends the replies the updates write to the outbox
                assert app.bot is not None and app.dispatcher is not None
                bot = app.bot
                dispatchers = {
                    "echo": echo_dispatcher(),
                    "durable_floor": durable_floor_dispatcher(app.session_factory),
                    "partnerbot": app.dispatcher,
                }
                updates = Updates()
                fresh = first_user

                def take(count: int) -> range:
                    nonlocal fresh
                    fresh += count
                    return range(fresh - count, fresh)

                for dispatcher in dispatchers.values():
                    await onboard(bot, dispatcher, updates, take(WARM_UP_MEMBERS))
                tune_collector()  # as `partnerbot run` does once started
                per_step: dict[str, list[float]] = {name: [] for name in dispatchers}
                steps = members * len(ANSWERS)
                for n in range(rounds):
                    for name, dispatcher in dispatchers.items():
                        group = take(members)
                        before = await sent_messages(http, base)
                        seconds = await measured(onboard(bot, dispatcher, updates, group))
                        replies = await sent_messages(http, base) - before
                        expected = members * REPLIES_PER_MEMBER
                        if replies != expected:
                            error = f"{name} sent {replies} messages, not {expected}"
                            info(error)
                            emit({"bench": "step_cpu", "error": error})
                            return 1
                        per_step[name].append(1e6 * seconds / steps)
                        info(f"round {n + 1}: {name} {per_step[name][-1]:.0f} us per step")
        finally:
            if app is not None:
                await app.stop()
            await stop_child(emulator)
            if schema is not None:
                await _schema(database_url, schema, create=False)
    echo_us = statistics.median(per_step["echo"])
    thread_handoff_us = await handoff_us()
    floor_us = statistics.median(per_step["durable_floor"])
    partnerbot_us = statistics.median(per_step["partnerbot"])
    emit(
        {
            "bench": "step_cpu",
            "members": members,
            "steps": members * len(ANSWERS),
            "rounds": rounds,
            "db": args.db,
            "echo_us_per_step": rounded(echo_us, 0),
            "partnerbot_us_per_step": rounded(partnerbot_us, 0),
            "durable_floor_us_per_step": rounded(floor_us, 0),
            "echo_rounds": [rounded(v, 0) for v in per_step["echo"]],
            "durable_floor_rounds": [rounded(v, 0) for v in per_step["durable_floor"]],
            "partnerbot_rounds": [rounded(v, 0) for v in per_step["partnerbot"]],
            "partnerbot_over_echo": rounded(partnerbot_us / echo_us),
            "partnerbot_over_durable_floor": rounded(partnerbot_us / floor_us),
            "thread_handoff_us": rounded(thread_handoff_us, 0),
        }
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="step_cpu", description=__doc__)
    parser.add_argument("--members", type=int, default=400, help="members per round (400)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of each dispatcher (3)")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args(argv)
    if args.members < 1 or args.rounds < 1:
        raise SystemExit("step_cpu: --members and --rounds must be at least 1")
    return asyncio.run(amain(args))


if __name__ == "__main__":
    sys.exit(main())
