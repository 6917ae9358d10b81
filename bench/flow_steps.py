"""flow_steps: N members complete onboarding at once against the real bot, over loopback.

Three processes: the Bot API emulator (``python -m bot.sandbox.emulator``), the bot under test
(``python -m bot run`` with its own database, or ``bench/echo_bot.py``) polling it, and this
process, which acts as the members through the emulator's ``/_emulator/`` control API.

Each member (user ids from 100000 up) types "/start", "1" (consent: yes), "1" (English), "skip"
(the partnership's time zone), "1" (Municipality), "Org <n>", "Officer", "2" (roles: not now).
After every answer the bench waits for the bot's reply and checks how many messages the chat
holds and what they say; a member whose conversation goes wrong counts as one error. A step's
latency runs from posting the update to the reply being visible to the member.

By default (``--baseline echo``) the same load first runs against a bare aiogram echo bot, then
against partnerbot, each with a fresh emulator and database (both start side by side, since
importing aiogram takes seconds, and are measured one after the other). The last stdout line
is the JSON result; progress goes to stderr. Targets: at saturation (``--think 0``) partnerbot
does at least half the echo bot's steps/s; with think time its p99 stays under 100 ms. Without
``--think`` both are measured, one after the other: saturation, then members who take 2.5-7.5 s
(mean 5 s) to read a question and answer it on a phone (``paced``). Saturation runs
``--rounds`` times (3) with fresh bots each time and reports the round with the median ratio,
listing every round's ratio: each bot's run lasts seconds, too short to ride out a hiccup of a
shared machine.
Exit status: 0 if every member got through, 1 if not (or, with ``--strict``, if a target was
missed), 2 if the benchmark itself could not run.

    .venv/bin/python bench/flow_steps.py                  # 500 members: saturation, then paced
    .venv/bin/python bench/flow_steps.py --think 0        # saturation only
    .venv/bin/python bench/flow_steps.py --think 1        # one think time only
    .venv/bin/python bench/flow_steps.py --db postgres    # BENCH_DATABASE_URL or local test db
    .venv/bin/python bench/flow_steps.py --db postgres --instances 2   # webhook, 2 processes
    .venv/bin/python bench/flow_steps.py --scale-out      # SQLite/PostgreSQL, 1 and 2 instances
    .venv/bin/python bench/flow_steps.py --members 20 --think 0   # smoke: seconds of load
    .venv/bin/python bench/flow_steps.py --baseline none --think 0 --profile /tmp/bot.prof
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import os
import pstats
import random
import re
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from _common import (
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

TOKEN = "123456:bench-token"
WEBHOOK_SECRET = "bench-webhook-secret"
FIRST_USER_ID = 100_000
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"
TARGET_RATIO_MIN = 0.5
TARGET_P99_MAX_MS = 100.0
# The paced regime's mean think time: reading a short question on a phone and answering it.
PACED_THINK_S = 5.0

# What a member types, and what partnerbot answers to each (read off flows/onboarding.yaml):
# "/start" shows the welcome (a `say` node) and then asks for consent, two messages; every
# accepted answer brings the next question, one message; "no" to the roles offer ends the flow
# with the closing text, one message. The wording itself comes from the locale catalogue.
ANSWERS = ("/start", "1", "1", "skip", "1", "Org {n}", "Officer", "2")
PARTNERBOT_REPLIES: tuple[tuple[str, ...], ...] = (
    ("onboarding.welcome", "onboarding.consent"),
    ("onboarding.language",),  # "1" = yes, I agree
    ("onboarding.time_zone",),  # "1" = English
    ("onboarding.group",),  # "skip": the partnership's time zone
    ("onboarding.organisation",),  # "1" = Municipality
    ("onboarding.role",),  # "Org <n>"
    ("onboarding.offer_roles",),  # "Officer"
    ("onboarding.later",),  # "2" = no, later: the closing text
)

_TAG = re.compile(r"<[^>]*>")

# `partnerbot run` under cProfile, timed in CPU seconds of the main thread (time.thread_time):
# waiting on the network costs nothing, so the numbers say
# where the event loop's CPU goes. argv[1] is where the stats go.
# Imports happen before profiling starts, so that one-off start-up work stays out of the numbers.
PROFILED_RUN = """
import cProfile, sys, time
import bot.app
from bot.cli import main
profiler = cProfile.Profile(time.thread_time)
try:
    code = profiler.runcall(main, ["run"])
finally:
    profiler.dump_stats(sys.argv[1])
sys.exit(code)
"""


# ----------------------------------------------------------------------------- the script


@dataclass(frozen=True)
class Expect:
    """One bot message a step must produce: its visible text starts with (or is) `text`."""

    text: str
    exact: bool = False

    def matches(self, shown: str) -> bool:
        shown = shown.strip()
        return shown == self.text if self.exact else shown.startswith(self.text)


@dataclass(frozen=True)
class Step:
    """What a member types, and the messages the bot must answer with."""

    answer: str
    replies: tuple[Expect, ...]

    def text_for(self, n: int) -> str:
        return self.answer.format(n=n)


Script = tuple[Step, ...]


def _visible(wording: str) -> str:
    """What a member sees of an HTML wording: tags dropped, entities decoded."""
    return html.unescape(_TAG.sub("", wording)).strip()


def partnerbot_script(locales_dir: Path) -> Script:
    """The onboarding answers, each with the wording partnerbot must reply with (English)."""
    from bot.i18n import Catalogs

    t = Catalogs.load(locales_dir, default="en").translator("en")
    steps = []
    for answer, keys in zip(ANSWERS, PARTNERBOT_REPLIES, strict=True):
        replies = []
        for key in keys:
            wording = t(key)
            if wording == key:
                raise SystemExit(f"flow_steps: no English wording for {key!r} in {locales_dir}")
            if "{" in wording:  # a placeholder: check the part before it
                replies.append(Expect(_visible(wording.split("{", 1)[0])))
            else:  # questions get answering instructions appended: check the beginning
                replies.append(Expect(_visible(wording), exact=key == PARTNERBOT_REPLIES[-1][0]))
        steps.append(Step(answer, tuple(replies)))
    return tuple(steps)


def echo_script() -> Script:
    """The same answers; the echo bot repeats each, "/start" twice."""
    steps = []
    for answer in ANSWERS:
        said = answer.format(n=0)
        # "Org {n}" is echoed with the member's number: check the part before it
        expect = Expect(said, exact=True) if said == answer else Expect(answer.split("{")[0])
        steps.append(Step(answer, (expect,) * (2 if answer == "/start" else 1)))
    return tuple(steps)


# ----------------------------------------------------------------------------- the members


class StepError(Exception):
    """A member's conversation did not go as the script says."""


@dataclass
class Progress:
    steps: int = 0
    errors: int = 0
    members_done: int = 0


@dataclass
class Load:
    """What one run measured on the member side."""

    latencies: list[float] = field(default_factory=list)
    steps: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    wall_s: float = 0.0


def _snippet(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _check_chat(messages: list[dict[str, Any]], seen: int, step: Step, n: int) -> None:
    want = seen + len(step.replies)
    if len(messages) != want:
        listing = ", ".join(_snippet(str(m.get("plain_text", "")), 30) for m in messages[seen:])
        raise StepError(
            f"after {step.text_for(n)!r} the chat holds {len(messages)} bot message(s), "
            f"expected {want}; new: [{listing}]"
        )
    for message, expect in zip(messages[seen:], step.replies, strict=True):
        shown = str(message.get("plain_text", ""))
        if not expect.matches(shown):
            raise StepError(
                f"after {step.text_for(n)!r} the bot said {_snippet(shown)}, "
                f"expected {'' if expect.exact else 'a text starting with '}"
                f"{_snippet(expect.text)}"
            )


async def _member(
    http: aiohttp.ClientSession,
    base: str,
    script: Script,
    index: int,
    pauses: Sequence[float],
    step_timeout: float,
    progress: Progress,
    latencies: list[float],
) -> None:
    """One member's whole onboarding; raises StepError (or an HTTP error) if it goes wrong."""
    user_id = FIRST_USER_ID + index
    n = index + 1
    seen = 0
    for number, step in enumerate(script):
        if number:
            await asyncio.sleep(pauses[number - 1])
        text = step.text_for(n)
        began = time.perf_counter()
        async with http.post(
            f"{base}/_emulator/users/{user_id}/text",
            json={"text": text, "first_name": f"Member{n}", "language_code": "en"},
        ) as resp:
            if resp.status != 200:
                raise StepError(f"posting {text!r} failed: HTTP {resp.status} {await resp.text()}")
            await resp.read()
        want = seen + len(step.replies)
        async with http.get(
            f"{base}/_emulator/chats/{user_id}/wait",
            params={"count": str(want), "timeout": str(step_timeout)},
        ) as resp:
            status = resp.status
            body = await resp.json()
        elapsed = time.perf_counter() - began
        if status != 200:
            got = body.get("messages", []) if isinstance(body, dict) else []
            raise StepError(
                f"after {text!r} waited {step_timeout}s for {want} bot message(s), "
                f"the chat holds {len(got)}"
            )
        _check_chat(body, seen, step, n)
        latencies.append(elapsed)
        progress.steps += 1
        seen = want
    # nothing arrived after the closing text
    async with http.get(f"{base}/_emulator/chats/{user_id}/messages") as resp:
        final = await resp.json()
    _check_chat(final, seen - len(script[-1].replies), script[-1], n)


async def drive(
    http: aiohttp.ClientSession, base: str, script: Script, args: argparse.Namespace, label: str
) -> Load:
    """All members through the script, started over --ramp seconds; never raises."""
    members: int = args.members
    rng = random.Random(args.seed)
    pauses = [
        [args.think * rng.uniform(0.5, 1.5) for _ in range(len(script) - 1)] for _ in range(members)
    ]
    load = Load()
    progress = Progress()
    loop = asyncio.get_running_loop()

    async def one(index: int, start_at: float) -> None:
        await asyncio.sleep(max(0.0, start_at - loop.time()))
        try:
            await _member(
                http, base, script, index, pauses[index], args.step_timeout, progress, latencies
            )
        except (StepError, aiohttp.ClientError, TimeoutError, ValueError) as exc:
            progress.errors += 1
            if len(load.error_samples) < 5:
                load.error_samples.append(f"member {FIRST_USER_ID + index}: {exc}")
        finally:
            progress.members_done += 1

    async def report() -> None:
        total = members * len(script)
        while True:
            await asyncio.sleep(2.0)
            info(
                f"[{label}] {progress.steps}/{total} steps, {progress.members_done}/{members} "
                f"members done, {progress.errors} error(s)"
            )

    latencies = load.latencies
    deadline = args.ramp + len(script) * (1.5 * args.think + 2 * args.step_timeout) + 30
    began = time.perf_counter()
    start = loop.time()
    tasks = [asyncio.create_task(one(i, start + args.ramp * i / members)) for i in range(members)]
    reporter = asyncio.create_task(report())
    try:
        _, pending = await asyncio.wait(tasks, timeout=deadline)
    finally:
        reporter.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(reporter, *tasks, return_exceptions=True)
    load.wall_s = time.perf_counter() - began
    if pending:  # cancelled above: each is a member who did not get through
        load.error_samples.append(f"{len(pending)} member(s) still running after {deadline:.0f}s")
    load.steps = progress.steps
    load.errors = progress.errors + len(pending)
    return load


# ----------------------------------------------------------------------------- the processes


def _postgres_url() -> str:
    return os.environ.get("BENCH_DATABASE_URL") or DEFAULT_POSTGRES_URL


async def _schema(url: str, schema: str, *, create: bool) -> None:
    from sqlalchemy import text

    from bot.storage.db import create_engine

    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            if create:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            else:
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await engine.dispose()


def _package(filename: str) -> str:
    """Who a profiled function belongs to: a site-packages distribution, bot, or the stdlib."""
    if filename.startswith("~") or filename.startswith("<"):
        return "builtins" if filename.startswith("~") else filename
    parts = Path(filename).parts
    if "site-packages" in parts:
        index = parts.index("site-packages")
        return parts[index + 1].removesuffix(".py") if len(parts) > index + 1 else filename
    if str(REPO_ROOT) in filename:
        return "/".join(Path(filename).relative_to(REPO_ROOT).parts[:2])
    return "stdlib/" + Path(filename).stem


def _print_profile(path: Path) -> None:
    """Where the bot's main thread spent its CPU: per package, then per function (self time)."""
    stats = pstats.Stats(str(path), stream=sys.stderr)
    raw: dict[tuple[str, int, str], tuple[Any, ...]] = stats.stats  # type: ignore[attr-defined]
    total = sum(entry[2] for entry in raw.values())
    by_package: dict[str, float] = {}
    for (filename, _, _), entry in raw.items():
        package = _package(filename)
        by_package[package] = by_package.get(package, 0.0) + entry[2]
    info(f"cProfile of the bot in {path}: {total:.1f} s of main-thread CPU; self time by package:")
    for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:20]:
        print(f"  {seconds:8.2f} s {100 * seconds / total:5.1f}%  {package}", file=sys.stderr)
    stats.sort_stats(pstats.SortKey.TIME).print_stats(30)
    stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(r"/bot/", 30)


@dataclass
class Rig:
    """One bot under test with its own emulator (and database): started, measured, stopped.

    `kind` is echo or partnerbot; `label` names the result. With `instances` > 1 (PostgreSQL
    only) partnerbot runs in webhook mode, N processes behind a round-robin balancer that
    runs in this process; with `webhook` a single instance does too.
    """

    kind: str
    run_dir: Path
    label: str = ""
    db: str = "sqlite"
    instances: int = 1
    webhook: bool = False
    script: Script = ()
    base: str = ""
    emulator: Child | None = None
    bots: list[Child] = field(default_factory=list)
    balancer: Any = None
    schema: str | None = None
    db_url: str | None = None
    profile: Path | None = None

    def __post_init__(self) -> None:
        self.label = self.label or self.kind
        self.webhook = self.webhook or self.instances > 1

    async def start(self, args: argparse.Namespace) -> None:
        """Emulator first (its URL is the bot's API server), then the database, then the bot."""
        self.run_dir.mkdir()
        pythonpath = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH")) if p)
        base_env = child_env({"PYTHONPATH": pythonpath})
        self.emulator = await spawn(
            f"{self.label}-emulator",
            [PYTHON, "-m", "bot.sandbox.emulator", "--host", "127.0.0.1", "--port", "0"],
            env=base_env,
            log_dir=self.run_dir,
            cwd=self.run_dir,
            stdout_pipe=True,
        )
        self.base = await read_line(self.emulator, args.startup_timeout)
        if not self.base.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"the emulator announced {self.base!r}, not a loopback URL")
        info(f"[{self.label}] emulator at {self.base}")

        env = {"BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": self.base, "LOG_LEVEL": args.bot_log_level}
        if self.kind == "partnerbot":
            self.script = partnerbot_script(args.locales_dir)
            env["FLOWS_DIR"] = str(args.flows_dir)
            env["LOCALES_DIR"] = str(args.locales_dir)
            if self.db == "postgres":
                self.db_url = _postgres_url()
                schema = f"bench_{os.getpid()}_{secrets.token_hex(4)}"
                await _schema(self.db_url, schema, create=True)
                self.schema = schema
                env["DATABASE_URL"] = self.db_url
                env["DATABASE_SCHEMA"] = schema
                info(f"[{self.label}] PostgreSQL schema {schema}")
            else:
                env["DATABASE_URL"] = f"sqlite:///{self.run_dir / 'bench.db'}"
            command = [PYTHON, "-m", "bot", "run"]
            if args.profile is not None and not self.webhook:
                self.profile = args.profile
                command = [PYTHON, "-c", PROFILED_RUN, str(args.profile)]
        else:
            self.script = echo_script()
            command = [PYTHON, str(REPO_ROOT / "bench" / "echo_bot.py")]
        if not self.webhook:
            # cwd is the run's own directory, so no `.env` file of a checkout leaks in
            self.bots = [
                await spawn(
                    self.label, command, env={**base_env, **env}, log_dir=self.run_dir,
                    cwd=self.run_dir,
                )
            ]  # fmt: skip
            return
        from bot.sandbox.balancer import Balancer

        ports = [_free_port() for _ in range(self.instances)]
        self.balancer = Balancer([f"http://127.0.0.1:{port}" for port in ports])
        public = await self.balancer.start() + "/telegram/webhook"
        for n, port in enumerate(ports):
            hook = {
                "WEBHOOK_URL": public,
                "WEBHOOK_SECRET": WEBHOOK_SECRET,
                "WEBHOOK_HOST": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
            }
            self.bots.append(
                await spawn(
                    f"{self.label}-{n + 1}",
                    [*command, "--webhook"],
                    env={**base_env, **env, **hook},
                    log_dir=self.run_dir,
                    cwd=self.run_dir,
                )
            )

    async def wait_ready(self, http: aiohttp.ClientSession, timeout: float) -> None:
        """Return once the bot polls (or every instance has registered its webhook)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        method, wanted = ("setWebhook", self.instances) if self.webhook else ("getUpdates", 1)
        while loop.time() < deadline:
            for bot in self.bots:
                if not bot.running:
                    raise RuntimeError(
                        f"{bot.name} exited with code {bot.process.returncode} before "
                        f"it was ready:\n{bot.log_tail()}"
                    )
            async with http.get(f"{self.base}/_emulator/stats") as resp:
                stats = await resp.json()
            if stats.get("calls", {}).get(method, 0) >= wanted:
                info(f"[{self.label}] ready ({method})")
                return
            await asyncio.sleep(0.05)
        tails = "\n".join(bot.log_tail() for bot in self.bots)
        raise RuntimeError(f"{self.label} was not ready within {timeout}s:\n{tails}")

    async def stop(self) -> None:
        """Stop the bots, then the emulator, then drop the database schema; idempotent."""
        bots, self.bots = self.bots, []
        emulator, self.emulator = self.emulator, None
        schema, self.schema = self.schema, None
        balancer, self.balancer = self.balancer, None
        try:
            codes = await asyncio.gather(*(stop_child(bot) for bot in bots))
            for bot, code in zip(bots, codes, strict=True):
                if code not in (0, -signal.SIGTERM):
                    info(f"[{bot.name}] exited with code {code}; its log:\n{bot.log_tail()}")
        finally:
            try:
                if balancer is not None:
                    await balancer.stop()
                if emulator is not None:
                    await stop_child(emulator)
            finally:
                if schema is not None and self.db_url is not None:
                    await _schema(self.db_url, schema, create=False)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _sum(values: Sequence[float | None]) -> float | None:
    return None if any(v is None for v in values) else sum(v for v in values if v is not None)


async def measure(
    rig: Rig, http: aiohttp.ClientSession, args: argparse.Namespace
) -> dict[str, Any]:
    """Run the members against a ready rig, stop it, and sum up."""
    bots, emulator = rig.bots, rig.emulator
    assert bots and emulator is not None
    info(f"[{rig.label}] {args.members} member(s) start over {args.ramp}s, think {args.think}s")
    cpu_before = {
        "bot": _sum([cpu_seconds(bot.pid) for bot in bots]),
        "emulator": cpu_seconds(emulator.pid),
        "client": cpu_seconds(),
    }
    load = await drive(http, rig.base, rig.script, args, rig.label)
    cpu_after = {
        "bot": _sum([cpu_seconds(bot.pid) for bot in bots]),
        "emulator": cpu_seconds(emulator.pid),
        "client": cpu_seconds(),
    }
    rss = _sum([peak_rss_mb(bot.pid) for bot in bots])
    async with http.get(f"{rig.base}/_emulator/stats") as resp:
        stats = await resp.json()
    for bot in bots:
        if not bot.running:
            load.errors = max(load.errors, 1)
            load.error_samples.append(f"{bot.name} exited with code {bot.process.returncode}")
    forwarded = dict(rig.balancer.forwarded) if rig.balancer is not None else None
    await rig.stop()
    if rig.profile is not None and rig.profile.exists():
        _print_profile(rig.profile)

    for sample in load.error_samples:
        info(f"[{rig.label}] error: {sample}")
    cpu = {
        f"{name}_cpu_s": rounded(after - before)
        for name, after in cpu_after.items()
        if after is not None and (before := cpu_before[name]) is not None
    }
    result: dict[str, Any] = {
        "steps": load.steps,
        "steps_per_s": rounded(load.steps / load.wall_s if load.wall_s > 0 else 0.0, 1),
        "p50_ms": rounded(_ms(percentile(load.latencies, 50))),
        "p90_ms": rounded(_ms(percentile(load.latencies, 90))),
        "p99_ms": rounded(_ms(percentile(load.latencies, 99))),
        "max_ms": rounded(_ms(max(load.latencies, default=None))),
        "rss_mb": rounded(rss, 1),
        "errors": load.errors,
        "wall_s": rounded(load.wall_s, 3),
        **cpu,
        "api_requests": stats.get("requests"),
        "api_errors": sum(int(v) for v in stats.get("errors", {}).values()),
    }
    if rig.kind == "partnerbot":
        result.update(db=rig.db, instances=rig.instances, webhook=rig.webhook)
    if forwarded is not None:
        result["webhook_posts"] = stats.get("webhook_posts")
        result["webhook_failures"] = stats.get("webhook_failures")
        result["per_instance"] = list(forwarded.values())
    if load.error_samples:
        result["error_samples"] = load.error_samples
    info(f"[{rig.label}] {result}")
    return result


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000


# ----------------------------------------------------------------------------- main


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    def parse(text: str) -> float:
        value = kind(text)
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative: {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="flow_steps", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--members", type=int, default=500, help="simulated members (500)")
    parser.add_argument(
        "--think", type=_positive(float), default=None,
        help="mean pause between a member's steps in seconds, uniform 0.5x-1.5x;\n"
        f"0 = saturation (default: saturation, then {PACED_THINK_S:g} s)",
    )  # fmt: skip
    parser.add_argument(
        "--ramp", type=_positive(float), default=2.0, help="members start over this many s (2)"
    )
    parser.add_argument(
        "--rounds", type=int, default=3,
        help="saturation is measured this many times, each time with fresh bots side by\n"
        "side; the round with the median ratio is reported (3)",
    )  # fmt: skip
    parser.add_argument("--seed", type=int, default=20260101, help="think-time RNG seed")
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--instances", type=int, default=1,
        help="partnerbot processes (PostgreSQL only past 1): webhook mode behind a\n"
        "round-robin balancer (1)",
    )  # fmt: skip
    parser.add_argument(
        "--webhook", action="store_true", help="one instance in webhook mode instead of polling"
    )
    parser.add_argument(
        "--scale-out", action="store_true",
        help="in one run: SQLite and PostgreSQL with one polling instance, PostgreSQL with\n"
        "one webhook instance and with --instances (at least 2) behind the balancer",
    )  # fmt: skip
    parser.add_argument(
        "--baseline", choices=("echo", "none", "only"), default="echo",
        help="echo: the echo bot, then partnerbot, side by side (default);\n"
        "none: partnerbot only; only: the echo bot only",
    )  # fmt: skip
    parser.add_argument(
        "--step-timeout", type=_positive(float), default=30.0, help="max wait for a reply (30)"
    )
    parser.add_argument(
        "--startup-timeout", type=_positive(float), default=60.0, help="max wait for a bot (60)"
    )
    parser.add_argument(
        "--profile", type=Path, default=None,
        help="run partnerbot under cProfile, write the stats here and print the top",
    )  # fmt: skip
    parser.add_argument(
        "--bot-log-level", default="WARNING", help="LOG_LEVEL of the bots (WARNING)"
    )
    parser.add_argument(
        "--keep", type=Path, default=None,
        help="a new directory to keep the logs and databases in (default: a temporary one)",
    )  # fmt: skip
    parser.add_argument("--flows-dir", type=Path, default=REPO_ROOT / "flows")
    parser.add_argument("--locales-dir", type=Path, default=REPO_ROOT / "locales")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed, too")
    return parser


def targets(phases: dict[float, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    """Saturation (think 0): steps/s at least half the echo bot's; with think time: p99."""
    ratio_ok = p99_ok = None
    for think, results in phases.items():
        partnerbot = results.get("partnerbot")
        ratio = _ratio(results)
        if think == 0 and ratio is not None:
            ratio_ok = ratio >= TARGET_RATIO_MIN
        if think > 0 and partnerbot is not None and partnerbot["p99_ms"] is not None:
            p99_ok = partnerbot["p99_ms"] < TARGET_P99_MAX_MS
    errors = sum(r["errors"] for results in phases.values() for r in results.values())
    met = errors == 0 and all(ok for ok in (ratio_ok, p99_ok) if ok is not None)
    return {
        "ratio_min": TARGET_RATIO_MIN,
        "ratio_ok": ratio_ok,
        "p99_max_ms": TARGET_P99_MAX_MS,
        "p99_ok": p99_ok,
        "met": met,
    }


def _ratio(results: dict[str, dict[str, Any]]) -> float | None:
    partnerbot, echo = results.get("partnerbot"), results.get("echo")
    if partnerbot is None or echo is None or not echo["steps_per_s"]:
        return None
    return round(float(partnerbot["steps_per_s"]) / float(echo["steps_per_s"]), 3)


_RUN_FAILURES = (RuntimeError, OSError, aiohttp.ClientError)


def plan(args: argparse.Namespace) -> list[Rig]:
    """The rigs to measure: the baseline and partnerbot as asked, or the scale-out set."""
    kinds = {"echo": ("echo", "partnerbot"), "none": ("partnerbot",), "only": ("echo",)}
    rigs: list[Rig] = []
    for kind in kinds[args.baseline]:
        if kind == "echo":
            rigs.append(Rig("echo", Path("echo")))
        elif args.scale_out:
            # Side by side in one run: SQLite and PostgreSQL with one polling instance, then
            # PostgreSQL with one and with N webhook instances behind the balancer.
            n = max(2, args.instances)
            rigs.append(Rig("partnerbot", Path("partnerbot")))
            rigs.append(Rig("partnerbot", Path("pg1"), label="partnerbot_pg", db="postgres"))
            rigs.append(
                Rig("partnerbot", Path("pgw1"), label="partnerbot_pg_webhook", db="postgres",
                    webhook=True)
            )  # fmt: skip
            rigs.append(
                Rig("partnerbot", Path(f"pg{n}"), label=f"partnerbot_pg_x{n}", db="postgres",
                    instances=n)
            )  # fmt: skip
        else:
            rigs.append(
                Rig("partnerbot", Path("partnerbot"), db=args.db, instances=args.instances,
                    webhook=args.webhook)
            )  # fmt: skip
    return rigs


async def run_all(
    rigs: Sequence[Rig], args: argparse.Namespace, workdir: Path
) -> dict[str, dict[str, Any]]:
    """Start every rig at once (start-up is slow: imports), then measure one after another."""
    for rig in rigs:
        rig.run_dir = workdir / rig.run_dir
    results: dict[str, dict[str, Any]] = {}
    async with contextlib.AsyncExitStack() as stack:
        for rig in rigs:
            stack.push_async_callback(rig.stop)
        connector = aiohttp.TCPConnector(limit=0)
        timeout = aiohttp.ClientTimeout(total=args.step_timeout + 30)
        http = await stack.enter_async_context(
            aiohttp.ClientSession(connector=connector, timeout=timeout)
        )
        async with asyncio.TaskGroup() as group:
            for rig in rigs:
                group.create_task(rig.start(args))
        async with asyncio.TaskGroup() as group:
            for rig in rigs:
                group.create_task(rig.wait_ready(http, args.startup_timeout))
        for rig in rigs:
            results[rig.label] = await measure(rig, http, args)
    return results


async def measure_rounds(
    args: argparse.Namespace, workdir: Path
) -> tuple[dict[str, dict[str, Any]], list[float | None]]:
    """Saturation, side by side with the echo bot, `--rounds` times; the round with the median
    ratio, and every round's ratio. One run of each bot lasts seconds, and on a shared machine
    one hiccup in either moves a single ratio by a tenth."""
    side_by_side = args.baseline == "echo" and not args.scale_out
    rounds = args.rounds if args.think == 0 and side_by_side else 1
    tries = []
    for n in range(rounds):
        round_dir = workdir if rounds == 1 else workdir / f"round-{n + 1}"
        round_dir.mkdir(exist_ok=True)
        if rounds > 1:
            info(f"round {n + 1} of {rounds}")
        tries.append(await run_all(plan(args), args, round_dir))
    ratios = [_ratio(results) for results in tries]
    if rounds == 1:
        return tries[0], ratios
    ordered = sorted(range(rounds), key=lambda i: ratios[i] or 0.0)
    return tries[ordered[(rounds - 1) // 2]], ratios


async def amain(args: argparse.Namespace) -> int:
    summary: dict[str, Any] = {
        "bench": "flow_steps",
        "members": args.members,
        "steps": args.members * len(ANSWERS),
        "db": "sqlite+postgres" if args.scale_out else args.db,
        "instances": args.instances,
        "think_s": args.think if args.think is not None else [0.0, PACED_THINK_S],
        "ramp_s": args.ramp,
        "seed": args.seed,
        "cpus": os.cpu_count(),
    }
    thinks = [args.think] if args.think is not None else [0.0, PACED_THINK_S]
    phases: dict[float, dict[str, dict[str, Any]]] = {}
    ratios: dict[float, list[float | None]] = {}
    with contextlib.ExitStack() as stack:
        if args.keep is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="flow_steps-")))
        else:
            workdir = args.keep
            workdir.mkdir(parents=True, exist_ok=False)
            info(f"logs and databases are kept in {workdir}")
        for think in thinks:
            phase = argparse.Namespace(**{**vars(args), "think": think})
            phase_dir = workdir if len(thinks) == 1 else workdir / f"think-{think:g}"
            phase_dir.mkdir(exist_ok=True)
            failure: str | None = None
            try:
                phases[think], ratios[think] = await measure_rounds(phase, phase_dir)
            except ExceptionGroup as group:  # from starting the rigs side by side
                expected, unexpected = group.split(_RUN_FAILURES)
                if unexpected is not None or expected is None:
                    raise
                failure = "; ".join(str(exc) for exc in expected.exceptions)
            except _RUN_FAILURES as exc:
                failure = str(exc)
            if failure is not None:
                info(f"could not run: {failure}")
                emit({**summary, "error": failure})
                return 2
    if len(thinks) == 1:
        results = phases[thinks[0]]
        summary.update(results)
        summary["ratio_steps_per_s"] = _ratio(results)
        if len(ratios[thinks[0]]) > 1:
            summary["round_ratios"] = ratios[thinks[0]]
    else:
        for name, think in (("saturation", 0.0), ("paced", PACED_THINK_S)):
            results = phases[think]
            summary[name] = {"think_s": think, **results, "ratio_steps_per_s": _ratio(results)}
            if len(ratios[think]) > 1:
                summary[name]["round_ratios"] = ratios[think]
        summary["ratio_steps_per_s"] = _ratio(phases[0.0])
    summary["targets"] = targets(phases)
    emit(summary)
    if any(r["errors"] for results in phases.values() for r in results.values()):
        return 1
    return 1 if args.strict and not summary["targets"]["met"] else 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.members < 1:
        raise SystemExit("flow_steps: --members must be at least 1")
    if args.instances < 1:
        raise SystemExit("flow_steps: --instances must be at least 1")
    if args.rounds < 1:
        raise SystemExit("flow_steps: --rounds must be at least 1")
    if args.instances > 1 and args.db != "postgres" and not args.scale_out:
        raise SystemExit("flow_steps: several instances share a database: use --db postgres")
    args.flows_dir = args.flows_dir.resolve()
    args.locales_dir = args.locales_dir.resolve()
    if args.profile is not None:
        args.profile = args.profile.resolve()
    if args.keep is not None:
        args.keep = args.keep.resolve()

    return run_stoppable(lambda: amain(args))


if __name__ == "__main__":
    sys.exit(main())
