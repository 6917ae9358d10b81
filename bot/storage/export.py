"""The answers an export reads: named ones with their member and run, anonymous ones apart."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import Answer


async def list_answers_for_export(
    session: AsyncSession, *, flow_id: str | None = None, since: datetime | None = None
) -> Sequence[Answer]:
    """Answers (optionally of one flow, given at or after `since`), oldest first."""
    query = select(Answer).order_by(col(Answer.created_at), col(Answer.id))
    if flow_id is not None:
        query = query.where(Answer.flow_id == flow_id)
    if since is not None:
        query = query.where(col(Answer.created_at) >= since)
    return (await session.exec(query)).all()
