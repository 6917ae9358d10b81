"""`partnerbot sandbox`: the emulator, the bot on SQLite and a terminal chat, in one process."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import OffsetClock
from bot.logs import configure_logging
from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.terminal import TerminalChat

SANDBOX_TOKEN = "1000001:sandbox-token-not-secret"
log = logging.getLogger(__name__)


async def _main(*, port: int, db: Path, user_id: int, language: str) -> int:
    emulator = BotAPIEmulator()
    try:
        base_url = await emulator.start(port=port)
    except OSError as exc:
        print(f"partnerbot: cannot listen on 127.0.0.1:{port} ({exc.strerror}); try --port 8081")
        return 1
    settings = Settings(
        bot_token=SANDBOX_TOKEN, telegram_api_url=base_url, database_url=f"sqlite:///{db}"
    )
    clock = OffsetClock()
    app = BotApp(settings, clock=clock)
    try:
        await app.start()
        print(f"partnerbot sandbox: Bot API emulator on {base_url}, database {db}")
        chat = TerminalChat(
            emulator,
            user_id=user_id,
            first_name="Sandbox",
            language=language,
            wait_handled=lambda update_id: app.tracker.wait_handled(update_id, timeout=30),
            clock=clock,
        )
        await chat.run()
    finally:
        await app.stop()
        await emulator.stop()
    return 0


def run_sandbox(*, port: int, db: str, user_id: int, language: str) -> int:
    """Run the sandbox until the terminal chat ends."""
    path = Path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    # The chat owns the terminal; logs go to a file beside the database.
    log_file = path.with_suffix(".log")
    configure_logging("INFO", secrets=[SANDBOX_TOKEN], stream=log_file.open("a", encoding="utf-8"))
    print(f"(logs: {log_file})", file=sys.stderr)
    return asyncio.run(_main(port=port, db=path, user_id=user_id, language=language))
