"""Event-loop lag: a probe task measures how late the loop runs a timer, and a watchdog thread
names what held the loop when one iteration ran past a threshold.

A probe that wakes late knows how long it waited, not who made it wait: by then the culprit has
returned. So a thread watches the probe's heartbeat; once the loop has missed it for a while, it
reads the loop thread's stack with the documented `sys._current_frames()`, and when the probe
wakes past the threshold it logs one warning naming that stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

log = logging.getLogger(__name__)
# How often the probe wakes: a lag sample per wake-up, 40 a second. It may see an iteration up
# to this much shorter than it was. Probe and watchdog together cost 5-8 ms of CPU a second
# (measured on the shared two-core machine).
PROBE_INTERVAL_S = 0.025
# An iteration longer than this stops every member's reply for a noticeable moment.
WARN_AFTER_S = 0.25
# The watchdog looks at the loop thread's stack once the heartbeat is this late: early enough
# to catch a call that holds the loop just past WARN_AFTER_S, late enough to be rare. It looks
# every WATCH_EVERY_S, well within the 150 ms that leaves.
SNAPSHOT_AFTER_S = 0.1
WATCH_EVERY_S = 0.05
STACK_FRAMES = 6
PACKAGE = str(Path(__file__).resolve().parent.parent) + "/"


def _where(entry: traceback.FrameSummary) -> str:
    path = Path(entry.filename)
    return f"{entry.name} ({path.parent.name}/{path.name}:{entry.lineno})"


def describe(frame: FrameType | None) -> str:
    """The innermost frames of a stack, innermost first (`function (dir/file.py:line) < ...`),
    and the innermost of partnerbot's own if none of those is."""
    if frame is None:
        return "unknown (no stack was read while the loop was held)"
    stack = traceback.extract_stack(frame)
    shown = stack[-STACK_FRAMES:]
    text = " < ".join(_where(entry) for entry in reversed(shown))
    ours = [entry for entry in stack if entry.filename.startswith(PACKAGE)]
    if ours and ours[-1] not in shown:
        text += f"; in partnerbot: {_where(ours[-1])}"
    return text


class LoopProbe:
    """Samples event-loop lag into `observe` and warns, once per stall, naming what ran."""

    def __init__(
        self,
        observe: Callable[[float], None],
        *,
        interval: float = PROBE_INTERVAL_S,
        warn_after: float = WARN_AFTER_S,
        snapshot_after: float = SNAPSHOT_AFTER_S,
    ) -> None:
        self.observe = observe
        self.interval = interval
        self.warn_after = warn_after
        self.snapshot_after = min(snapshot_after, warn_after)
        self.samples = 0
        self.stalls = 0
        self._heartbeat = time.monotonic()
        # The stack the watchdog saw during the current stall, and the heartbeat it belongs to.
        self._seen: tuple[float, str] | None = None
        self._task: asyncio.Task[None] | None = None
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def start(self) -> None:
        """Start the probe task on the running loop and the watchdog thread beside it."""
        if self._task is not None:
            return
        self._stopped.clear()
        self._heartbeat = time.monotonic()
        self._task = asyncio.get_running_loop().create_task(self._sample(), name="loop-probe")
        self._thread = threading.Thread(
            target=self._watch,
            args=(threading.get_ident(),),
            name="loop-watchdog",
            daemon=True,
        )
        self._thread.start()

    async def stop(self) -> None:
        """Stop both; idempotent."""
        task, self._task = self._task, None
        thread, self._thread = self._thread, None
        self._stopped.set()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if thread is not None:
            await asyncio.to_thread(thread.join)

    async def _sample(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            due = loop.time() + self.interval
            await asyncio.sleep(self.interval)
            lag = max(0.0, loop.time() - due)
            beat, self._heartbeat = self._heartbeat, time.monotonic()
            self.samples += 1
            self.observe(lag)
            if lag > self.warn_after:
                self.stalls += 1
                seen = self._seen
                ran = seen[1] if seen is not None and seen[0] == beat else describe(None)
                log.warning("the event loop was held for %.0f ms by %s", lag * 1000, ran)

    def _watch(self, loop_thread: int) -> None:
        while not self._stopped.wait(WATCH_EVERY_S):
            beat = self._heartbeat
            late = time.monotonic() - beat - self.interval
            if late > self.snapshot_after and (self._seen is None or self._seen[0] != beat):
                frame = sys._current_frames().get(loop_thread)
                self._seen = (beat, describe(frame))
