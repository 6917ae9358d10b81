"""`partnerbot run`, `sandbox` and `migrate`: the bot itself, against Telegram or the emulator,
and its database brought up to date."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal

from bot.cli.common import database, load_settings, say
from bot.config import MissingTokenError, MissingWebhookError, Settings
from bot.domain.flows import FlowError
from bot.logs import configure_logging

GC_YOUNG_THRESHOLD = 20_000


def log_secrets(settings: Settings, *, webhook: bool) -> list[str]:
    """What the logs must never show: the token, the webhook secret, the anonymity key."""
    secrets = [settings.token()]
    if webhook:
        secrets.append(settings.webhook()[1])
    if settings.anonymity_key is not None:
        secrets.append(settings.anonymity_key.get_secret_value())
    return secrets


def cmd_run(args: argparse.Namespace) -> int:
    """Run the bot against Telegram (or TELEGRAM_API_URL) with BOT_TOKEN."""
    settings = load_settings()
    webhook = bool(getattr(args, "webhook", False))
    try:
        secrets = log_secrets(settings, webhook=webhook)
    except (MissingTokenError, MissingWebhookError) as exc:
        say(f"partnerbot: {exc}", error=True)
        return 2
    configure_logging(settings.log_level, secrets=secrets, json_lines=settings.log_format == "json")
    from bot.app import BotApp
    from bot.services.sealing import KeyProblem
    from bot.storage.db import DatabaseUnreachableError

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        app = BotApp(settings, webhook=webhook)
        await app.run_until_stopped(stop, on_started=tune_collector)

    try:
        asyncio.run(main())
    except FlowError as exc:
        say(f"partnerbot: flows are broken:\n{exc}", error=True)
        return 1
    except KeyProblem as exc:
        say(f"partnerbot: {exc}", error=True)
        return 2
    except DatabaseUnreachableError as exc:
        say(f"partnerbot: {exc}", error=True)
        return 1
    except Exception:
        # Through the logger, so the token is scrubbed from the traceback too.
        logging.getLogger("bot").exception("partnerbot stopped on an error")
        return 1
    return 0


def tune_collector() -> None:
    """What start-up loaded (flows, catalogs, models, SQLAlchemy's mappers) lives as long as
    the process: it leaves the collector's scans, and young objects are collected less often.
    Under load the default settings cost about a tenth of the bot's steps per second
    (bench/flow_steps.py, docs/benchmarks.md)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, 20, 20)


def cmd_sandbox(args: argparse.Namespace) -> int:
    """The bot against the local Bot API emulator, with the web simulator or a terminal chat."""
    from bot.sandbox.runner import run_sandbox

    return int(
        run_sandbox(
            port=args.port,
            db=args.db,
            user_id=args.user,
            language=args.language,
            terminal=args.terminal,
        )
    )


def cmd_migrate(args: argparse.Namespace) -> int:
    """Apply database migrations up to the latest."""
    settings = load_settings()
    configure_logging(settings.log_level)

    async def main() -> None:
        # Running instances (or another `migrate`) on the same PostgreSQL take turns.
        async with database(settings, locked=True):
            pass

    asyncio.run(main())
    say("database is up to date")
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `run`, `sandbox` and `migrate`."""
    run = sub.add_parser("run", help=cmd_run.__doc__)
    run.add_argument(
        "--webhook",
        action="store_true",
        help="receive updates by webhook (WEBHOOK_URL, WEBHOOK_SECRET) instead of long polling",
    )
    run.set_defaults(func=cmd_run)

    sandbox = sub.add_parser("sandbox", help=cmd_sandbox.__doc__)
    sandbox.add_argument(
        "--port", type=int, default=8080, help="port of the page and the emulator (default 8080)"
    )
    sandbox.add_argument(
        "--db", default="data/sandbox.db", help="SQLite file (default data/sandbox.db)"
    )
    sandbox.add_argument("--user", type=int, default=1001, help="your Telegram user id in the chat")
    sandbox.add_argument("--language", default="en", help="your Telegram app language")
    sandbox.add_argument(
        "--terminal", action="store_true", help="chat in this terminal instead of a browser"
    )
    sandbox.set_defaults(func=cmd_sandbox)

    sub.add_parser("migrate", help=cmd_migrate.__doc__).set_defaults(func=cmd_migrate)
