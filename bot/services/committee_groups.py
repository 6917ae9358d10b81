"""Committees in their own Telegram groups: binding a group (audited), following it when it
becomes a supergroup or the bot leaves it, and posting in it.

`GroupPosts.post` is the one way any feature posts in a committee's group: the voice digest,
pulse results, "you said, we did" and ticket cards call it beside what they send each member
privately (members keep their private copy: they may have muted the group). A post is queued
in the caller's transaction through the outbox, paced at the group limit (20 a minute), in the
partnership's language, held until the partnership's quiet hours end; its `source` names its
purpose, and the sender puts it in that purpose's forum topic. Nothing personal is posted.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, time

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.domain.clock import Clock
from bot.domain.timing import quiet_hours_end, zone
from bot.i18n import Translator
from bot.services.committees import Committees
from bot.storage import audit, outbox
from bot.storage import committees as committee_store
from bot.storage import groups as store
from bot.storage.group_models import CommitteeGroup, GroupPurpose
from bot.storage.models import Committee, Member


class GroupPosts:
    """Posts in committees' groups, each in its purpose's topic."""

    def __init__(
        self, *, content: Content, partnership_timezone: str, quiet_start: time, quiet_end: time
    ) -> None:
        self.content = content
        self.tz = zone(None, partnership_timezone)
        self.quiet_start = quiet_start
        self.quiet_end = quiet_end

    async def post(
        self,
        session: AsyncSession,
        *,
        purpose: GroupPurpose,
        text_for: Callable[[Translator], str],
        committee_id: int | None = None,
        dedupe: str | None = None,
        now: datetime,
    ) -> int:
        """Queue a post for the group of `committee_id` (None: every bound group); how many
        groups it goes to. `dedupe` keeps a post from going twice to one group."""
        if committee_id is None:
            bound = await store.list_groups(session)
        else:
            one = await store.group_of_committee(session, committee_id=committee_id)
            bound = [] if one is None else [one]
        if not bound:
            return 0
        catalogs = self.content.catalogs
        t = catalogs.translator(catalogs.default)
        text = text_for(t)
        queued = 0
        for group in bound:
            rows = await outbox.enqueue(
                session,
                chat_id=group.chat_id,
                member_id=None,
                text=text,
                language=t.locale,
                source=store.group_source(purpose),
                dedupe_key=None if dedupe is None else f"{dedupe}:group:{group.committee_id}",
                not_before=quiet_hours_end(now, self.tz, self.quiet_start, self.quiet_end),
                now=now,
            )
            queued += bool(rows)
        return queued


class CommitteeGroups:
    """Which group each committee talks in: bound and unbound by coordinators (audited as
    `group.bound`, `group.unbound`), unbound when the bot leaves, moved when it is upgraded."""

    def __init__(self, *, clock: Clock, committees: Committees, content: Content) -> None:
        self.clock = clock
        self.committees = committees
        self.content = content

    async def bind(
        self,
        session: AsyncSession,
        *,
        ref: str,
        chat_id: int,
        title: str,
        is_forum: bool,
        actor: Member,
    ) -> tuple[Committee, CommitteeGroup]:
        """Bind the chat to the committee named `ref` (CommitteeError if there is none)."""
        committee = await self.committees.find(session, ref)
        assert committee.id is not None
        group = await store.bind_group(
            session,
            committee_id=committee.id,
            chat_id=chat_id,
            title=title[:255],
            is_forum=is_forum,
            bound_by=actor.id,
            now=self.clock.now(),
        )
        await self._audit(session, "group.bound", group, committee, actor)
        return committee, group

    async def of_chat(self, session: AsyncSession, *, chat_id: int) -> CommitteeGroup | None:
        """The chat's binding, if it is a committee's group."""
        return await store.group_of_chat(session, chat_id=chat_id)

    async def set_threads(
        self, session: AsyncSession, *, group: CommitteeGroup, threads: dict[GroupPurpose, int]
    ) -> None:
        """Remember the forum topics opened for the group's purposes."""
        for purpose, thread_id in threads.items():
            await store.set_thread(session, group=group, purpose=purpose, thread_id=thread_id)

    async def unbind(
        self, session: AsyncSession, *, chat_id: int, actor: Member | None, why: str
    ) -> Committee | None:
        """Forget the chat's binding (audited, with `why`); the committee it served, if any."""
        group = await store.unbind_chat(session, chat_id=chat_id)
        if group is None:
            return None
        committee = await committee_store.get_committee(session, committee_id=group.committee_id)
        await self._audit(session, "group.unbound", group, committee, actor, why=why)
        return committee

    async def removed(self, session: AsyncSession, *, chat_id: int, status: str) -> bool:
        """The bot left or was removed from the chat: unbind it and tell every coordinator
        privately. False if the chat was not bound."""
        group = await store.group_of_chat(session, chat_id=chat_id)
        if group is None:
            return False
        title = group.title
        committee = await self.unbind(session, chat_id=chat_id, actor=None, why=status)
        name = committee.name if committee is not None else "?"
        now = self.clock.now()
        for coordinator in await committee_store.list_coordinators(session):
            t = self.content.catalogs.translator(coordinator.language)
            await outbox.enqueue(
                session,
                chat_id=coordinator.chat_id,
                member_id=coordinator.id,
                text=t("group.removed", group=html.escape(title), committee=html.escape(name)),
                language=t.locale,
                source="group_removed",
                now=now,
            )
        return True

    async def tell(self, session: AsyncSession, *, chat_id: int, text: str) -> None:
        """Answer in a group, through the outbox (a reply: deleted once sent)."""
        await outbox.enqueue(
            session,
            chat_id=chat_id,
            member_id=None,
            text=text,
            source=outbox.REPLY,
            now=self.clock.now(),
        )

    async def migrated(self, session: AsyncSession, *, old_chat_id: int, new_chat_id: int) -> bool:
        """The group became a supergroup: its binding and its unsent posts follow it."""
        bound = await store.group_of_chat(session, chat_id=old_chat_id) is not None
        await outbox.move_chat(
            session, old_chat_id=old_chat_id, new_chat_id=new_chat_id, now=self.clock.now()
        )
        return bound

    async def _audit(
        self,
        session: AsyncSession,
        action: str,
        group: CommitteeGroup,
        committee: Committee | None,
        actor: Member | None,
        **detail: str,
    ) -> None:
        await audit.record(
            session,
            actor=actor,
            action=action,
            detail={
                "committee": group.committee_id,
                "name": committee.name if committee is not None else None,
                "chat": group.chat_id,
                **detail,
            },
            now=self.clock.now(),
        )
