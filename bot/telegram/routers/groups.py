"""Committee groups: `/bind <committee>` and `/unbind` in a group, the bot leaving or being
removed from it (`my_chat_member`), and its upgrade to a supergroup (`migrate_to_chat_id`).

Only a coordinator who is an administrator of the group may bind it, and only where the bot
can post (and, in a forum, manage topics). These checks ask Telegram (getChatMember), so they
run after the update's transaction commits, in a transaction of their own: no database lock
waits on the network. Every answer goes through the outbox.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramMigrateToChat
from aiogram.filters import CommandObject, Filter
from aiogram.types import (
    ChatMemberAdministrator,
    ChatMemberOwner,
    ChatMemberRestricted,
    ChatMemberUpdated,
    Message,
)
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Translator
from bot.services.committee_groups import CommitteeGroups
from bot.services.committees import CommitteeError
from bot.storage.db import SessionFactory
from bot.storage.group_models import GroupPurpose
from bot.storage.models import Member
from bot.telegram.access import Coordinator, refuse
from bot.telegram.context import Context
from bot.telegram.filters import GroupChat, command
from bot.telegram.group_chats import is_migration
from bot.telegram.topics import ForumTopics

log = logging.getLogger(__name__)
GONE = frozenset({"left", "kicked"})
Say = Callable[[str], Awaitable[None]]


class Migration(Filter):
    """A service message: the group became a supergroup (in either chat)."""

    async def __call__(self, message: Message) -> bool:
        return is_migration(message)


async def refusal(bot: Bot, chat_id: int, user_id: int, *, forum: bool) -> str | None:
    """Why a bind cannot be made here (a locale key), or None: the person must administer the
    group, and the bot post in it (and, in a forum, manage topics)."""
    person = await bot.get_chat_member(chat_id, user_id)
    if not isinstance(person, ChatMemberOwner | ChatMemberAdministrator):
        return "group.bind.not_admin"
    me = await bot.get_chat_member(chat_id, bot.id)
    if me.status in GONE or (isinstance(me, ChatMemberRestricted) and not me.can_send_messages):
        return "group.bind.cannot_post"
    if forum and not (
        isinstance(me, ChatMemberOwner)
        or (isinstance(me, ChatMemberAdministrator) and me.can_manage_topics)
    ):
        return "group.bind.needs_topics"
    return None


class Binder:
    """Binds and unbinds after the command's update committed (see the module's docstring)."""

    def __init__(
        self,
        *,
        bot: Bot,
        writes: SessionFactory,
        groups: CommitteeGroups,
        topics: ForumTopics,
        t: Translator,
        message: Message,
    ) -> None:
        self.bot, self.writes, self.groups, self.topics = bot, writes, groups, topics
        self.t, self.message = t, message
        self.chat = message.chat

    async def _checked(self, *, forum: bool) -> bool:
        """Whether the sender may (un)bind here; if not, the group is told why."""
        assert self.message.from_user is not None
        try:
            problem = await refusal(self.bot, self.chat.id, self.message.from_user.id, forum=forum)
        except TelegramMigrateToChat:
            problem = "group.bind.migrated"
        except TelegramAPIError as exc:
            log.warning("chat %s: cannot check a bind (%s)", self.chat.id, exc.message)
            problem = "group.bind.failed"
        if problem is not None:
            await self._say(self.t(problem))
        return problem is None

    async def bind(self, ref: str, member: Member) -> None:
        forum = bool(self.chat.is_forum)
        if not await self._checked(forum=forum):
            return
        async with self.writes() as session:
            try:
                await self.groups.committees.find(session, ref)
            except CommitteeError as exc:
                params = {k: html.escape(str(v)) for k, v in exc.params.items()}
                await self._say(self.t(f"committee.error.{exc.code}", **params), session)
                await session.commit()
                return
            former = await self.groups.of_chat(session, chat_id=self.chat.id)
        # Topics are opened between two transactions: no database lock waits on Telegram.
        opened: dict[GroupPurpose, int] = {}
        refused = False
        for purpose in self.topics.missing(former, forum=forum):
            try:
                opened[purpose] = await self.topics.open(self.chat.id, purpose)
            except TelegramAPIError as exc:
                log.warning("chat %s: no %s topic (%s)", self.chat.id, purpose, exc.message)
                refused = True
        async with self.writes() as session:
            try:
                committee, group = await self.groups.bind(
                    session,
                    ref=ref,
                    chat_id=self.chat.id,
                    title=self.chat.title or "",
                    is_forum=forum,
                    actor=member,
                )
            except CommitteeError:  # archived in the meantime
                await self._say(self.t("committee.error.unknown", ref=html.escape(ref)), session)
                await session.commit()
                return
            await self.groups.set_threads(session, group=group, threads=opened)
            text = self.t("group.bound", committee=html.escape(committee.name))
            if forum:
                text += self.t("group.bound.topics_failed" if refused else "group.bound.topics")
            await self._say(text, session)
            await session.commit()

    async def unbind(self, member: Member) -> None:
        if not await self._checked(forum=False):
            return
        async with self.writes() as session:
            committee = await self.groups.unbind(
                session, chat_id=self.chat.id, actor=member, why="unbind"
            )
            if committee is None:
                await self._say(self.t("group.unbind.none"), session)
            else:
                name = html.escape(committee.name)
                await self._say(self.t("group.unbound", committee=name), session)
            await session.commit()

    async def _say(self, text: str, session: AsyncSession | None = None) -> None:
        """Tell the group, through the outbox (in `session`, or a transaction of its own)."""
        if session is not None:
            await self.groups.tell(session, chat_id=self.chat.id, text=text)
            return
        async with self.writes() as own:
            await self.groups.tell(own, chat_id=self.chat.id, text=text)
            await own.commit()


async def on_binding(
    message: Message,
    command: CommandObject,
    ctx: Context,
    member: Member,
    bot: Bot,
    writes: SessionFactory,
    committee_groups: CommitteeGroups,
    topics: ForumTopics,
) -> None:
    """`/bind <committee>` or `/unbind` in a group."""
    binder = Binder(
        bot=bot, writes=writes, groups=committee_groups, topics=topics, t=ctx.t, message=message
    )
    if command.command.lower() == "unbind":
        ctx.responder.later(lambda: binder.unbind(member))
        return
    ref = (command.args or "").strip()
    if not ref:
        ctx.responder.text("group.bind.usage", locale=ctx.locale)
        return
    ctx.responder.later(lambda: binder.bind(ref, member))


async def on_migration(message: Message, ctx: Context, committee_groups: CommitteeGroups) -> None:
    """The group became a supergroup: its binding (and its unsent posts) follow the new id."""
    if message.migrate_to_chat_id is not None:
        old, new = message.chat.id, message.migrate_to_chat_id
    else:
        assert message.migrate_from_chat_id is not None
        old, new = message.migrate_from_chat_id, message.chat.id
    if await committee_groups.migrated(ctx.session, old_chat_id=old, new_chat_id=new):
        log.info("committee group %s is now supergroup %s", old, new)


async def on_bot_status(
    event: ChatMemberUpdated, session: AsyncSession, committee_groups: CommitteeGroups
) -> None:
    """The bot left or was removed from a group: a bound one is unbound, coordinators told."""
    status = event.new_chat_member.status
    if status in GONE and await committee_groups.removed(
        session, chat_id=event.chat.id, status=status
    ):
        log.info("the bot is out of committee group %s (%s); unbound", event.chat.id, status)


def create_router() -> Router:
    """The committee groups router."""
    router = Router(name=__name__)
    router.message.filter(GroupChat())
    router.my_chat_member.filter(GroupChat())
    router.message.register(on_migration, Migration())
    router.message.register(on_binding, command("bind", "unbind"), Coordinator())
    router.message.register(refuse("group.bind.coordinators_only"), command("bind", "unbind"))
    router.my_chat_member.register(on_bot_status)
    return router
