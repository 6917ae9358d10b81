"""The sandbox's memory across restarts: a JSON file beside its database.

The emulator stands in for Telegram's servers, which remember chats and count updates while a
bot is down; that memory is not the bot's, so it stays out of the bot's database (whose schema
is the one production runs) and lives in `<database>.state.json`: the emulator's chats, users,
files and update counter, the page's personas and transcripts, and how far the sandbox clock
was moved. It is written shortly after each change and once more on the way out.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.sandbox.emulator import BotAPIEmulator

SAVE_DELAY_S = 1.0
log = logging.getLogger(__name__)


def state_path(database: Path) -> Path:
    """Where the sandbox on `database` keeps its state."""
    return database.with_suffix(".state.json")


def read_state(path: Path) -> dict[str, Any]:
    """The saved state, or nothing when there is none or it cannot be read (logged)."""
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("sandbox state %s is unreadable (%s); starting afresh", path, exc)
        return {}
    return state if isinstance(state, dict) else {}


def write_state(path: Path, state: dict[str, Any]) -> None:
    """Replace the saved state at once: a stop halfway leaves the previous file whole."""
    partial = path.with_name(path.name + ".partial")
    # readable by its owner only, like the database: it holds what the bot sent its members
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        json.dump(state, out, ensure_ascii=False)
    os.replace(partial, path)


class StateKeeper:
    """Writes `collect()` to `path` a moment after the emulator or `changed()` says so."""

    def __init__(
        self, path: Path, emulator: BotAPIEmulator, collect: Callable[[], dict[str, Any]]
    ) -> None:
        self.path = path
        self._emulator = emulator
        self._collect = collect
        self._due = asyncio.Event()
        self._events = emulator.subscribe()
        self._tasks = [
            asyncio.create_task(self._follow(), name="sandbox-state-events"),
            asyncio.create_task(self._save_when_due(), name="sandbox-state-save"),
        ]

    def changed(self) -> None:
        """Something outside the emulator changed (the clock): save soon."""
        self._due.set()

    async def stop(self) -> None:
        """Stop following and save one last time."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._emulator.unsubscribe(self._events)
        self._save()

    async def _follow(self) -> None:
        while True:
            await self._events.get()
            self._due.set()

    async def _save_when_due(self) -> None:
        while True:
            await self._due.wait()
            await asyncio.sleep(SAVE_DELAY_S)  # one write for a burst of messages
            self._due.clear()
            self._save()

    def _save(self) -> None:
        try:
            write_state(self.path, self._collect())
        except OSError:  # a full disk, say: the sandbox runs on and tries again next time
            log.exception("could not save the sandbox state to %s", self.path)
