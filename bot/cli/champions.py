"""`partnerbot champions list|set|remove`: the register of key people from the shell.

Prints in the default locale's wording (tags stripped), each key person's activity included
(the shell is a coordinator's place); invalid input exits 1 with the reason. Every change is
audited as `cli`.
"""

from __future__ import annotations

import argparse
import asyncio

from bot.cli.common import database, load_settings, plain, say
from bot.config import Settings


async def run(settings: Settings, args: argparse.Namespace) -> list[str]:
    """Do what the arguments ask; the lines to print. Raises ChampionError on bad input."""
    from datetime import timedelta

    from bot.content import Content
    from bot.domain.clock import SystemClock
    from bot.services.champions import ChampionError, Champions
    from bot.storage import audit, repo

    content = Content.load(settings)
    t = content.catalogs.translator(settings.default_locale)
    champions = Champions(
        clock=SystemClock(),
        content=content,
        quiet_after=timedelta(days=settings.champion_quiet_days),
    )
    cli = audit.CLI_LABEL
    async with database(settings) as db, db.sessions() as session:
        command = args.champions_command
        if command == "set":
            member = await repo.get_member_by_telegram_id(
                session, telegram_user_id=args.telegram_id
            )
            if member is None:
                raise ChampionError("unknown_member", id=args.telegram_id)
            seat = await champions.appoint(
                session, member=member, role=args.role, actor=None, actor_label=cli
            )
            lines = [
                t(
                    "champions.set_done",
                    name=member.display_name,
                    role=t(f"champions.role.{seat.role}"),
                    organisation=seat.organisation,
                )
            ]
        elif command == "remove":
            seat = await champions.remove(session, seat_id=args.seat, actor=None, actor_label=cli)
            lines = [
                t(
                    "champions.removed",
                    role=t(f"champions.role.{seat.role}"),
                    organisation=seat.organisation,
                )
            ]
        else:
            lines = (await champions.register_text(session, t)).split("\n")
        await session.commit()
    return [plain(line) for line in lines]


def cmd_champions(args: argparse.Namespace) -> int:
    """List, set or remove key people (each organisation's lead and deputy); exit 1 on
    invalid input."""
    from bot.i18n import Catalogs
    from bot.logs import configure_logging
    from bot.services.champions import ChampionError

    settings = load_settings()
    configure_logging("WARNING")
    try:
        lines = asyncio.run(run(settings, args))
    except ChampionError as exc:
        catalogs = Catalogs.load(settings.locales_dir, default=settings.default_locale)
        t = catalogs.translator(settings.default_locale)
        say(f"partnerbot: {plain(t(f'champions.error.{exc.code}', **exc.params))}", error=True)
        return 1
    say("\n".join(lines))
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `partnerbot champions …`."""
    parser = sub.add_parser("champions", help=cmd_champions.__doc__)
    commands = parser.add_subparsers(dest="champions_command", required=True)
    commands.add_parser("list", help="key people per organisation, with their activity")
    put = commands.add_parser("set", help="make a member their organisation's lead or deputy")
    put.add_argument("telegram_id", type=int, help="the member's Telegram user id")
    put.add_argument("--role", choices=("lead", "deputy"), default="lead", help="the seat")
    remove = commands.add_parser("remove", help="take a seat out of the register")
    remove.add_argument("seat", type=int, help="the seat's number, as `champions list` shows")
    parser.set_defaults(func=cmd_champions)
