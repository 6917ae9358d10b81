"""Shared helpers for the benchmarks: child processes, peak RSS, percentiles, the JSON line.

Every benchmark prints progress to stderr and exactly one JSON object as its last stdout line.
Child processes are started in their own session, die with the benchmark (PR_SET_PDEATHSIG on
Linux) and are always stopped in ``finally`` blocks through :func:`stop_child`.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import math
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# Settings partnerbot reads from the environment; a benchmark sets the ones it needs and must
# not inherit the others from the caller's shell (pydantic-settings matches names ignoring case).
PARTNERBOT_ENV = frozenset(
    {
        "BOT_TOKEN",
        "DATABASE_URL",
        "DATABASE_SCHEMA",
        "TELEGRAM_API_URL",
        "TELEGRAM_TIMEOUT",
        "DEFAULT_LOCALE",
        "PARTNERSHIP_TIMEZONE",
        "ADMIN_IDS",
        "FLOWS_DIR",
        "LOCALES_DIR",
        "LOG_LEVEL",
        "REQUEST_RETRIES",
    }
)

_started = time.monotonic()


def info(message: str) -> None:
    """One progress line on stderr, stamped with seconds since the benchmark started."""
    print(f"[{time.monotonic() - _started:7.2f}s] {message}", file=sys.stderr, flush=True)


def emit(result: Mapping[str, Any]) -> None:
    """Print the benchmark's result: one compact JSON object on one stdout line."""
    print(json.dumps(result, separators=(",", ":"), allow_nan=False), flush=True)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0..100) with linear interpolation, like numpy's default."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, not {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def rounded(value: float | None, digits: int = 2) -> float | None:
    """round() that lets None through (an empty measurement)."""
    return None if value is None else round(value, digits)


def peak_rss_mb(pid: int) -> float | None:
    """Peak resident set size (VmHWM) of a live process in MiB; None if it cannot be read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            kib = int(line.split()[1])
            return round(kib / 1024, 1)
    return None


def child_env(
    overrides: Mapping[str, str], *, drop: Iterable[str] = PARTNERBOT_ENV
) -> dict[str, str]:
    """The caller's environment without the `drop` names (any case), plus `overrides`."""
    dropped = {name.upper() for name in drop}
    env = {k: v for k, v in os.environ.items() if k.upper() not in dropped}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)


@dataclass
class Child:
    """A child process started by :func:`spawn`; its stderr goes to `log_path`."""

    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the child wrote to stderr."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


async def spawn(
    name: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    log_dir: Path,
    cwd: Path | None = None,
    stdout_pipe: bool = False,
    cpus: frozenset[int] | None = None,
) -> Child:
    """Start `args` (stdout piped if asked, else discarded; stderr to log_dir/<name>.log), on
    `cpus` only if given."""

    def before_exec() -> None:  # pragma: no cover - runs in the child between fork and exec
        _die_with_parent()
        if cpus:
            os.sched_setaffinity(0, cpus)

    log_path = log_dir / f"{name}.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            *args,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if stdout_pipe else asyncio.subprocess.DEVNULL,
            stderr=log_file,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            preexec_fn=before_exec if sys.platform == "linux" else None,
        )
    info(f"started {name} (pid {process.pid})")
    return Child(name, process, log_path)


async def read_line(child: Child, timeout: float) -> str:
    """The next stdout line of a child started with stdout_pipe=True."""
    stream = child.process.stdout
    if stream is None:
        raise RuntimeError(f"{child.name} was started without a stdout pipe")
    try:
        async with asyncio.timeout(timeout):
            raw = await stream.readline()
    except TimeoutError:
        raise RuntimeError(f"{child.name} printed nothing within {timeout}s") from None
    if not raw:
        raise RuntimeError(
            f"{child.name} exited (code {await child.process.wait()}) before printing a line:\n"
            f"{child.log_tail()}"
        )
    return raw.decode().strip()


async def stop_child(child: Child, timeout: float = 15.0) -> int:
    """SIGTERM the child, wait up to `timeout`, then SIGKILL; return its exit code."""
    process = child.process
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout):
                await process.wait()
        except TimeoutError:
            info(f"{child.name} ignored SIGTERM for {timeout}s; killing it")
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    code = process.returncode
    assert code is not None
    return code


def cpu_seconds(pid: int | None = None) -> float | None:
    """User + system CPU time a live process (default: this one) has used so far."""
    if pid is None:
        times = os.times()
        return times.user + times.system
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # the command name (field 2) may hold spaces; the fields after it are space-separated
    fields = stat[stat.rindex(")") + 2 :].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def run_stoppable(main: Callable[[], Awaitable[int]]) -> int:
    """Run `main` on a new event loop; SIGTERM cancels it, so children are stopped in order."""

    async def guarded() -> int:
        task = asyncio.current_task()
        assert task is not None
        with contextlib.suppress(NotImplementedError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        return await main()

    return asyncio.run(guarded())
