"""Member commands: /start, /help, /cancel, /stop, flow commands such as /roles."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.types import Message

from bot.domain.champions import STOPPED
from bot.domain.clock import Clock
from bot.domain.invites import InviteState
from bot.services import proxy
from bot.services.champions import Champions
from bot.services.conversations import Conversations
from bot.services.invites import Invitations
from bot.services.parent_ties import ParentTies
from bot.services.reports import KINDS as REPORT_KINDS
from bot.storage.models import MemberStatus
from bot.telegram.access import is_coordinator
from bot.telegram.context import Context
from bot.telegram.filters import IsCommand, PrivateChat, command
from bot.telegram.group_chats import FROM_GROUP
from bot.telegram.routers.invites import seat_buttons


async def on_start(
    message: Message,
    command: CommandObject,
    ctx: Context,
    conversations: Conversations,
    invitations: Invitations | None = None,
) -> None:
    """Begin onboarding, resume an open flow, or welcome a member back; `/start <token>` came
    through an invitation link (a closed one is said politely, and onboarding goes on)."""
    session, member, responder = ctx.session, ctx.member, ctx.responder
    outcome = await conversations.start_command(session, user=ctx.user, member=member)
    token = (command.args or "").strip()
    if token == FROM_GROUP:
        token = ""  # the link a group gave to start the bot privately: no invitation
    offer = None
    if token and invitations is not None and member is not None:
        offer = await invitations.seat_for_member(session, token=token, member=member)
    if token and invitations is not None and offer is None:
        tag = None if member is not None else conversations.consent_tag(ctx.user.telegram_user_id)
        found = await invitations.opened(session, token=token, tag=tag)
        if found is not InviteState.OPEN:
            responder.text(f"invite.closed.{found}", locale=outcome.locale)
    responder.show(outcome)
    if offer is not None:
        responder.text(
            "invite.seat.offer",
            locale=outcome.locale,
            markup=seat_buttons(offer, responder.translator(outcome)),
            committee=offer.committee,
        )


async def on_help(message: Message, ctx: Context, parent_ties: ParentTies | None = None) -> None:
    """What the bot can do (and, for partners' representatives and coordinators, what they
    can do)."""
    t, member = ctx.t, ctx.member
    text = t("cmd.help") + t("concern.help") + t("mydata.help") + t("decisions.help_member")
    if parent_ties is not None and parent_ties.representative(member):
        text += t("parent.brief.help")
    if is_coordinator(member):
        text += t("cmd.help_coordinator") + t("ticket.help_coordinator") + t("export.help")
        kinds = "|".join((*REPORT_KINDS, "all"))
        text += t("report.help", kinds=kinds) + t("caucus.help") + t("champions.help")
        text += t("invite.help") + t("decisions.help") + t("group.help")
    ctx.responder.send(text)


async def on_cancel(
    message: Message, ctx: Context, conversations: Conversations, clock: Clock
) -> None:
    """Leave the open flow (a proxy session's end is audited)."""
    session, member = ctx.session, ctx.member
    recording = await proxy.running_proxy_run(session, member=member)
    ctx.responder.show(await conversations.cancel(session, user=ctx.user, member=member))
    if recording is not None and member is not None:
        await proxy.record_session(
            session, member=member, run=recording, event="cancelled", now=clock.now()
        )


async def on_stop(
    message: Message,
    ctx: Context,
    conversations: Conversations,
    champions: Champions | None = None,
) -> None:
    """Opt out of all messages until /start; coordinators hear of a key person stopping."""
    session, member = ctx.session, ctx.member
    was_active = member is not None and member.status == MemberStatus.ACTIVE
    ctx.responder.show(await conversations.stop(session, user=ctx.user, member=member))
    if champions is not None and member is not None and was_active:
        await champions.departed(session, member, STOPPED)


async def on_other_command(message: Message, ctx: Context, conversations: Conversations) -> None:
    """A flow's own command (e.g. /roles), or an unknown command."""
    name = (message.text or "").split()[0].lstrip("/").split("@")[0].lower()
    flow = conversations.flows.by_command(name)
    if flow is None:
        ctx.responder.text("chat.unknown_command", locale=ctx.locale)
        return
    if ctx.member is None:
        outcome = await conversations.start_command(ctx.session, user=ctx.user, member=None)
    else:
        outcome = await conversations.begin(
            ctx.session, user=ctx.user, member=ctx.member, flow_id=flow.id
        )
    ctx.responder.show(outcome)


def create_router() -> Router:
    """The commands router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_start, CommandStart(ignore_case=True))
    router.message.register(on_help, command("help"))
    router.message.register(on_cancel, command("cancel"))
    router.message.register(on_stop, command("stop"))
    router.message.register(on_other_command, IsCommand())
    return router
