"""/promote and /demote: admins give and take the coordinator and admin roles."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import Message

from bot.domain.champions import DEMOTED
from bot.domain.clock import Clock
from bot.domain.ids import parse_telegram_id
from bot.services.champions import Champions
from bot.storage import audit, repo
from bot.storage.models import Member, MemberRole
from bot.telegram.access import Admin, refuse
from bot.telegram.context import Context
from bot.telegram.filters import command

GRANTABLE = {MemberRole.COORDINATOR.value, MemberRole.ADMIN.value}
# How much of a mistyped id is repeated back.
ID_SHOWN = 40


async def on_change_role(
    message: Message,
    command: CommandObject,
    ctx: Context,
    member: Member,
    clock: Clock,
    champions: Champions | None = None,
) -> None:
    """`/promote <telegram id> [coordinator|admin]`, or `/demote <telegram id>`: back to a
    plain member (coordinators hear of a key person's)."""
    session, t, responder = ctx.session, ctx.t, ctx.responder
    promote = command.command.lower() == "promote"
    locale = t.locale
    args = (command.args or "").split()
    usage = "roles.usage_promote" if promote else "roles.usage_demote"
    if not args or not args[0].lstrip("-").isdigit():
        responder.text(usage, locale=locale)
        return
    telegram_id = parse_telegram_id(args[0])
    if telegram_id is None:
        responder.text("roles.invalid_id", locale=locale, id=args[0][:ID_SHOWN], then=usage)
        return
    role = args[1].lower() if promote and len(args) > 1 else MemberRole.COORDINATOR.value
    if not promote:
        role = MemberRole.MEMBER.value
    elif role not in GRANTABLE:
        responder.text(usage, locale=locale)
        return
    target = await repo.get_member_by_telegram_id(session, telegram_user_id=telegram_id)
    if target is None:
        responder.text("roles.unknown_member", locale=locale, id=args[0])
        return
    if target.id == member.id and not promote:
        responder.text("roles.not_yourself", locale=locale)
        return
    previous, target_label = target.role, audit.member_label(target)
    await repo.update_member(session, member=target, changes={"role": role}, now=clock.now())
    await audit.record(
        session,
        actor=member,
        action="role.promoted" if promote else "role.demoted",
        detail={
            "target_member_id": target.id,
            "target": target_label,
            "role": role,
            "previous": previous,
        },
        now=clock.now(),
    )
    if not promote and previous != role and champions is not None:
        await champions.departed(session, target, DEMOTED)
    name = target.display_name or args[0]
    label = t(f"roles.name.{role}")
    responder.text("roles.changed", locale=locale, name=name, role=label)


def create_router() -> Router:
    """The roles router."""
    router = Router(name=__name__)
    router.message.register(on_change_role, command("promote", "demote"), Admin())
    router.message.register(refuse("roles.admins_only"), command("promote", "demote"))
    return router
