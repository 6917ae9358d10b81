"""/committees and /committee: coordinators and admins create, staff and archive committees.

`/committee new <name>`, `/committee staff <committee> <telegram id> [chair]`,
`/committee unstaff <committee> <telegram id>`, `/committee archive <committee>`,
`/committee categories <committee> <category>…|none` (the concerns it handles); a committee
is named by its number (as /committees shows) or its name. The role is checked every time.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message

from bot.domain.concerns import CATEGORIES
from bot.domain.ids import parse_telegram_id
from bot.i18n import Translator
from bot.services.committees import (
    CommitteeError,
    CommitteeOverview,
    Committees,
    categories_said,
    category_names,
)
from bot.storage.models import Member
from bot.telegram.access import Coordinator, refuse
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command
from bot.telegram.routers.roles import ID_SHOWN

NO_CATEGORY = "none"  # `/committee categories <committee> none`: it handles none any more


def describe(overview: CommitteeOverview, t: Translator) -> str:
    """A committee and its members, for /committees."""
    committee = overview.committee
    names = [
        html.escape(seat.member.display_name or str(seat.member.telegram_user_id))
        + (t("committee.chair_mark") if seat.chair else "")
        for seat in overview.seats
    ]
    line = t(
        "committee.line",
        id=committee.id,
        name=html.escape(committee.name),
        members=", ".join(names) if names else t("committee.nobody"),
    )
    if overview.categories:
        line += t("committee.handles", categories=category_names(overview.categories, t))
    return line


def split_categories(words: Sequence[str]) -> tuple[str, list[str]]:
    """`<committee> <category>…` (or `none`) as the committee and the categories; raises
    CommitteeError when the last word is no category, or nothing names the committee."""
    known = (*CATEGORIES, NO_CATEGORY)
    if not words or words[-1].lower() not in known:
        raise CommitteeError("category", known=", ".join(known))
    at = len(words)
    while at > 1 and words[at - 1].lower() in known:
        at -= 1
    if at == len(words) or words[at - 1].lower() in known:
        raise CommitteeError("usage")
    categories = [w.lower() for w in words[at:] if w.lower() != NO_CATEGORY]
    return " ".join(words[:at]), categories


async def on_committees(message: Message, ctx: Context, committees: Committees) -> None:
    """/committees: every committee with its members."""
    found = await committees.overview(ctx.session)
    if not found:
        ctx.responder.text("committee.none_yet", locale=ctx.locale)
        return
    lines = [ctx.t("committee.list_header")] + [describe(o, ctx.t) for o in found]
    ctx.responder.send("\n".join(lines))


async def on_committee(
    message: Message,
    command: CommandObject,
    ctx: Context,
    member: Member,
    committees: Committees,
) -> None:
    """/committee new|staff|unstaff|archive …"""
    responder = ctx.responder
    verb, _, rest = (command.args or "").strip().partition(" ")
    rest = rest.strip()
    try:
        if verb == "new" and rest:
            created = await committees.create(ctx.session, name=rest, actor=member)
            responder.text("committee.created", locale=ctx.locale, id=created.id, name=created.name)
        elif verb in ("staff", "unstaff") and rest:
            words = rest.split()
            chair = verb == "staff" and words[-1].lower() in ("chair", "président", "presidente")
            if chair:
                words = words[:-1]
            if len(words) < 2 or not words[-1].lstrip("-").isdigit():
                raise CommitteeError("usage")
            telegram_id = parse_telegram_id(words[-1])
            if telegram_id is None:
                raise CommitteeError("invalid_id", id=words[-1][:ID_SHOWN])
            ref = " ".join(words[:-1])
            if verb == "staff":
                committee, seated = await committees.staff(
                    ctx.session, ref=ref, telegram_user_id=telegram_id, chair=chair, actor=member
                )
                key = "committee.staffed_chair" if chair else "committee.staffed"
            else:
                committee, seated = await committees.unstaff(
                    ctx.session, ref=ref, telegram_user_id=telegram_id, actor=member
                )
                key = "committee.unstaffed"
            responder.text(
                key, locale=ctx.locale, name=seated.display_name, committee=committee.name
            )
        elif verb == "categories":
            ref, categories = split_categories(rest.split())
            committee, handled, moved = await committees.handle(
                ctx.session, ref=ref, categories=categories, actor=member
            )
            responder.send("\n".join(categories_said(committee, handled, moved, ctx.t)))
        elif verb == "archive" and rest:
            archived = await committees.archive(ctx.session, ref=rest, actor=member)
            responder.text("committee.archived", locale=ctx.locale, name=archived.name)
        else:
            raise CommitteeError("usage")
    except CommitteeError as exc:
        params = {k: html.escape(str(v)) for k, v in exc.params.items()}
        responder.send(ctx.t(f"committee.error.{exc.code}", **params))


def create_router() -> Router:
    """The committees router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_committees, command("committees"), Coordinator())
    router.message.register(on_committee, command("committee"), Coordinator())
    router.message.register(
        refuse("committee.coordinators_only"), command("committees", "committee")
    )
    return router
