"""The `partnerbot` command: run | sandbox | migrate | flows | schedules | export | audit | report |
keys | backup | restore | move-to-postgres | committees."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from pathlib import Path

from pydantic import ValidationError

from bot.config import MissingTokenError, MissingWebhookError, Settings
from bot.content import add_flow_keys, load_flows, load_transcripts, run_transcripts
from bot.domain.diagrams import mermaid
from bot.domain.flows import FlowError
from bot.i18n import Catalogs
from bot.logs import configure_logging


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise SystemExit(f"partnerbot: bad settings: {problems}") from None


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
    settings = _settings()
    webhook = bool(getattr(args, "webhook", False))
    try:
        secrets = log_secrets(settings, webhook=webhook)
    except (MissingTokenError, MissingWebhookError) as exc:
        print(f"partnerbot: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, secrets=secrets, json_lines=settings.log_format == "json")
    from bot.app import BotApp
    from bot.services.sealing import KeyProblem

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        app = BotApp(settings, webhook=webhook)
        await app.run_until_stopped(stop, on_started=tune_collector)

    from bot.storage.db import DatabaseUnreachableError

    try:
        asyncio.run(main())
    except FlowError as exc:
        print(f"partnerbot: flows are broken:\n{exc}", file=sys.stderr)
        return 1
    except KeyProblem as exc:
        print(f"partnerbot: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnreachableError as exc:
        print(f"partnerbot: {exc}", file=sys.stderr)
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
    settings = _settings()
    configure_logging(settings.log_level)
    from bot.cluster.locks import startup_lock
    from bot.storage.db import engine_for
    from bot.storage.migrate import upgrade

    async def main() -> None:
        engine = engine_for(settings)
        try:
            # Running instances (or another `migrate`) on the same PostgreSQL take turns.
            async with startup_lock(engine, namespace=settings.database_schema or "public"):
                await upgrade(engine)
        finally:
            await engine.dispose()

    asyncio.run(main())
    print("database is up to date")
    return 0


def print_problems(directory: Path, error: FlowError) -> int:
    """List a FlowError's problems on stderr, one a line; the exit status."""
    print(f"{len(error.problems)} problem(s) in {directory}:", file=sys.stderr)
    for problem in error.problems:
        print(f"  {problem}", file=sys.stderr)
    return 1


def cmd_flows_check(args: argparse.Namespace) -> int:
    """Check every flow in DIR against the shipped locales; exit 1 naming each problem."""
    settings = _settings()
    directory = Path(args.dir) if args.dir else settings.flows_dir
    try:
        catalogs = Catalogs.load(
            Path(args.locales) if args.locales else settings.locales_dir,
            default=settings.default_locale,
        )
        flows = load_flows(directory, locale_keys=catalogs.keys())
    except FlowError as exc:
        return print_problems(directory, exc)
    except (FileNotFoundError, ValueError) as exc:
        print(f"partnerbot: {exc}", file=sys.stderr)
        return 1
    names = ", ".join(f"{f.id} v{f.version}" for f in flows.flows.values())
    print(f"{len(flows.flows)} flow(s) OK in {directory}: {names}")
    return 0


def cmd_flows_keys(args: argparse.Namespace) -> int:
    """Write the keys flows use but a catalog lacks into every catalog, as fuzzy placeholders
    (the default language's wording, else the key) for translators to word."""
    settings = _settings()
    directory = Path(args.dir) if args.dir else settings.flows_dir
    locales = Path(args.locales) if args.locales else settings.locales_dir
    try:
        added = add_flow_keys(directory, locales, default=settings.default_locale)
    except FlowError as exc:
        return print_problems(directory, exc)
    except ValueError as exc:
        print(f"partnerbot: {exc}", file=sys.stderr)
        return 1
    for locale, keys in sorted(added.items()):
        print(f"{locale}: {len(keys)} key(s) added, marked fuzzy: {', '.join(keys)}")
    if not added:
        print(f"every catalog in {locales} has every key the flows use")
    return 0


def cmd_flows_test(args: argparse.Namespace) -> int:
    """Run the golden transcripts in DIR/tests/*.yaml against the flows; exit 1 naming each
    difference."""
    settings = _settings()
    directory = Path(args.dir) if args.dir else settings.flows_dir
    try:
        catalogs = Catalogs.load(settings.locales_dir, default=settings.default_locale)
        flows = load_flows(directory, locale_keys=catalogs.keys())
        results = run_transcripts(flows, load_transcripts(directory), catalogs)
    except FlowError as exc:
        print(f"partnerbot: flows are broken:\n{exc}", file=sys.stderr)
        return 1
    except (FileNotFoundError, ValueError) as exc:
        print(f"partnerbot: {exc}", file=sys.stderr)
        return 1
    failed = {case: found for case, found in results.items() if found}
    for case, found in failed.items():
        print(f"{case}:", *(f"  {line}" for line in found), sep="\n", file=sys.stderr)
    print(f"{len(results) - len(failed)} of {len(results)} transcript(s) hold")
    return 1 if failed else 0


def cmd_flows_graph(args: argparse.Namespace) -> int:
    """Print a Mermaid diagram of one flow."""
    settings = _settings()
    directory = Path(args.dir) if args.dir else settings.flows_dir
    try:
        catalogs = Catalogs.load(settings.locales_dir, default=settings.default_locale)
        flows = load_flows(directory, locale_keys=catalogs.keys())
    except FlowError as exc:
        print(f"partnerbot: flows are broken:\n{exc}", file=sys.stderr)
        return 1
    flow = flows.get(args.flow)
    if flow is None:
        print(
            f"partnerbot: no flow '{args.flow}'; known: {', '.join(flows.flows)}", file=sys.stderr
        )
        return 1
    print(mermaid(flow))
    return 0


def cmd_schedules(args: argparse.Namespace) -> int:
    """Add, list, pause, resume or delete scheduled check-ins; exit 1 on invalid input."""
    settings = _settings()
    configure_logging("WARNING")
    from bot.domain.flows import FlowError as ContentError
    from bot.domain.schedules import ScheduleError
    from bot.scheduling import admin

    try:
        lines = asyncio.run(admin.run(settings, args))
    except ScheduleError as exc:
        print(f"partnerbot: {admin.error_text(settings, exc)}", file=sys.stderr)
        return 1
    except ContentError as exc:
        print(f"partnerbot: flows are broken:\n{exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0


def _schedules_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    commands = sub.add_parser("schedules", help=cmd_schedules.__doc__).add_subparsers(
        dest="schedules_command", required=True
    )
    add = commands.add_parser("add", help="create a schedule: FLOW and one of the when-options")
    add.add_argument(
        "flow", nargs="?", help="flow id, e.g. trust_pulse (a voice digest: its pulse flow)"
    )
    add.add_argument(
        "--kind",
        choices=("checkin", "voice_digest", "you_said_we_did"),
        default="checkin",
        help="check-ins (default), a committee's voice digest, or 'you said, we did' for all",
    )
    add.add_argument("--committee", metavar="NAME", help="the committee a voice digest goes to")
    when = add.add_argument_group("when (exactly one)")
    when.add_argument("--weekly", metavar="DAYS", help="days of the week, e.g. mon,thu")
    when.add_argument("--monthly", metavar="NTH:DAY", help="e.g. first:tue or last:fri")
    when.add_argument("--once", metavar="DATE", help="a date, YYYY-MM-DD")
    when.add_argument("--after-joining", metavar="DAYS", help="N days after a member joined")
    when.add_argument(
        "--after-flow", metavar="FLOW:DAYS", help="N days after a member last finished FLOW"
    )
    add.add_argument("--at", default="10:00", help="time of day, HH:MM (default 10:00)")
    add.add_argument("--every", default="1", help="every N weeks or months (default 1)")
    add.add_argument(
        "--basis",
        choices=("member", "partnership"),
        default="member",
        help="whose clock: each member's (default) or the partnership's",
    )
    add.add_argument("--window", help="how long members may answer, e.g. 72h (default)")
    add.add_argument("--reminders", help="e.g. 24h,48h (default), or none; at most two")
    add.add_argument("--group", action="append", help="a stakeholder group (repeatable)")
    add.add_argument("--language", action="append", help="a language code (repeatable)")
    add.add_argument(
        "--to-committee",
        action="append",
        type=int,
        metavar="NUMBER",
        help="check-ins: the members of a committee (repeatable)",
    )
    commands.add_parser("list", help="active and paused schedules")
    for name in ("pause", "resume", "delete"):
        change = commands.add_parser(name, help=f"{name} a schedule")
        change.add_argument("id", type=int, help="schedule number, as `schedules list` shows")
    sub.choices["schedules"].set_defaults(func=cmd_schedules)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="partnerbot", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
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

    flows_help = "check, test or draw flows, or add their keys to the catalogs"
    flows = sub.add_parser("flows", help=flows_help).add_subparsers(
        dest="flows_command", required=True
    )
    check = flows.add_parser("check", help=cmd_flows_check.__doc__)
    check.add_argument("dir", nargs="?", help="flows directory (default: FLOWS_DIR or ./flows)")
    check.add_argument("--locales", help="locales directory (default: LOCALES_DIR or ./locales)")
    check.set_defaults(func=cmd_flows_check)
    keys = flows.add_parser("keys", help=cmd_flows_keys.__doc__)
    keys.add_argument("dir", nargs="?", help="flows directory (default: FLOWS_DIR or ./flows)")
    keys.add_argument("--locales", help="locales directory (default: LOCALES_DIR or ./locales)")
    keys.set_defaults(func=cmd_flows_keys)
    test = flows.add_parser("test", help=cmd_flows_test.__doc__)
    test.add_argument("dir", nargs="?", help="flows directory (default: FLOWS_DIR or ./flows)")
    test.set_defaults(func=cmd_flows_test)
    graph = flows.add_parser("graph", help=cmd_flows_graph.__doc__)
    graph.add_argument("flow", help="flow id, e.g. onboarding")
    graph.add_argument("--dir", help="flows directory")
    graph.set_defaults(func=cmd_flows_graph)
    _schedules_parser(sub)
    from bot import cli_records  # export, audit

    cli_records.add_parsers(sub)
    from bot import cli_report

    cli_report.add_parser(sub)
    from bot import committees_cli

    committees_cli.add_parser(sub)
    from bot import cli_backup, cli_keys

    cli_keys.add_parser(sub)
    cli_backup.add_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
