"""Committee queries: the bodies of the partnership and who sits on them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, delete, exists, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import (
    Committee,
    CommitteeCategory,
    CommitteeMember,
    Member,
    MemberRole,
    MemberStatus,
)

COORDINATING = (MemberRole.COORDINATOR.value, MemberRole.ADMIN.value)


async def create_committee(
    session: AsyncSession,
    *,
    name: str,
    purpose: str | None,
    created_by: int | None,
    now: datetime,
) -> Committee:
    """Record a new committee."""
    committee = Committee(name=name, purpose=purpose, created_by=created_by, created_at=now)
    session.add(committee)
    await session.flush()
    return committee


async def get_committee(session: AsyncSession, *, committee_id: int) -> Committee | None:
    """A committee by id."""
    return await session.get(Committee, committee_id)


async def find_committee(
    session: AsyncSession, *, name: str, active_only: bool = False
) -> Committee | None:
    """A committee by name, ignoring case; with `active_only`, not an archived one."""
    query = select(Committee).where(func.lower(col(Committee.name)) == name.strip().lower())
    if active_only:
        query = query.where(col(Committee.archived_at).is_(None))
    return (await session.exec(query)).first()


async def list_committees(
    session: AsyncSession, *, include_archived: bool = False
) -> list[Committee]:
    """Committees, oldest first."""
    query = select(Committee).order_by(col(Committee.id))
    if not include_archived:
        query = query.where(col(Committee.archived_at).is_(None))
    return list((await session.exec(query)).all())


async def archive_committee(session: AsyncSession, *, committee: Committee, now: datetime) -> None:
    """Archive a committee: it keeps its history but receives nothing new."""
    committee.archived_at = now
    session.add(committee)
    await session.flush()


async def seat(
    session: AsyncSession, *, committee_id: int, member_id: int, is_chair: bool, now: datetime
) -> CommitteeMember:
    """Put a member on a committee (or change whether they chair it)."""
    row = await session.get(CommitteeMember, (committee_id, member_id))
    if row is None:
        row = CommitteeMember(
            committee_id=committee_id, member_id=member_id, is_chair=is_chair, added_at=now
        )
    else:
        row.is_chair = is_chair
    session.add(row)
    await session.flush()
    return row


async def is_seated(session: AsyncSession, *, committee_id: int, member_id: int) -> bool:
    """Whether the member sits on the committee."""
    return await session.get(CommitteeMember, (committee_id, member_id)) is not None


async def unseat(session: AsyncSession, *, committee_id: int, member_id: int) -> bool:
    """Take a member off a committee; False when they were not on it."""
    result = await session.exec(
        delete(CommitteeMember).where(
            col(CommitteeMember.committee_id) == committee_id,
            col(CommitteeMember.member_id) == member_id,
        )
    )
    return bool(result.rowcount)


async def list_seats(session: AsyncSession, *, committee_id: int) -> list[tuple[Member, bool]]:
    """The committee's members with whether each chairs it, chairs first."""
    query = (
        select(Member, CommitteeMember.is_chair)
        .join(CommitteeMember, col(CommitteeMember.member_id) == col(Member.id))
        .where(col(CommitteeMember.committee_id) == committee_id)
        .order_by(col(CommitteeMember.is_chair).desc(), col(Member.id))
    )
    return [(member, bool(chair)) for member, chair in (await session.exec(query)).all()]


def in_committees(committee_ids: Sequence[int]) -> ColumnElement[bool]:
    """A condition on Member: sits on one of the committees (resolved when the query runs)."""
    return exists().where(
        col(CommitteeMember.member_id) == col(Member.id),
        col(CommitteeMember.committee_id).in_(list(committee_ids)),
    )


async def list_coordinators(
    session: AsyncSession, *, committee_id: int | None = None
) -> list[Member]:
    """Active coordinators and admins, or those of a committee (its chairs count too)."""
    query = select(Member).where(col(Member.status) == MemberStatus.ACTIVE).order_by(col(Member.id))
    if committee_id is None:
        return list((await session.exec(query.where(col(Member.role).in_(COORDINATING)))).all())
    seated = (
        select(CommitteeMember.member_id)
        .where(col(CommitteeMember.committee_id) == committee_id)
        .where((col(Member.role).in_(COORDINATING)) | col(CommitteeMember.is_chair))
        .where(col(CommitteeMember.member_id) == col(Member.id))
    )
    return list((await session.exec(query.where(seated.exists()))).all())


async def list_categories(session: AsyncSession) -> dict[int, frozenset[str]]:
    """The concern categories each committee handles, by committee id."""
    found: dict[int, set[str]] = {}
    for row in (await session.exec(select(CommitteeCategory))).all():
        found.setdefault(row.committee_id, set()).add(row.category)
    return {committee: frozenset(categories) for committee, categories in found.items()}


async def set_categories(
    session: AsyncSession, *, committee_id: int, categories: Sequence[str], now: datetime
) -> dict[str, int]:
    """The committee handles exactly these categories, taken from any committee that had one;
    the categories taken, with the committee each came from."""
    rows = (await session.exec(select(CommitteeCategory))).all()
    taken = {
        r.category: r.committee_id
        for r in rows
        if r.category in categories and r.committee_id != committee_id
    }
    await session.exec(
        delete(CommitteeCategory).where(
            (col(CommitteeCategory.committee_id) == committee_id)
            | col(CommitteeCategory.category).in_(list(categories))
        )
    )
    for category in categories:
        session.add(CommitteeCategory(category=category, committee_id=committee_id, added_at=now))
    await session.flush()
    return taken
