"""CPU-heavy pure builds (export files) in a worker process, beside the event loop.

A worker thread shares the interpreter with the event loop: while it builds a 100,000-answer
file, every member's reply waits its turn for the interpreter lock (docs/benchmarks.md, mixed).
A process of its own runs on another core and gives its memory back when it ends.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import ParamSpec, TypeVar

WORKER_NICENESS = 10
P = ParamSpec("P")
T = TypeVar("T")


class Offload:
    """Runs module-level functions over picklable arguments in a worker process started for
    each call; `close` ends those still running. With `in_process`, in a thread instead (the
    command line has no event loop to keep free)."""

    def __init__(self, *, in_process: bool = False) -> None:
        self.in_process = in_process
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        call = functools.partial(fn, *args, **kwargs)
        if self.in_process:
            return await asyncio.to_thread(call)
        pool = self._pool or self._start()
        try:
            # Submitting may start the worker (a fork and exec): in a thread, not on the loop.
            return await asyncio.wrap_future(await asyncio.to_thread(pool.submit, call))
        except BrokenProcessPool:
            # The worker died (killed, out of memory): the next call starts afresh.
            if self._pool is pool:
                self._pool = None
            pool.shutdown(wait=False)
            raise

    def _start(self) -> ProcessPoolExecutor:
        # spawn, not fork: a forked child copies the parent's threads' locks (aiosqlite's,
        # the lag probe's) in whatever state they were. One task per process: a large build's
        # memory goes back to the system when it ends.
        # At a lower priority: on a machine with few cores, the bot's replies get the CPU first.
        self._pool = ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("spawn"),
            max_tasks_per_child=1,
            initializer=os.nice,
            initargs=(WORKER_NICENESS,),
        )
        return self._pool

    def close(self) -> None:
        """End the worker (a build still running is abandoned)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
