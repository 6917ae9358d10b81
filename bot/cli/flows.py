"""`partnerbot flows check|test|keys|graph`: the flows checked, tested, keyed and drawn."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli.common import load_settings, say
from bot.config import Settings
from bot.content import add_flow_keys, load_flows, load_transcripts, run_transcripts
from bot.domain.diagrams import mermaid
from bot.domain.flows import FlowError, FlowRegistry
from bot.i18n import Catalogs


def print_problems(directory: Path, error: FlowError) -> int:
    """List a FlowError's problems on stderr, one a line; the exit status."""
    say(f"{len(error.problems)} problem(s) in {directory}:", error=True)
    for problem in error.problems:
        say(f"  {problem}", error=True)
    return 1


def _flows_dir(args: argparse.Namespace, settings: Settings) -> Path:
    return Path(args.dir) if args.dir else settings.flows_dir


def _load(settings: Settings, directory: Path) -> tuple[Catalogs, FlowRegistry]:
    catalogs = Catalogs.load(settings.locales_dir, default=settings.default_locale)
    return catalogs, load_flows(directory, locale_keys=catalogs.keys())


def cmd_flows_check(args: argparse.Namespace) -> int:
    """Check every flow in DIR against the shipped locales; exit 1 naming each problem."""
    settings = load_settings()
    directory = _flows_dir(args, settings)
    try:
        catalogs = Catalogs.load(
            Path(args.locales) if args.locales else settings.locales_dir,
            default=settings.default_locale,
        )
        flows = load_flows(directory, locale_keys=catalogs.keys())
    except FlowError as exc:
        return print_problems(directory, exc)
    except (FileNotFoundError, ValueError) as exc:
        say(f"partnerbot: {exc}", error=True)
        return 1
    names = ", ".join(f"{f.id} v{f.version}" for f in flows.flows.values())
    say(f"{len(flows.flows)} flow(s) OK in {directory}: {names}")
    return 0


def cmd_flows_keys(args: argparse.Namespace) -> int:
    """Write the keys flows use but a catalog lacks into every catalog, as fuzzy placeholders
    (the default language's wording, else the key) for translators to word."""
    settings = load_settings()
    directory = _flows_dir(args, settings)
    locales = Path(args.locales) if args.locales else settings.locales_dir
    try:
        added = add_flow_keys(directory, locales, default=settings.default_locale)
    except FlowError as exc:
        return print_problems(directory, exc)
    except ValueError as exc:
        say(f"partnerbot: {exc}", error=True)
        return 1
    for locale, keys in sorted(added.items()):
        say(f"{locale}: {len(keys)} key(s) added, marked fuzzy: {', '.join(keys)}")
    if not added:
        say(f"every catalog in {locales} has every key the flows use")
    return 0


def cmd_flows_test(args: argparse.Namespace) -> int:
    """Run the golden transcripts in DIR/tests/*.yaml against the flows; exit 1 naming each
    difference."""
    settings = load_settings()
    directory = _flows_dir(args, settings)
    try:
        catalogs, flows = _load(settings, directory)
        results = run_transcripts(flows, load_transcripts(directory), catalogs)
    except FlowError as exc:
        say(f"partnerbot: flows are broken:\n{exc}", error=True)
        return 1
    except (FileNotFoundError, ValueError) as exc:
        say(f"partnerbot: {exc}", error=True)
        return 1
    failed = {case: found for case, found in results.items() if found}
    for case, found in failed.items():
        say("\n".join([f"{case}:", *(f"  {line}" for line in found)]), error=True)
    say(f"{len(results) - len(failed)} of {len(results)} transcript(s) hold")
    return 1 if failed else 0


def cmd_flows_graph(args: argparse.Namespace) -> int:
    """Print a Mermaid diagram of one flow."""
    settings = load_settings()
    try:
        _, flows = _load(settings, _flows_dir(args, settings))
    except FlowError as exc:
        say(f"partnerbot: flows are broken:\n{exc}", error=True)
        return 1
    flow = flows.get(args.flow)
    if flow is None:
        say(f"partnerbot: no flow '{args.flow}'; known: {', '.join(flows.flows)}", error=True)
        return 1
    say(mermaid(flow))
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `flows check|keys|test|graph`."""
    flows_help = "check, test or draw flows, or add their keys to the catalogs"
    flows = sub.add_parser("flows", help=flows_help).add_subparsers(
        dest="flows_command", required=True
    )
    dir_help = "flows directory (default: FLOWS_DIR or ./flows)"
    locales_help = "locales directory (default: LOCALES_DIR or ./locales)"
    check = flows.add_parser("check", help=cmd_flows_check.__doc__)
    check.add_argument("dir", nargs="?", help=dir_help)
    check.add_argument("--locales", help=locales_help)
    check.set_defaults(func=cmd_flows_check)
    keys = flows.add_parser("keys", help=cmd_flows_keys.__doc__)
    keys.add_argument("dir", nargs="?", help=dir_help)
    keys.add_argument("--locales", help=locales_help)
    keys.set_defaults(func=cmd_flows_keys)
    test = flows.add_parser("test", help=cmd_flows_test.__doc__)
    test.add_argument("dir", nargs="?", help=dir_help)
    test.set_defaults(func=cmd_flows_test)
    graph = flows.add_parser("graph", help=cmd_flows_graph.__doc__)
    graph.add_argument("flow", help="flow id, e.g. onboarding")
    graph.add_argument("--dir", help="flows directory")
    graph.set_defaults(func=cmd_flows_graph)
