"""The answers an export reads, streamed in batches as plain records."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import select as select_columns
from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import Answer

BATCH = 1_000


class AnswerRecord(NamedTuple):
    """What an export needs of one answer (no ORM object: an export may read 100,000)."""

    member_id: int | None
    run_id: int | None
    flow_id: str
    question_key: str
    kind: str
    value_choice: str | None
    value_number: float | None
    value_text: str | None
    skipped: bool
    anonymous: bool
    proxy: bool
    stakeholder_group: str | None
    created_at: datetime


async def stream_answers_for_export(
    session: AsyncSession, *, flow_id: str | None = None, since: datetime | None = None
) -> AsyncIterator[Sequence[AnswerRecord]]:
    """Answers (optionally of one flow, given at or after `since`), oldest first, in batches:
    the event loop gets a turn between them."""
    columns = [getattr(Answer, name) for name in AnswerRecord._fields]
    query = select_columns(*columns).order_by(col(Answer.created_at), col(Answer.id))
    if flow_id is not None:
        query = query.where(col(Answer.flow_id) == flow_id)
    if since is not None:
        query = query.where(col(Answer.created_at) >= since)
    result = await session.stream(query.execution_options(yield_per=BATCH))
    async for rows in result.partitions():
        yield [AnswerRecord._make(row) for row in rows]
