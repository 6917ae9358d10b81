"""`partnerbot committees add|list|staff|unstaff|categories|archive`: committees from the shell.

Prints in the default locale's wording (tags stripped); invalid input exits 1 with the reason.
A committee is named by its number (as `committees list` shows) or its name.
"""

from __future__ import annotations

import argparse

from bot.cli.common import database, default_words, load_settings, plain, print_lines
from bot.config import Settings


async def run(settings: Settings, args: argparse.Namespace) -> list[str]:
    """Do what the arguments ask; the lines to print. Raises CommitteeError on bad input."""
    from bot.domain.clock import SystemClock
    from bot.domain.concerns import CATEGORIES
    from bot.services.committees import (
        CommitteeError,
        Committees,
        categories_said,
        category_names,
    )
    from bot.storage import audit

    t = default_words(settings)
    committees = Committees(clock=SystemClock())
    cli = audit.CLI_LABEL  # the actor of every change made here
    async with database(settings) as db, db.sessions() as session:
        command = args.committees_command
        if command == "add":
            created = await committees.create(
                session, name=args.name, purpose=args.purpose, actor_label=cli
            )
            lines = [t("committee.created", id=created.id, name=created.name)]
        elif command == "staff":
            committee, member = await committees.staff(
                session,
                ref=args.committee,
                telegram_user_id=args.telegram_id,
                chair=args.chair,
                actor_label=cli,
            )
            key = "committee.staffed_chair" if args.chair else "committee.staffed"
            lines = [t(key, name=member.display_name, committee=committee.name)]
        elif command == "unstaff":
            committee, member = await committees.unstaff(
                session, ref=args.committee, telegram_user_id=args.telegram_id, actor_label=cli
            )
            lines = [t("committee.unstaffed", name=member.display_name, committee=committee.name)]
        elif command == "categories":
            if not args.none and not args.categories:
                raise CommitteeError("category", known=", ".join(CATEGORIES))
            committee, handled, moved = await committees.handle(
                session,
                ref=args.committee,
                categories=[] if args.none else args.categories,
                actor_label=cli,
            )
            lines = categories_said(committee, handled, moved, t)
        elif command == "archive":
            archived = await committees.archive(session, ref=args.committee, actor_label=cli)
            lines = [t("committee.archived", name=archived.name)]
        else:
            found = await committees.overview(session)
            lines = [t("committee.list_header") if found else t("committee.none_yet")]
            for overview in found:
                names = [
                    f"{s.member.display_name} ({s.member.telegram_user_id})"
                    + (t("committee.chair_mark") if s.chair else "")
                    for s in overview.seats
                ]
                line = t(
                    "committee.line",
                    id=overview.committee.id,
                    name=overview.committee.name,
                    members=", ".join(names) or t("committee.nobody"),
                )
                if overview.categories:
                    named = category_names(overview.categories, t)
                    line += t("committee.handles", categories=named)
                lines.append(line)
        await session.commit()
    return [plain(line) for line in lines]


def cmd_committees(args: argparse.Namespace) -> int:
    """Add, list, staff, unstaff, route categories to or archive committees; exit 1 on invalid
    input."""
    from bot.services.committees import CommitteeError

    settings = load_settings()
    return print_lines(
        settings,
        run(settings, args),
        refused=CommitteeError,
        reason=lambda t, exc: plain(t(f"committee.error.{exc.code}", **exc.params)),
    )


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `partnerbot committees …`."""
    parser = sub.add_parser("committees", help=cmd_committees.__doc__)
    commands = parser.add_subparsers(dest="committees_command", required=True)
    add = commands.add_parser("add", help="create a committee")
    add.add_argument("name", help='its name, e.g. "Steering group"')
    add.add_argument("--purpose", help="what it is for")
    commands.add_parser("list", help="committees and their members")
    for name, text in (("staff", "put a member on"), ("unstaff", "take a member off")):
        change = commands.add_parser(name, help=f"{text} a committee")
        change.add_argument("committee", help="committee number or name")
        change.add_argument("telegram_id", type=int, help="the member's Telegram user id")
        if name == "staff":
            change.add_argument("--chair", action="store_true", help="the member chairs it")
    handles = commands.add_parser(
        "categories", help="the concern categories a committee handles (routed to it)"
    )
    handles.add_argument("committee", help="committee number or name")
    handles.add_argument(
        "categories",
        nargs="*",
        help="roles, resources, communication, trust, service_delivery, other",
    )
    handles.add_argument("--none", action="store_true", help="it handles no category any more")
    archive = commands.add_parser("archive", help="archive a committee")
    archive.add_argument("committee", help="committee number or name")
    parser.set_defaults(func=cmd_committees)
