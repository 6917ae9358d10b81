"""The export worker process: it runs beside the event loop, and one that dies is replaced."""

from __future__ import annotations

import os
from concurrent.futures.process import BrokenProcessPool

import pytest

from bot.services.offload import WORKER_NICENESS, Offload


def where(value: int) -> tuple[int, int]:
    return os.getpid(), value * 2


def niceness() -> int:
    return os.nice(0)


def die() -> None:
    os._exit(9)  # as the kernel's out-of-memory killer would end it


async def test_work_runs_in_another_process_and_a_dead_worker_is_replaced() -> None:
    offload = Offload()
    try:
        pid, doubled = await offload.run(where, 21)
        assert (doubled, pid != os.getpid()) == (42, True)
        with pytest.raises(BrokenProcessPool):
            await offload.run(die)
        again, _ = await offload.run(where, 1)
        assert again not in (os.getpid(), pid)
    finally:
        offload.close()


async def test_the_worker_yields_the_cpu_to_the_bot() -> None:
    offload = Offload()
    try:
        assert await offload.run(niceness) == os.nice(0) + WORKER_NICENESS
    finally:
        offload.close()


async def test_in_process_work_runs_here() -> None:
    pid, doubled = await Offload(in_process=True).run(where, 2)
    assert (pid, doubled) == (os.getpid(), 4)
