"""Check-in queries: following the check-ins opened (answers, expiry, reminders) and their
figures. Opening them, set-based, is `bot/storage/checkin_opening.py`.

Like the other repository modules, every function works in the caller's session and never
commits: a check-in's occurrence row, flow run and outbox message commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    bindparam,
    exists,
    func,
    insert,
    update,
)
from sqlalchemy import select as select_columns
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.db import note_queued
from bot.storage.models import (
    CheckIn,
    CheckInStatus,
    FlowRun,
    Member,
    MemberStatus,
    OutboxMessage,
    OutboxStatus,
    RunStatus,
)

# Rows per INSERT statement in the bulk paths: large enough to be fast, small enough to stay
# under SQLite's limit on bound parameters.
BULK_CHUNK = 2000


async def plain_rows(session: AsyncSession, query: Any) -> list[tuple[Any, ...]]:
    """Plain rows of a select, read in the session's transaction."""
    return [tuple(row) for row in (await (await session.connection()).execute(query)).all()]


async def run_readers(session: AsyncSession, *, run_ids: Sequence[int]) -> dict[int, str]:
    """The name of each run's member, by run id (runs since erased are left out)."""
    query = (
        select_columns(col(FlowRun.id), col(Member.display_name))
        .join(Member, col(Member.id) == col(FlowRun.member_id))
        .where(col(FlowRun.id).in_(sorted(set(run_ids))))
    )
    return {int(run_id): name for run_id, name in await plain_rows(session, query)}


@dataclass(frozen=True, slots=True)
class QueuedMessage:
    """One single-part text message for the outbox (what `outbox.enqueue` stores for one)."""

    chat_id: int
    member_id: int
    text: str
    reply_markup: Mapping[str, Any] | None
    language: str
    dedupe_key: str
    # The run whose open question the message asks (see `outbox.enqueue`).
    asks_run: int | None = None


async def insert_messages(
    session: AsyncSession, messages: Sequence[QueuedMessage], *, source: str, now: datetime
) -> None:
    """Queue many one-part text messages at once, as `outbox.enqueue` would one by one."""
    if messages:
        note_queued(session)
    connection = await session.connection()
    for start in range(0, len(messages), BULK_CHUNK):
        rows = [
            {
                "chat_id": m.chat_id,
                "member_id": m.member_id,
                "source": source,
                "dedupe_key": m.dedupe_key,
                "kind": "text",
                "language": m.language,
                "text": m.text,
                "reply_markup": dict(m.reply_markup) if m.reply_markup else None,
                "run_id": m.asks_run,
                "status": OutboxStatus.QUEUED,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for m in messages[start : start + BULK_CHUNK]
        ]
        await connection.execute(insert(OutboxMessage), rows)


# -- following check-ins ----------------------------------------------------------------------


async def settle_checkins(session: AsyncSession) -> int:
    """Check-ins whose run ended (answered or left) take the run's outcome."""
    run = aliased(FlowRun)
    ended = select(run.status).where(col(run.id) == col(CheckIn.run_id)).scalar_subquery()
    finished = select(run.finished_at).where(col(run.id) == col(CheckIn.run_id)).scalar_subquery()
    is_ended = exists().where(
        col(run.id) == col(CheckIn.run_id), col(run.status) != RunStatus.RUNNING
    )
    statement = (
        update(CheckIn)
        .where(col(CheckIn.status) == CheckInStatus.SENT, is_ended)
        .values(status=ended, finished_at=finished, next_reminder_at=None)
        .execution_options(synchronize_session=False)
    )
    result = await session.exec(statement)
    return int(result.rowcount or 0)


@dataclass(frozen=True, slots=True)
class Expiring:
    """A check-in whose window closed while its run was still open."""

    checkin_id: int
    run_id: int | None
    flow_id: str | None
    answers: Mapping[str, Any] | None
    closes_at: datetime


async def expiring_checkins(session: AsyncSession, *, now: datetime) -> list[Expiring]:
    """Sent check-ins whose window has closed."""
    query = (
        select_columns(
            col(CheckIn.id),
            col(CheckIn.run_id),
            col(FlowRun.flow_id),
            col(FlowRun.answers),
            col(CheckIn.closes_at),
        )
        .outerjoin(FlowRun, col(FlowRun.id) == col(CheckIn.run_id))
        .where(col(CheckIn.status) == CheckInStatus.SENT, col(CheckIn.closes_at) <= now)
        .order_by(col(CheckIn.id))
    )
    return [Expiring(*row) for row in await plain_rows(session, query)]


async def expire_checkins(
    session: AsyncSession,
    *,
    expiring: Sequence[Expiring],
    answers: Mapping[int, Mapping[str, Any]],
    now: datetime,
) -> None:
    """Close the runs of `expiring` as expired (storing `answers` by run id where given)."""
    run_ids = [e.run_id for e in expiring if e.run_id is not None]
    checkin_ids = [e.checkin_id for e in expiring]
    for start in range(0, len(run_ids), BULK_CHUNK):
        chunk = run_ids[start : start + BULK_CHUNK]
        await session.exec(
            update(FlowRun)
            .where(col(FlowRun.id).in_(chunk), col(FlowRun.status) == RunStatus.RUNNING)
            .values(status=RunStatus.EXPIRED, updated_at=now, finished_at=now)
            .execution_options(synchronize_session=False)
        )
    for run_id, kept in answers.items():
        await session.exec(
            update(FlowRun)
            .where(col(FlowRun.id) == run_id)
            .values(answers=dict(kept))
            .execution_options(synchronize_session=False)
        )
    for start in range(0, len(checkin_ids), BULK_CHUNK):
        await session.exec(
            update(CheckIn)
            .where(col(CheckIn.id).in_(checkin_ids[start : start + BULK_CHUNK]))
            .values(status=CheckInStatus.EXPIRED, finished_at=now, next_reminder_at=None)
            .execution_options(synchronize_session=False)
        )


@dataclass(frozen=True, slots=True)
class StaleRun:
    """An open run that no check-in window closes, untouched since `before`."""

    run_id: int
    flow_id: str
    answers: Mapping[str, Any] | None
    member_id: int
    chat_id: int
    language: str
    member_status: str


async def stale_runs(session: AsyncSession, *, before: datetime) -> list[StaleRun]:
    """Running runs last touched before `before` that belong to no check-in (those expire when
    their own window closes)."""
    of_checkin = exists().where(col(CheckIn.run_id) == col(FlowRun.id))
    query = (
        select_columns(
            col(FlowRun.id),
            col(FlowRun.flow_id),
            col(FlowRun.answers),
            col(Member.id),
            col(Member.chat_id),
            col(Member.language),
            col(Member.status),
        )
        .join(Member, col(Member.id) == col(FlowRun.member_id))
        .where(
            col(FlowRun.status) == RunStatus.RUNNING,
            col(FlowRun.updated_at) <= before,
            ~of_checkin,
        )
        .order_by(col(FlowRun.id))
    )
    return [StaleRun(*row) for row in await plain_rows(session, query)]


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A check-in whose member has not finished and is due a reminder, with the run's state."""

    checkin_id: int
    schedule_id: int
    reminders_sent: int
    sent_at: datetime
    member_id: int
    chat_id: int
    language: str
    time_zone: str | None
    display_name: str
    run_id: int
    flow_id: str
    flow_version: int
    node_id: str | None
    answers: dict[str, Any] | None
    selected: list[str] | None


async def due_reminders(
    session: AsyncSession, *, now: datetime, schedule_ids: Sequence[int]
) -> list[DueReminder]:
    """Open check-ins of active members past their next reminder time, whose run is still the
    member's open conversation."""
    if not schedule_ids:
        return []
    other = aliased(FlowRun)
    newer_run = exists().where(
        col(other.member_id) == col(CheckIn.member_id),
        col(other.status) == RunStatus.RUNNING,
        col(other.id) > col(CheckIn.run_id),
    )
    query = (
        select_columns(
            col(CheckIn.id),
            col(CheckIn.schedule_id),
            col(CheckIn.reminders_sent),
            col(CheckIn.sent_at),
            col(Member.id),
            col(Member.chat_id),
            col(Member.language),
            col(Member.time_zone),
            col(Member.display_name),
            col(FlowRun.id),
            col(FlowRun.flow_id),
            col(FlowRun.flow_version),
            col(FlowRun.node_id),
            col(FlowRun.answers),
            col(FlowRun.selected),
        )
        .join(Member, col(Member.id) == col(CheckIn.member_id))
        .join(FlowRun, col(FlowRun.id) == col(CheckIn.run_id))
        .where(
            col(CheckIn.status) == CheckInStatus.SENT,
            col(CheckIn.schedule_id).in_(list(schedule_ids)),
            col(CheckIn.next_reminder_at) <= now,
            col(CheckIn.closes_at) > now,
            col(Member.status) == MemberStatus.ACTIVE,
            col(FlowRun.status) == RunStatus.RUNNING,
            ~newer_run,
        )
        .order_by(col(CheckIn.id))
    )
    return [DueReminder(*row) for row in await plain_rows(session, query)]


async def record_reminders(
    session: AsyncSession, updates: Sequence[Mapping[str, Any]], *, run_ids: Sequence[int]
) -> None:
    """Count the reminders sent: each of `checkin_id`, `reminders_sent`, `next_reminder_at`.

    The reminder asks each run's question afresh, as /start does: a question set aside after
    misunderstandings (`run_ids`) is open to answers again.
    """
    if not updates:
        return
    for start in range(0, len(run_ids), BULK_CHUNK):
        await session.exec(
            update(FlowRun)
            .where(
                col(FlowRun.id).in_(run_ids[start : start + BULK_CHUNK]), col(FlowRun.misses) > 0
            )
            .values(misses=0)
            .execution_options(synchronize_session=False)
        )
    connection = await session.connection()
    statement = (
        update(CheckIn)
        .where(col(CheckIn.id) == bindparam("b_id"))
        .values(reminders_sent=bindparam("b_sent"), next_reminder_at=bindparam("b_next"))
    )
    rows = [
        {"b_id": u["checkin_id"], "b_sent": u["reminders_sent"], "b_next": u["next_reminder_at"]}
        for u in updates
    ]
    for start in range(0, len(rows), BULK_CHUNK):
        await connection.execute(statement, rows[start : start + BULK_CHUNK])


async def list_checkins(
    session: AsyncSession, *, schedule_id: int | None = None, member_id: int | None = None
) -> list[CheckIn]:
    """Check-ins, optionally of one schedule or one member, oldest first."""
    query = select(CheckIn).order_by(col(CheckIn.id))
    if schedule_id is not None:
        query = query.where(col(CheckIn.schedule_id) == schedule_id)
    if member_id is not None:
        query = query.where(col(CheckIn.member_id) == member_id)
    return list((await session.exec(query)).all())


async def checkin_counts(session: AsyncSession, *, schedule_id: int) -> dict[str, int]:
    """How many of a schedule's check-ins are in each status."""
    query = (
        select(CheckIn.status, func.count())
        .where(col(CheckIn.schedule_id) == schedule_id)
        .group_by(col(CheckIn.status))
    )
    return {str(status): int(n) for status, n in (await session.exec(query)).all()}
