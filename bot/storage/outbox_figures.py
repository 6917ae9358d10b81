"""Outbox figures: how a broadcast fared, how deep the queue is, what the sender did.

Read-only counting queries over `outboxmessage` (and the running `deliverycount` totals the
sender adds to with each group of outcomes), for progress reports, /metrics and benchmarks.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import DeliveryCount, OutboxMessage, OutboxStatus
from bot.storage.outbox import PENDING


async def _count_by(
    session: AsyncSession, column: Any, *conditions: ColumnElement[bool]
) -> dict[str, int]:
    query = select(column, func.count()).where(*conditions).group_by(column)
    return {str(key): int(n) for key, n in (await session.exec(query)).all()}


# A recipient's outcome is the furthest from delivered of their messages' (a long update goes
# out as several): reached once every part is sent, waiting while one still waits.
_OUTCOME_ORDER = (
    OutboxStatus.SENT,
    OutboxStatus.SKIPPED,
    OutboxStatus.FAILED,
    OutboxStatus.QUEUED,
    OutboxStatus.SENDING,
)
_OUTCOME_RANK = case(
    *((col(OutboxMessage.status) == s, n) for n, s in enumerate(_OUTCOME_ORDER)), else_=0
)


def _recipients(broadcast_id: int) -> Any:
    """Each recipient of a broadcast (by chat) with the rank of their outcome."""
    return (
        select(OutboxMessage.chat_id, func.max(_OUTCOME_RANK).label("outcome"))
        .where(col(OutboxMessage.broadcast_id) == broadcast_id)
        .group_by(col(OutboxMessage.chat_id))
        .subquery()
    )


async def broadcast_counts(session: AsyncSession, *, broadcast_id: int) -> dict[str, int]:
    """How many of a broadcast's recipients are in each status (every status is present)."""
    recipients = _recipients(broadcast_id)
    query = select(recipients.c.outcome, func.count()).group_by(recipients.c.outcome)
    found = {int(rank): int(n) for rank, n in (await session.exec(query)).all()}
    return {s.value: found.get(n, 0) for n, s in enumerate(_OUTCOME_ORDER)}


async def broadcast_failures(session: AsyncSession, *, broadcast_id: int) -> dict[str, int]:
    """Why recipients a broadcast did not reach were given up: reason -> how many, each
    recipient counted once, by the first of their messages that ended as they did."""
    recipients = _recipients(broadcast_id)
    given_up = [_OUTCOME_ORDER.index(s) for s in (OutboxStatus.SKIPPED, OutboxStatus.FAILED)]
    first = (
        select(func.min(OutboxMessage.id))
        .join(recipients, recipients.c.chat_id == col(OutboxMessage.chat_id))
        .where(
            col(OutboxMessage.broadcast_id) == broadcast_id,
            recipients.c.outcome == _OUTCOME_RANK,
            recipients.c.outcome.in_(given_up),
        )
        .group_by(col(OutboxMessage.chat_id))
    )
    query = (
        select(OutboxMessage.last_error, func.count())
        .where(col(OutboxMessage.id).in_(first))
        .group_by(col(OutboxMessage.last_error))
    )
    return {reason or "unknown": int(n) for reason, n in (await session.exec(query)).all()}


async def outbox_depth(session: AsyncSession) -> dict[str, int]:
    """How many messages wait to be sent (`queued`) and are being sent (`sending`)."""
    found = await _count_by(
        session, col(OutboxMessage.status), col(OutboxMessage.status).in_(PENDING)
    )
    return {status.value: found.get(status.value, 0) for status in PENDING}


async def oldest_due_at(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When the message that has waited longest came due (queued or being sent), if any."""
    query = select(func.min(OutboxMessage.next_attempt_at)).where(
        col(OutboxMessage.status).in_(PENDING), col(OutboxMessage.next_attempt_at) <= now
    )
    return (await session.exec(query)).one()


async def add_delivery_counts(session: AsyncSession, *, counts: Mapping[str, int]) -> None:
    """Add a group's outcomes (outcome -> how many) to the deployment's delivery counts."""
    for outcome, n in sorted(counts.items()):
        if n <= 0:
            continue
        statement = (
            update(DeliveryCount)
            .where(col(DeliveryCount.outcome) == outcome)
            .values(total=col(DeliveryCount.total) + n)
        )
        result = await session.exec(statement.execution_options(synchronize_session=False))
        if not result.rowcount:
            session.add(DeliveryCount(outcome=outcome, total=n))
            await session.flush()


async def delivery_counts(session: AsyncSession) -> dict[str, int]:
    """Outbox sends by outcome over the deployment's life: sent, retried, failed, ..."""
    rows = await session.exec(select(DeliveryCount.outcome, DeliveryCount.total))
    return {outcome: int(total) for outcome, total in rows.all()}
