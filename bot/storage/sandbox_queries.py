"""Read-only queries for the sandbox: the web simulator's outbox panel, the update ids handled."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import OutboxMessage, OutboxStatus, ProcessedUpdate


@dataclass(frozen=True)
class OutboxSummary:
    """How many outbox rows are in each status, and the newest rows."""

    counts: dict[str, int]
    latest: list[OutboxMessage]


async def summarise_outbox(session: AsyncSession, *, latest: int = 20) -> OutboxSummary:
    """Count the outbox by status (every status listed, zeros too) and read the newest rows."""
    counts = {status.value: 0 for status in OutboxStatus}
    query = select(OutboxMessage.status, func.count()).group_by(col(OutboxMessage.status))
    for status, count in (await session.exec(query)).all():
        counts[status] = int(count)
    rows = await session.exec(
        select(OutboxMessage).order_by(col(OutboxMessage.id).desc()).limit(latest)
    )
    return OutboxSummary(counts=counts, latest=list(rows.all()))


async def highest_handled_update_id(session: AsyncSession) -> int:
    """The highest update id the bot remembers handling (0 when none)."""
    highest = (await session.exec(select(func.max(ProcessedUpdate.update_id)))).one()
    return int(highest or 0)
