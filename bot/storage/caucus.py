"""Caucus rounds' queries: rounds, who sits in each (the group at opening), entries, reactions.

Entries and reactions are written with a random key and no member (see `caucus_models`).
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.audiences import Audience
from bot.domain.caucus import Entry
from bot.storage.audiences import list_audience
from bot.storage.caucus_models import (
    CaucusEntry,
    CaucusReaction,
    CaucusRound,
    CaucusSeat,
    CaucusStatus,
)
from bot.storage.models import Member, MemberStatus


async def create_round(
    session: AsyncSession,
    *,
    group: str,
    committee_id: int,
    topic: str,
    opened_by: int | None,
    now: datetime,
) -> tuple[CaucusRound, list[Member]]:
    """A new open round and its seats: the group's active members now."""
    found = CaucusRound(
        stakeholder_group=group,
        committee_id=committee_id,
        topic=topic,
        opened_by=opened_by,
        opened_at=now,
    )
    session.add(found)
    await session.flush()
    assert found.id is not None
    members = await list_audience(session, Audience(groups=(group,)))
    session.add_all(CaucusSeat(round_id=found.id, member_id=m.id or 0) for m in members)
    await session.flush()
    return found, members


async def get_round(session: AsyncSession, *, round_id: int) -> CaucusRound | None:
    return await session.get(CaucusRound, round_id)


async def list_rounds(
    session: AsyncSession, *, statuses: Sequence[str] | None = None
) -> list[CaucusRound]:
    """Rounds by number, optionally only those in `statuses`."""
    query = select(CaucusRound).order_by(col(CaucusRound.id))
    if statuses is not None:
        query = query.where(col(CaucusRound.status).in_(list(statuses)))
    return list((await session.exec(query)).all())


async def awaiting_joint(session: AsyncSession, *, committee_id: int) -> list[CaucusRound]:
    """The committee's closed rounds not yet in a joint brief, by number."""
    query = (
        select(CaucusRound)
        .where(col(CaucusRound.committee_id) == committee_id)
        .where(col(CaucusRound.status) == CaucusStatus.CLOSED)
        .where(col(CaucusRound.joint_at).is_(None))
        .order_by(col(CaucusRound.id))
    )
    return list((await session.exec(query)).all())


async def set_status(
    session: AsyncSession, *, round_: CaucusRound, status: str, now: datetime
) -> None:
    round_.status = status
    if status == CaucusStatus.SHARED:
        round_.shared_at = now
    elif status == CaucusStatus.CLOSED:
        round_.closed_at = now
    session.add(round_)
    await session.flush()


async def mark_joint(session: AsyncSession, *, round_ids: Sequence[int], now: datetime) -> None:
    for round_id in round_ids:
        found = await session.get(CaucusRound, round_id)
        if found is not None:
            found.joint_at = now
            session.add(found)
    await session.flush()


async def get_seat(session: AsyncSession, *, round_id: int, member_id: int) -> CaucusSeat | None:
    return await session.get(CaucusSeat, (round_id, member_id))


async def seated_members(session: AsyncSession, *, round_id: int) -> list[Member]:
    """The round's group as it was at opening, still active, by id."""
    query = (
        select(Member)
        .join(CaucusSeat, col(CaucusSeat.member_id) == col(Member.id))
        .where(col(CaucusSeat.round_id) == round_id)
        .order_by(col(Member.id))
    )
    return [m for m in (await session.exec(query)).all() if m.status == MemberStatus.ACTIVE]


async def count_seats(session: AsyncSession, *, round_id: int) -> tuple[int, int]:
    """(seats, seats that answered)."""
    query = select(CaucusSeat).where(col(CaucusSeat.round_id) == round_id)
    seats = list((await session.exec(query)).all())
    return len(seats), sum(1 for s in seats if s.answered)


async def add_entry(session: AsyncSession, *, round_id: int, entry: Entry) -> None:
    session.add(
        CaucusEntry(
            id=secrets.token_hex(16),
            round_id=round_id,
            respondent=entry.respondent,
            kind=entry.kind,
            text=entry.text,
            priority=entry.priority,
            quotable=entry.quotable,
            added=entry.added,
        )
    )
    await session.flush()


async def list_entries(session: AsyncSession, *, round_id: int) -> list[Entry]:
    query = select(CaucusEntry).where(col(CaucusEntry.round_id) == round_id)
    return [
        Entry(e.kind, e.text, e.priority, e.quotable, e.respondent, e.added)
        for e in (await session.exec(query)).all()
    ]


async def add_reaction(session: AsyncSession, *, round_id: int, reaction: str) -> None:
    session.add(CaucusReaction(id=secrets.token_hex(16), round_id=round_id, reaction=reaction))
    await session.flush()


async def count_reactions(session: AsyncSession, *, round_id: int) -> dict[str, int]:
    query = select(CaucusReaction.reaction).where(col(CaucusReaction.round_id) == round_id)
    return dict(Counter((await session.exec(query)).all()))


async def save_seat(session: AsyncSession, *, seat: CaucusSeat) -> None:
    session.add(seat)
    await session.flush()


async def invited_rounds(
    session: AsyncSession, *, member_id: int
) -> list[tuple[CaucusSeat, CaucusRound]]:
    """The rounds a member was invited to, with their seat (for /mydata), by number."""
    query = select(CaucusSeat, CaucusRound).where(
        col(CaucusSeat.round_id) == col(CaucusRound.id), col(CaucusSeat.member_id) == member_id
    )
    return [(s, r) for s, r in (await session.exec(query.order_by(col(CaucusRound.id)))).all()]
