"""Invitation queries: the links, their uses, and the link a person is about to join through."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import ConsentPrompt, Invite, Member


async def create_invite(
    session: AsyncSession,
    *,
    token: str,
    stakeholder_group: str | None,
    committee_id: int | None,
    label: str | None,
    created_by: int | None,
    expires_at: datetime | None,
    max_uses: int | None,
    now: datetime,
) -> Invite:
    """Record a new link; flushed, the caller commits."""
    invite = Invite(
        token=token,
        stakeholder_group=stakeholder_group,
        committee_id=committee_id,
        label=label,
        created_by=created_by,
        created_at=now,
        expires_at=expires_at,
        max_uses=max_uses,
    )
    session.add(invite)
    await session.flush()
    return invite


async def get_invite(session: AsyncSession, *, invite_id: int) -> Invite | None:
    """A link by id."""
    return await session.get(Invite, invite_id)


async def find_invite(session: AsyncSession, *, token: str) -> Invite | None:
    """A link by its token."""
    return (await session.exec(select(Invite).where(col(Invite.token) == token))).first()


async def list_invites(session: AsyncSession) -> list[tuple[Invite, int]]:
    """Every link, newest first, with the number of members who joined through it and are
    still members (its `uses` also counts those who left since)."""
    joined = (
        select(func.count())
        .where(col(Member.invite_id) == col(Invite.id))
        .correlate(Invite)
        .scalar_subquery()
    )
    query = select(Invite, joined).order_by(col(Invite.id).desc())
    return [(invite, int(count)) for invite, count in (await session.exec(query)).all()]


async def revoke_invite(session: AsyncSession, *, invite: Invite, now: datetime) -> None:
    """Stop a link from admitting anyone."""
    invite.revoked_at = now
    session.add(invite)
    await session.flush()


async def count_use(session: AsyncSession, *, invite_id: int) -> None:
    """One more person joined through the link (counted in the database: two may join at once)."""
    await session.exec(
        update(Invite).where(col(Invite.id) == invite_id).values(uses=col(Invite.uses) + 1)
    )


async def remember_for_consent(session: AsyncSession, *, tag: str, invite_id: int) -> None:
    """Keep the link a person opened against their consent question until they answer it."""
    prompt = await session.get(ConsentPrompt, tag)
    if prompt is not None:
        prompt.invite_id = invite_id
        session.add(prompt)
        await session.flush()


async def invite_for_consent(session: AsyncSession, *, tag: str) -> int | None:
    """The link the person with this consent tag opened, if any."""
    prompt = await session.get(ConsentPrompt, tag)
    return None if prompt is None else prompt.invite_id
