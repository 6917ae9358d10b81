"""Schedules and their occurrences: what the coordinators set up, and which dates were handled.

Like the other repository modules, every function works in the caller's session and never
commits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.schedules import Basis, ScheduleSpec, occurrence_bounds, plan_occurrences
from bot.storage.models import (
    Member,
    MemberStatus,
    OccurrenceStatus,
    Schedule,
    ScheduleKind,
    ScheduleOccurrence,
    ScheduleStatus,
)

# -- schedules --------------------------------------------------------------------------------


async def create_schedule(
    session: AsyncSession,
    *,
    flow_id: str,
    recurrence: Mapping[str, Any],
    basis: str,
    audience: Mapping[str, Any],
    window_minutes: int,
    reminder_minutes: Sequence[int],
    created_by: int | None,
    now: datetime,
    default_key: str | None = None,
    kind: str = ScheduleKind.CHECKIN,
    committee_id: int | None = None,
) -> Schedule | None:
    """Record a new, active schedule; None if one with `default_key` already exists."""
    schedule = Schedule(
        kind=kind,
        committee_id=committee_id,
        flow_id=flow_id,
        recurrence=dict(recurrence),
        basis=basis,
        audience=dict(audience),
        window_minutes=window_minutes,
        reminder_minutes=list(reminder_minutes),
        status=ScheduleStatus.ACTIVE,
        default_key=default_key,
        created_by=created_by,
        active_from=now,
        settled_until=now,
        created_at=now,
        updated_at=now,
    )
    if default_key is not None:
        if await get_schedule_by_default_key(session, default_key=default_key) is not None:
            return None
        try:
            # Another process starting at the same moment may create the same default.
            async with session.begin_nested():
                session.add(schedule)
        except IntegrityError:
            return None
        return schedule
    session.add(schedule)
    await session.flush()
    return schedule


async def get_schedule(session: AsyncSession, *, schedule_id: int) -> Schedule | None:
    """A schedule by id (deleted ones included)."""
    return await session.get(Schedule, schedule_id)


async def get_schedule_by_default_key(
    session: AsyncSession, *, default_key: str
) -> Schedule | None:
    """The schedule created as the default named `default_key`, even if since deleted."""
    query = select(Schedule).where(col(Schedule.default_key) == default_key)
    return (await session.exec(query)).first()


async def list_schedules(
    session: AsyncSession,
    *,
    statuses: Sequence[str] = (ScheduleStatus.ACTIVE, ScheduleStatus.PAUSED),
) -> list[Schedule]:
    """Schedules in the given statuses, oldest first."""
    query = (
        select(Schedule).where(col(Schedule.status).in_(list(statuses))).order_by(col(Schedule.id))
    )
    return list((await session.exec(query)).all())


async def set_schedule_status(
    session: AsyncSession, *, schedule: Schedule, status: ScheduleStatus, now: datetime
) -> Schedule:
    """Pause, resume or delete; a resumed schedule owns only what comes due from now on."""
    if status == ScheduleStatus.ACTIVE and schedule.status != ScheduleStatus.ACTIVE:
        schedule.active_from = now
        schedule.settled_until = now
    schedule.status = status
    schedule.updated_at = now
    session.add(schedule)
    await session.flush()
    return schedule


async def mark_settled(session: AsyncSession, *, schedule: Schedule, until: datetime) -> None:
    """Relative schedules: every event whose window closed before `until` is handled."""
    schedule.settled_until = until
    session.add(schedule)
    await session.flush()


# -- occurrences ------------------------------------------------------------------------------


async def last_occurrence(session: AsyncSession, *, schedule_id: int) -> ScheduleOccurrence | None:
    """The latest occurrence handled for a schedule (keys are ISO dates, so they sort)."""
    query = (
        select(ScheduleOccurrence)
        .where(col(ScheduleOccurrence.schedule_id) == schedule_id)
        .order_by(col(ScheduleOccurrence.occurrence).desc())
    )
    return (await session.exec(query)).first()


async def record_occurrence(
    session: AsyncSession,
    *,
    schedule_id: int,
    spec: ScheduleSpec,
    day: date,
    basis: Basis,
    partnership: ZoneInfo,
    status: OccurrenceStatus,
    now: datetime,
) -> ScheduleOccurrence:
    """Record the occurrence of `spec` on `day` as opened or missed, with its bounds."""
    bounds = occurrence_bounds(
        spec.recurrence, day, basis=basis, partnership=partnership, window=spec.window
    )
    return await add_occurrence(
        session,
        schedule_id=schedule_id,
        occurrence=day.isoformat(),
        status=status,
        first_send_at=bounds.first_send,
        last_close_at=bounds.last_close,
        now=now,
    )


@dataclass(frozen=True)
class CaughtUp:
    """What `catch_up` recorded: the days missed, and the occurrence due now (if any)."""

    missed: tuple[date, ...]
    due: ScheduleOccurrence | None


async def catch_up(
    session: AsyncSession,
    *,
    schedule: Schedule,
    spec: ScheduleSpec,
    basis: Basis,
    partnership: ZoneInfo,
    due: OccurrenceStatus,
    now: datetime,
) -> CaughtUp:
    """Record the occurrences of `schedule` that came due since its last one: the days the bot
    was not running for as missed, the latest (`plan_occurrences` says which) with status `due`."""
    assert schedule.id is not None
    last = await last_occurrence(session, schedule_id=schedule.id)
    plan = plan_occurrences(
        spec.recurrence,
        after=date.fromisoformat(last.occurrence) if last else None,
        active_from=schedule.active_from,
        now=now,
        basis=basis,
        partnership=partnership,
        window=spec.window,
    )

    record = partial(
        record_occurrence,
        session,
        schedule_id=schedule.id,
        spec=spec,
        basis=basis,
        partnership=partnership,
        now=now,
    )
    for day in plan.missed:
        await record(day=day, status=OccurrenceStatus.MISSED)
    opened = None if plan.opened is None else await record(day=plan.opened, status=due)
    return CaughtUp(tuple(plan.missed), opened)


async def add_occurrence(
    session: AsyncSession,
    *,
    schedule_id: int,
    occurrence: str,
    status: OccurrenceStatus,
    first_send_at: datetime,
    last_close_at: datetime,
    now: datetime,
) -> ScheduleOccurrence:
    """Record that an occurrence was opened or missed."""
    row = ScheduleOccurrence(
        schedule_id=schedule_id,
        occurrence=occurrence,
        status=status,
        first_send_at=first_send_at,
        last_close_at=last_close_at,
        recorded_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def list_occurrences(
    session: AsyncSession, *, schedule_id: int | None = None, status: str | None = None
) -> list[ScheduleOccurrence]:
    """Occurrences, optionally of one schedule or in one status, oldest first."""
    query = select(ScheduleOccurrence).order_by(col(ScheduleOccurrence.id))
    if schedule_id is not None:
        query = query.where(col(ScheduleOccurrence.schedule_id) == schedule_id)
    if status is not None:
        query = query.where(col(ScheduleOccurrence.status) == status)
    return list((await session.exec(query)).all())


async def close_occurrence(session: AsyncSession, *, occurrence: ScheduleOccurrence) -> None:
    """The occurrence's last window closed."""
    occurrence.status = OccurrenceStatus.CLOSED
    session.add(occurrence)
    await session.flush()


async def zones_in_use(session: AsyncSession) -> list[str | None]:
    """The distinct time zones of active members (None: not given)."""
    query = select(Member.time_zone).where(col(Member.status) == MemberStatus.ACTIVE).distinct()
    return list((await session.exec(query)).all())
