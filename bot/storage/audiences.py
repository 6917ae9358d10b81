"""The one SQL filter of an `Audience`: broadcasts, schedules, digests and counts all use it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.audiences import Audience
from bot.storage.committees import in_committees
from bot.storage.models import Member, MemberStatus


def audience_filter(audience: Audience) -> list[ColumnElement[bool]]:
    """Conditions on Member: active, and in every non-empty part of the audience."""
    found = [col(Member.status) == MemberStatus.ACTIVE]
    if audience.committees:
        found.append(in_committees(audience.committees))
    if audience.groups:
        found.append(col(Member.stakeholder_group).in_(list(audience.groups)))
    if audience.languages:
        found.append(col(Member.language).in_(list(audience.languages)))
    return found


async def list_audience(session: AsyncSession, audience: Audience) -> list[Member]:
    """The audience's members, by id."""
    query = select(Member).where(*audience_filter(audience)).order_by(col(Member.id))
    return list((await session.exec(query)).all())


async def count_audience(session: AsyncSession, audience: Audience) -> int:
    """How many members `list_audience` would return."""
    query: Any = select(func.count()).select_from(Member).where(*audience_filter(audience))
    return int((await session.exec(query)).one())
