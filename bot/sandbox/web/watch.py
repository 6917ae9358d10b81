"""Noticing edits to flows and wording by polling modification times (no extra dependency)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)
Snapshot = dict[str, tuple[int, int]]


def snapshot(directories: Iterable[Path]) -> Snapshot:
    """(mtime, size) of every file under the directories, by path."""
    found: Snapshot = {}
    for directory in directories:
        if not directory.is_dir():
            continue
        for path in directory.rglob("*"):
            # a file can vanish between listing and stat while an editor saves it
            with contextlib.suppress(OSError):
                if path.is_file() and not path.name.startswith((".", "#")):
                    stat = path.stat()
                    found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


async def watch(
    directories: Iterable[Path],
    on_change: Callable[[], Awaitable[None]],
    *,
    interval: float = 1.0,
) -> None:
    """Call `on_change` whenever a file under the directories appears, changes or goes away."""
    directories = list(directories)
    seen = await asyncio.to_thread(snapshot, directories)
    while True:
        await asyncio.sleep(interval)
        now = await asyncio.to_thread(snapshot, directories)
        if now != seen:
            seen = now
            try:
                await on_change()
            except Exception:  # a failed reload must not stop the watching
                log.exception("reloading after a change failed")
