"""What every command group shares: the settings, the database, the plain-text renderer."""

from __future__ import annotations

import asyncio
import html
import re
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import ValidationError

from bot.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.i18n import Translator
    from bot.storage.db import SessionFactory

_TAG = re.compile(r"<[^>]+>")


def load_settings() -> Settings:
    """The settings from the environment and `.env`; exits naming each bad one."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise SystemExit(f"partnerbot: bad settings: {problems}") from None


def plain(text: str) -> str:
    """Chat HTML (the catalogs' wording) as terminal text."""
    return html.unescape(_TAG.sub("", text))


def say(text: str, *, error: bool = False) -> None:
    """One line on standard output, or on standard error for a problem."""
    (sys.stderr if error else sys.stdout).write(text + "\n")


def since_option(text: str | None, *, option: str = "--since") -> datetime | None:
    """A `YYYY-MM-DD` option as the UTC moment that day starts; exits on anything else."""
    if text is None:
        return None
    from bot.services.export import parse_since

    try:
        return parse_since(text)
    except ValueError:
        raise SystemExit(f"partnerbot: {option} takes a day, YYYY-MM-DD (not {text!r})") from None


def default_words(settings: Settings) -> Translator:
    """The default locale's wording: what every command prints in."""
    from bot.i18n import Catalogs

    catalogs = Catalogs.load(settings.locales_dir, default=settings.default_locale)
    return catalogs.translator(settings.default_locale)


E = TypeVar("E", bound=Exception)


def print_lines(
    settings: Settings,
    work: Coroutine[Any, Any, list[str]],
    *,
    refused: type[E],
    reason: Callable[[Translator, E], str],
) -> int:
    """Run a command group's `work` and print its lines (exit status 0); should it raise
    `refused` (invalid input), print the `reason` in the default locale's words and exit 1."""
    from bot.logs import configure_logging

    configure_logging("WARNING")
    try:
        lines = asyncio.run(work)
    except refused as exc:
        say(f"partnerbot: {reason(default_words(settings), exc)}", error=True)
        return 1
    say("\n".join(lines))
    return 0


@dataclass(frozen=True)
class Database:
    """The configured database, migrated: sessions that write, and sessions for long reads
    (one snapshot, no write lock)."""

    engine: AsyncEngine
    sessions: SessionFactory
    reads: SessionFactory


@asynccontextmanager
async def database(settings: Settings, *, locked: bool = False) -> AsyncIterator[Database]:
    """The configured database, migrated to the latest, closed on leaving. `locked` holds the
    start-up lock throughout, so running instances (on PostgreSQL) wait for the command."""
    from bot.cluster.locks import startup_lock
    from bot.storage import migrate
    from bot.storage.db import create_reader, create_session_factory, engine_for

    engine = engine_for(settings)
    reader = create_reader(engine)
    lock: AbstractAsyncContextManager[None] = (
        startup_lock(engine, namespace=settings.database_schema or "public")
        if locked
        else nullcontext()
    )
    try:
        async with lock:
            await migrate.upgrade(engine)
            yield Database(engine, create_session_factory(engine), create_session_factory(reader))
    finally:
        # On PostgreSQL the reader shares the engine's pool: disposing of both is harmless.
        for each in (reader, engine):
            await each.dispose()
