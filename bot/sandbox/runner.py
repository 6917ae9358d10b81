"""`partnerbot sandbox`: the emulator and the bot on SQLite in one process, with the web
simulator in a browser (the default) or a chat in this terminal (`--terminal`)."""

from __future__ import annotations

import asyncio
import html
import logging
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import OffsetClock, parse_duration
from bot.domain.flows import FlowError
from bot.logs import configure_logging
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.keeper import StateKeeper, read_state, state_path
from bot.sandbox.terminal import TerminalChat
from bot.sandbox.web import ContentProblem, SandboxWeb, default_personas
from bot.sandbox.web.group import seed_committee_group
from bot.services.sealing import KeyProblem
from bot.storage.models import OutboxMessage
from bot.storage.sandbox_queries import highest_handled_update_id, summarise_outbox

SANDBOX_TOKEN = "1000001:sandbox-token-not-secret"
# Like the token: the sandbox's people are made up, and it writes no key file anywhere.
SANDBOX_ANONYMITY_KEY = "sandbox-anonymity-key-not-secret-0123456789"
OUTBOX_ROWS = 15
EXCERPT_CHARS = 90
_TAG = re.compile(r"<[^>]*>")
log = logging.getLogger(__name__)


@dataclass
class _PageHost:
    """What the web page needs from the running bot (see bot.sandbox.web.Host)."""

    app: BotApp
    clock: OffsetClock
    watched: Sequence[Path]
    keeper: StateKeeper

    def now(self) -> datetime:
        return self.clock.now()

    def ahead(self) -> timedelta:
        return self.clock.ahead

    async def advance(self, by: str) -> datetime:
        # the terminal's `:advance`; then what came due is done at once, not at the next sweep
        moved = self.clock.advance(parse_duration(by))
        self.keeper.changed()
        if self.app.scheduler is not None:
            try:
                await self.app.scheduler.tick()
            except Exception:  # the clock has moved; the scheduler's next sweep tries again
                log.exception("scheduled check-ins failed after moving the clock")
        return moved

    async def outbox(self) -> Mapping[str, Any]:
        assert self.app.session_factory is not None
        async with self.app.session_factory() as session:
            summary = await summarise_outbox(session, latest=OUTBOX_ROWS)
        return {"counts": summary.counts, "latest": [_outbox_row(m) for m in summary.latest]}

    async def reload_content(self) -> list[ContentProblem]:
        error = await self.app.reload_content()
        if error is None:
            print("partnerbot sandbox: flows and wording reloaded", flush=True)
            return []
        print(f"partnerbot sandbox: flows are broken, still running the previous ones:\n{error}")
        sys.stdout.flush()
        return [ContentProblem(p.file, p.message, p.flow, p.node) for p in error.problems]


def _outbox_row(message: OutboxMessage) -> dict[str, Any]:
    text = " ".join(html.unescape(_TAG.sub("", message.text)).split())
    if len(text) > EXCERPT_CHARS:
        text = text[: EXCERPT_CHARS - 1] + "…"
    return {
        "id": message.id,
        "chat_id": message.chat_id,
        "source": message.source,
        "kind": message.kind,
        "status": message.status,
        "attempts": message.attempts,
        "excerpt": text or f"[{message.kind}]",
        "last_error": message.last_error,
    }


async def _until_interrupted() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


async def _main(*, port: int, db: Path, user_id: int, language: str, terminal: bool) -> int:
    # A second run on the same database goes on from the first; a new database starts afresh.
    saved_at = state_path(db)
    saved = read_state(saved_at) if db.exists() else {}
    if saved:
        print(f"partnerbot sandbox: going on from {saved_at} (a new --db starts afresh)")
    emulator = BotAPIEmulator()
    emulator.restore_state(saved.get("emulator", {}))
    # the page's routes join the emulator's app before it starts serving
    page = None if terminal else SandboxWeb(emulator, default_personas())
    if page is not None:
        page.restore_state(saved.get("page", {}))
    clock = OffsetClock(ahead=timedelta(seconds=float(saved.get("clock_ahead_s", 0))))

    def collect() -> dict[str, Any]:
        return {
            "emulator": emulator.saved_state(),
            "page": saved.get("page", {}) if page is None else page.saved_state(),
            "clock_ahead_s": clock.ahead.total_seconds(),
        }

    try:
        base_url = await emulator.start(port=port)
    except OSError as exc:
        print(f"partnerbot: cannot listen on 127.0.0.1:{port} ({exc.strerror}); try --port 8081")
        return 1
    settings = Settings(
        bot_token=SANDBOX_TOKEN,
        telegram_api_url=base_url,
        database_url=f"sqlite:///{db}",
        anonymity_key=SANDBOX_ANONYMITY_KEY,
    )
    if page is not None:
        settings = settings.model_copy(update={"admin_ids": settings.admin_ids | page.admin_ids})
    else:
        # The terminal's one persona is an admin too, so /schedules and /broadcast can be tried.
        settings = settings.model_copy(update={"admin_ids": settings.admin_ids | {user_id}})
    app = BotApp(settings, clock=clock)
    keeper: StateKeeper | None = None
    try:
        try:
            await app.start()
        except FlowError as exc:
            print(f"partnerbot: flows are broken:\n{exc}")
            return 1
        except KeyProblem as exc:
            print(f"partnerbot: {exc}")
            return 1
        assert app.session_factory is not None
        async with app.session_factory() as session:
            # a state file lost beside a database that was used: ids go on from the bot's
            emulator.continue_update_ids(await highest_handled_update_id(session))
        if page is not None and not page.groups.chat_ids:
            # after the bot's first calls, so that its joining names it by its own id
            page.groups.add(seed_committee_group(emulator, page.personas.values()))
        keeper = StateKeeper(saved_at, emulator, collect)
        if page is None:
            print(f"partnerbot sandbox: Bot API emulator on {base_url}, database {db}")
            chat = TerminalChat(
                emulator,
                user_id=user_id,
                first_name="Sandbox",
                language=language,
                wait_handled=lambda update_id: app.tracker.wait_handled(update_id, timeout=30),
                clock=clock,
                advance=_PageHost(app, clock, (), keeper).advance,
            )
            await chat.run()
        else:
            watched = (settings.flows_dir, settings.locales_dir)
            page.start(_PageHost(app, clock, watched, keeper))
            print(
                f"partnerbot sandbox: open {base_url}/ in a browser; Ctrl-C stops (database {db})"
            )
            sys.stdout.flush()
            await _until_interrupted()
    finally:
        if page is not None:
            await page.stop()
        await app.stop()
        if keeper is not None:
            await keeper.stop()
        await emulator.stop()
    return 0


def run_sandbox(*, port: int, db: str, user_id: int, language: str, terminal: bool = False) -> int:
    """Run the sandbox until Ctrl-C (the web page) or until the terminal chat ends."""
    path = Path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The chat or the page's address owns the terminal; logs go to a file beside the database.
    log_file = path.with_suffix(".log")
    configure_logging("INFO", secrets=[SANDBOX_TOKEN], stream=log_file.open("a", encoding="utf-8"))
    print(f"(logs: {log_file})", file=sys.stderr)
    try:
        return asyncio.run(
            _main(port=port, db=path, user_id=user_id, language=language, terminal=terminal)
        )
    except KeyboardInterrupt:  # before the page's own Ctrl-C handling is in place
        return 130
