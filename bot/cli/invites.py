"""`partnerbot invite create|list|revoke|import`: invitation links from the shell.

`create` prints the link and writes its QR code (PNG) to a file; `list` shows every link with
the people who joined through it; `import` makes one personal link (one person) per row of a
CSV of nominees and writes their links beside them to another CSV (the names never reach the
database). Prints in the default locale's wording (tags stripped); invalid input exits 1 with
the reason. Files are written once the links are committed.
"""

from __future__ import annotations

import argparse
import csv
import io
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.common import database, load_settings, plain, print_lines, say
from bot.config import Settings

if TYPE_CHECKING:
    from bot.i18n import Translator


async def run(settings: Settings, args: argparse.Namespace) -> list[str]:
    """Do what the arguments ask; the lines to print. Raises InviteError on bad input,
    ValueError on a bad nominees file."""
    from bot.content import Content
    from bot.domain import invites as rules
    from bot.domain.clock import SystemClock
    from bot.domain.invites import Limits
    from bot.services.committees import Committees
    from bot.services.invites import Invitations, describe, qr_png
    from bot.storage import audit

    content = Content.load(settings)
    t = content.catalogs.translator(settings.default_locale)
    clock = SystemClock()
    invitations = Invitations(clock=clock, committees=Committees(clock=clock), content=content)
    files: list[tuple[Path, bytes]] = []
    async with database(settings) as db, db.sessions() as session:
        command = args.invite_command
        if command == "create":
            made = await invitations.create(
                session,
                group=args.group,
                committee=args.committee,
                label=args.label,
                limits=Limits(days=args.days, uses=args.uses),
                actor_label=audit.CLI_LABEL,
            )
            url = rules.link(args.bot, made.invite.token)
            files.append((Path(args.qr or f"invite-{made.invite.id}.png"), qr_png(url)))
            lines = [t("invite.created", link=url, **describe(made, t)), str(files[0][0])]
        elif command == "import":
            source = Path(args.file)
            nominees = rules.read_nominees(source.read_text(encoding="utf-8"))
            links = await invitations.invite_nominees(
                session, nominees, actor_label=audit.CLI_LABEL
            )
            table = io.StringIO()
            writer = csv.writer(table)
            writer.writerow([*rules.NOMINEE_COLUMNS, "link"])
            for nominee, line in zip(nominees, links, strict=True):
                cells = (nominee.group, nominee.organisation, nominee.committee)
                link = rules.link(args.bot, line.invite.token)
                writer.writerow([nominee.name, *(c or "" for c in cells), link])
            out = Path(args.out or source.with_name(f"{source.stem}-links.csv"))
            files.append((out, table.getvalue().encode()))
            lines = [t("invite.imported", count=len(links), file=str(out))]
        elif command == "revoke":
            revoked = await invitations.revoke(
                session, invite_id=args.number, actor_label=audit.CLI_LABEL
            )
            lines = [t("invite.revoked", id=revoked.id)]
        else:
            found = await invitations.overview(session)
            lines = [t("invite.list_header") if found else t("invite.none_yet")]
            lines += [
                t(
                    "invite.line",
                    link=rules.link(args.bot, line.invite.token),
                    joined=line.joined,
                    state=t(f"invite.state.{line.state}"),
                    **describe(line, t),
                )
                for line in found
            ]
        await session.commit()
    for path, data in files:
        path.write_bytes(data)
    return [plain(line) for line in lines]


def cmd_invite(args: argparse.Namespace) -> int:
    """Create, list, revoke or import invitation links; exit 1 on invalid input."""
    from bot.services.invites import InviteError

    def reason(t: Translator, exc: InviteError) -> str:
        where = f"{args.file}, row {exc.params['row']}: " if "row" in exc.params else ""
        return where + plain(t(f"invite.error.{exc.code}", **exc.params))

    settings = load_settings()
    try:
        return print_lines(settings, run(settings, args), refused=InviteError, reason=reason)
    except (OSError, ValueError) as exc:
        if args.invite_command != "import":
            raise
        say(f"partnerbot: {args.file}: {exc}", error=True)
        return 1


BOT_HELP = "the bot's username: links are https://t.me/BOT?start=…"


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("takes a whole number from 1")
    return value


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register `partnerbot invite …`."""
    parser = sub.add_parser("invite", help=cmd_invite.__doc__)
    commands = parser.add_subparsers(dest="invite_command", required=True)
    create = commands.add_parser("create", help="a link (and its QR code) for a group or committee")
    create.add_argument("--bot", required=True, help=BOT_HELP)
    create.add_argument("--group", help="the stakeholder group it preselects, e.g. community")
    create.add_argument("--committee", help="the committee whose seat it offers (number or name)")
    create.add_argument("--label", help='where it is used, e.g. "market poster"')
    create.add_argument("--days", type=_positive, help="it admits nobody after this many days")
    create.add_argument("--uses", type=_positive, help="it admits at most this many people")
    create.add_argument("--qr", help="the QR code PNG to write (default: invite-<number>.png)")
    listing = commands.add_parser("list", help="every link and the people who joined through it")
    listing.add_argument("--bot", required=True, help=BOT_HELP)
    revoke = commands.add_parser("revoke", help="a link admits nobody any more")
    revoke.add_argument("number", type=int, help="the link's number, as `list` shows it")
    nominees = commands.add_parser(
        "import", help="a personal link per nominee of a CSV (name, group, organisation, committee)"
    )
    nominees.add_argument("file", help="the nominees CSV, with a header row")
    nominees.add_argument("--bot", required=True, help=BOT_HELP)
    nominees.add_argument("--out", help="the CSV of links to write (default: FILE-links.csv)")
    parser.set_defaults(func=cmd_invite)
