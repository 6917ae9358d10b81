"""/invite: coordinators make invitation links (with a QR code), list them and revoke them.

`/invite` offers a button per stakeholder group and committee; `/invite group <group> [30d]
[200x]`, `/invite committee <committee> [30d] [200x]` (a time and a people limit),
`/invite list`, `/invite revoke <number>`. The role is checked every time. A member who opens
a committee link is offered its seat with two buttons (`seat_buttons`, `on_seat_answer`).
"""

from __future__ import annotations

import html

from aiogram import Bot, Router
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.domain import invites as rules
from bot.i18n import Translator
from bot.services.invites import (
    Invitations,
    InviteError,
    InviteLine,
    SeatOffer,
    describe,
    qr_png,
)
from bot.storage.models import Member
from bot.telegram.access import Coordinator, refuse
from bot.telegram.callbacks import InviteChoice, SeatAnswer
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command


async def _username(bot: Bot) -> str:
    return (await bot.me()).username or ""


async def _send_link(line: InviteLine, bot: Bot, ctx: Context) -> None:
    url = rules.link(await _username(bot), line.invite.token)
    caption = ctx.t("invite.created", link=html.escape(url), **describe(line, ctx.t))
    ctx.responder.photo(qr_png(url), f"invite-{line.invite.id}.png", caption)


async def _list(ctx: Context, invitations: Invitations, bot: Bot) -> str:
    t = ctx.t
    lines = await invitations.overview(ctx.session)
    if not lines:
        return t("invite.none_yet")
    name = await _username(bot)
    return "\n\n".join(
        [t("invite.list_header")]
        + [
            t(
                "invite.line",
                link=html.escape(rules.link(name, line.invite.token)),
                joined=line.joined,
                state=t(f"invite.state.{line.state}"),
                **describe(line, t),
            )
            for line in lines
        ]
    )


async def on_invite(
    message: Message,
    command: CommandObject,
    ctx: Context,
    member: Member,
    invitations: Invitations,
    bot: Bot,
) -> None:
    """/invite [group|committee|list|revoke …]"""
    responder = ctx.responder
    verb, _, rest = (command.args or "").strip().partition(" ")
    words = rest.split()
    try:
        if not verb:
            responder.send(ctx.t("invite.choose"), keyboard=await _choices(ctx, invitations))
        elif verb == "list":
            responder.send(await _list(ctx, invitations, bot))
        elif verb == "revoke" and len(words) == 1 and words[0].lstrip("#").isdigit():
            revoked = await invitations.revoke(
                ctx.session, invite_id=int(words[0].lstrip("#")), actor=member
            )
            responder.send(ctx.t("invite.revoked", id=revoked.id))
        elif verb in ("group", "committee") and words:
            # Limits come last: a group is one word, a committee's name may have several.
            count = 1 if verb == "group" else len(words)
            while count > 1 and rules.parse_limits(words[count - 1 : count]) is not None:
                count -= 1
            limits = rules.parse_limits(words[count:])
            if limits is None:
                raise InviteError("usage")
            ref = " ".join(words[:count])
            made = await invitations.create(
                ctx.session,
                group=ref if verb == "group" else None,
                committee=ref if verb == "committee" else None,
                limits=limits,
                actor=member,
            )
            await _send_link(made, bot, ctx)
        else:
            raise InviteError("usage")
    except InviteError as exc:
        _error(exc, ctx)


def _error(exc: InviteError, ctx: Context) -> None:
    key = "invite.usage" if exc.code == "usage" else f"invite.error.{exc.code}"
    ctx.responder.send(ctx.t(key, **{k: html.escape(str(v)) for k, v in exc.params.items()}))


async def _choices(ctx: Context, invitations: Invitations) -> InlineKeyboardMarkup:
    t = ctx.t

    def button(text: str, data: InviteChoice) -> list[InlineKeyboardButton]:
        return [InlineKeyboardButton(text=text, callback_data=data.pack())]

    rows = [button(t(f"group.{g}"), InviteChoice(kind="g", ref=g)) for g in invitations.groups]
    rows += [
        button(f"{c.name}", InviteChoice(kind="c", ref=str(c.id)))
        for c in await invitations.committees.active(ctx.session)
    ]
    rows.append(button(t("invite.list_button"), InviteChoice(kind="l")))
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def on_choice(
    callback: CallbackQuery,
    callback_data: InviteChoice,
    ctx: Context,
    member: Member,
    invitations: Invitations,
    bot: Bot,
) -> None:
    """A button of /invite: a link without limits for that group or committee, or the list."""
    ctx.responder.answer_callback(callback)
    if callback_data.kind == "l":
        ctx.responder.send(await _list(ctx, invitations, bot))
        return
    group = callback_data.ref if callback_data.kind == "g" else None
    ref = callback_data.ref if callback_data.kind == "c" else None
    try:
        made = await invitations.create(ctx.session, group=group, committee=ref, actor=member)
    except InviteError as exc:
        _error(exc, ctx)
        return
    await _send_link(made, bot, ctx)


def seat_buttons(offer: SeatOffer, t: Translator) -> InlineKeyboardMarkup:
    """Yes and No to the committee seat a link offers a member."""
    answers = (("common.yes", True), ("common.no", False))
    row = [
        InlineKeyboardButton(
            text=t(key), callback_data=SeatAnswer(invite=offer.invite_id, take=take).pack()
        )
        for key, take in answers
    ]
    return InlineKeyboardMarkup(inline_keyboard=[row])


async def on_seat_answer(
    callback: CallbackQuery,
    callback_data: SeatAnswer,
    ctx: Context,
    invitations: Invitations,
) -> None:
    """A member took (or declined) the committee seat a link offered them."""
    responder, member = ctx.responder, ctx.member
    responder.answer_callback(callback)
    if callback.message is not None:
        responder.remove_buttons(callback.message.message_id)
    if member is None:
        return
    if not callback_data.take:
        responder.send(ctx.t("invite.seat.declined"))
        return
    said = await invitations.take_seat(ctx.session, invite_id=callback_data.invite, member=member)
    if said is not None:
        params = {k: html.escape(str(v)) for k, v in said.params.items()}
        responder.send(ctx.t(said.key, **params))


def create_router() -> Router:
    """The invitations router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_invite, command("invite"), Coordinator())
    router.message.register(refuse("invite.refused"), command("invite"))
    router.callback_query.register(on_choice, InviteChoice.filter(), Coordinator())
    router.callback_query.register(refuse("invite.refused"), InviteChoice.filter())
    router.callback_query.register(on_seat_answer, SeatAnswer.filter())
    return router
