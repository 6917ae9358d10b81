"""Committee group queries: bind, find, follow a migration, unbind; and how an outbox row
names the purpose it is posted for (`group_source`), so the sender finds its forum topic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.group_models import CommitteeGroup, GroupPurpose
from bot.storage.models import OutboxMessage, OutboxStatus

# The `source` of an outbox row posted in a committee's group: "group:<purpose>".
GROUP_SOURCE = "group:"


def group_source(purpose: GroupPurpose) -> str:
    """The outbox `source` of a post for `purpose`."""
    return GROUP_SOURCE + purpose.value


def purpose_of(source: str) -> GroupPurpose | None:
    """The purpose an outbox row was posted for, if it is a group post."""
    if not source.startswith(GROUP_SOURCE):
        return None
    try:
        return GroupPurpose(source.removeprefix(GROUP_SOURCE))
    except ValueError:
        return None


async def group_of_committee(session: AsyncSession, *, committee_id: int) -> CommitteeGroup | None:
    """The group a committee is bound to, if any."""
    return await session.get(CommitteeGroup, committee_id)


async def group_of_chat(session: AsyncSession, *, chat_id: int) -> CommitteeGroup | None:
    """The binding of a chat, if the chat is a committee's group."""
    found = await session.exec(select(CommitteeGroup).where(col(CommitteeGroup.chat_id) == chat_id))
    return found.first()


async def bind_group(
    session: AsyncSession,
    *,
    committee_id: int,
    chat_id: int,
    title: str,
    is_forum: bool,
    bound_by: int | None,
    now: datetime,
) -> CommitteeGroup:
    """Bind `chat_id` to the committee, replacing the committee's former group and the
    chat's former committee (a chat serves one committee); the chat's forum topics are kept,
    so binding again creates none."""
    former = await group_of_chat(session, chat_id=chat_id)
    threads = {p: former.thread_for(p) for p in GroupPurpose} if former is not None else {}
    await session.exec(
        delete(CommitteeGroup).where(
            (col(CommitteeGroup.chat_id) == chat_id)
            | (col(CommitteeGroup.committee_id) == committee_id)
        )
    )
    group = CommitteeGroup(
        committee_id=committee_id,
        chat_id=chat_id,
        title=title,
        is_forum=is_forum,
        bound_by=bound_by,
        bound_at=now,
    )
    if is_forum:
        for purpose, thread_id in threads.items():
            setattr(group, f"{purpose.value}_thread_id", thread_id)
    session.add(group)
    await session.flush()
    return group


async def list_groups(session: AsyncSession) -> list[CommitteeGroup]:
    """Every bound group, by committee."""
    found = await session.exec(select(CommitteeGroup).order_by(col(CommitteeGroup.committee_id)))
    return list(found.all())


async def set_thread(
    session: AsyncSession, *, group: CommitteeGroup, purpose: GroupPurpose, thread_id: int | None
) -> None:
    """Remember the forum topic used for `purpose`."""
    setattr(group, f"{purpose.value}_thread_id", thread_id)
    session.add(group)
    await session.flush()


async def migrate_chat(session: AsyncSession, *, old_chat_id: int, new_chat_id: int) -> bool:
    """A group became a supergroup: its binding follows the new id. False if unbound."""
    result = await session.exec(
        update(CommitteeGroup)
        .where(col(CommitteeGroup.chat_id) == old_chat_id)
        .values(chat_id=new_chat_id)
    )
    return bool(result.rowcount)


async def unbind_chat(session: AsyncSession, *, chat_id: int) -> CommitteeGroup | None:
    """Forget a chat's binding (the bot left or was removed), and give up the posts still
    queued for it; the former binding, if any."""
    group = await group_of_chat(session, chat_id=chat_id)
    if group is not None:
        await session.delete(group)
        await session.exec(
            update(OutboxMessage)
            .where(
                col(OutboxMessage.chat_id) == chat_id,
                col(OutboxMessage.status) == OutboxStatus.QUEUED,
                col(OutboxMessage.source).startswith(GROUP_SOURCE),
            )
            .values(status=OutboxStatus.SKIPPED, last_error="the group was unbound")
        )
        await session.flush()
    return group
