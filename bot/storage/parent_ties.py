"""Queries behind ties to parent organisations: parent checks whose figures were not yet
looked at, decisions that exist, and what an organisation took on in the roles flow.

Like the other repository modules, every function works in the caller's session and never
commits.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select as select_columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.digests import REPORTED, TicketRow
from bot.storage.models import (
    Answer,
    Member,
    MemberStatus,
    OccurrenceStatus,
    Schedule,
    ScheduleKind,
    ScheduleOccurrence,
    Ticket,
)

ROLES_FLOW = "roles"


async def closed_unchecked(
    session: AsyncSession, *, now: datetime
) -> list[tuple[ScheduleOccurrence, Schedule]]:
    """Closed occurrences of parent checks whose figures were not looked at yet."""
    query = (
        select(ScheduleOccurrence, Schedule)
        .join(Schedule, col(Schedule.id) == col(ScheduleOccurrence.schedule_id))
        .where(
            col(Schedule.kind) == ScheduleKind.PARENT_CHECK,
            col(ScheduleOccurrence.status) == OccurrenceStatus.CLOSED,
            col(ScheduleOccurrence.results_sent_at).is_(None),
            col(ScheduleOccurrence.last_close_at) <= now,
        )
        .order_by(col(ScheduleOccurrence.id))
    )
    return [(o, s) for o, s in (await session.exec(query)).all()]


async def decided_tickets(session: AsyncSession, *, limit: int) -> list[TicketRow]:
    """The latest concerns with an outcome (agreed, done, declined): what "you said, we did"
    tells everyone, never a raiser or a text."""
    query = (
        select_columns(col(Ticket.id), col(Ticket.category), col(Ticket.about), col(Ticket.status))
        .add_columns(col(Ticket.status_reason))
        .where(col(Ticket.status).in_(list(REPORTED)))
        .order_by(col(Ticket.updated_at).desc(), col(Ticket.id).desc())
        .limit(limit)
    )
    rows = (await (await session.connection()).execute(query)).all()
    return [TicketRow(int(i or 0), c, a, s, r) for i, c, a, s, r in rows]


@dataclass(frozen=True)
class TakenOn:
    """The areas an organisation's members say it leads, and those it brings besides."""

    leads: tuple[str, ...]
    brings: tuple[str, ...]


async def organisation_roles(
    session: AsyncSession, *, organisation: str, group: str | None
) -> TakenOn:
    """What the active members of one organisation (same name, any case, same group) said it
    brings and leads, in their latest roles run each."""
    query = (
        select(Answer.member_id, Answer.run_id, Answer.question_key, Answer.value_choice)
        .join(Member, col(Member.id) == col(Answer.member_id))
        .where(
            col(Answer.flow_id) == ROLES_FLOW,
            col(Answer.question_key).in_(["brings", "leads"]),
            col(Answer.skipped).is_(False),
            col(Answer.value_choice).is_not(None),
            col(Member.status) == MemberStatus.ACTIVE,
            func.lower(func.trim(col(Member.organisation))) == organisation.strip().lower(),
            col(Member.stakeholder_group) == group,
        )
    )
    runs: dict[int, dict[int, list[tuple[str, str]]]] = defaultdict(lambda: defaultdict(list))
    for member_id, run_id, question, choice in (await session.exec(query)).all():
        runs[int(member_id or 0)][int(run_id or 0)].append((question, str(choice)))
    leads: set[str] = set()
    brings: set[str] = set()
    for by_run in runs.values():
        for question, choice in by_run[max(by_run)]:
            (leads if question == "leads" else brings).add(choice)
    return TakenOn(tuple(sorted(leads)), tuple(sorted(brings - leads)))
