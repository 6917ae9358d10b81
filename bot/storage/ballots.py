"""Ballot queries: sealed anonymous answers waiting for release, and their release.

A ballot is written in its author's transaction but holds nothing readable without the key;
the answers it seals reach `answer` only in the leader's release transaction, shuffled among
at least k ballots, so neither their ids, their order nor their transaction follow a member.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import (
    CHECKIN_KINDS,
    Answer,
    Ballot,
    OccurrenceStatus,
    Schedule,
    ScheduleOccurrence,
)

# The "flows" of sealed anonymous concerns, of anonymous raisers' replies and of anonymous
# votes by button, waiting to be filed (never flow ids; bot.services.filing): they share the
# ballots' table, and their move by the leader, but are never released as answers.
SEALED_CONCERNS = "~concerns"
SEALED_REPLIES = "~replies"
SEALED_VOTES = "~votes"
SEALED_KINDS = (SEALED_CONCERNS, SEALED_REPLIES, SEALED_VOTES)


async def add_ballot(session: AsyncSession, *, flow_id: str, day: datetime, sealed: str) -> None:
    """Store a sealed ballot under a random key (no serial id to follow)."""
    values = {"id": secrets.token_hex(16), "flow_id": flow_id, "day": day, "sealed": sealed}
    await session.exec(insert(Ballot).values(values))


async def pending_by_flow(session: AsyncSession) -> dict[str, int]:
    """How many ballots wait, by flow (sealed concerns, replies and votes are not ballots of
    answers)."""
    query = (
        select(Ballot.flow_id, func.count())
        .where(col(Ballot.flow_id).not_in(SEALED_KINDS))
        .group_by(col(Ballot.flow_id))
    )
    return {str(flow): int(n) for flow, n in (await session.exec(query)).all()}


async def flows_with_open_occurrences(session: AsyncSession) -> set[str]:
    """Flows with a check-in occurrence still open: their ballots wait for its close."""
    query = (
        select(Schedule.flow_id)
        .join(ScheduleOccurrence, col(ScheduleOccurrence.schedule_id) == col(Schedule.id))
        .where(
            col(Schedule.kind).in_(CHECKIN_KINDS),
            col(ScheduleOccurrence.status) == OccurrenceStatus.OPEN,
        )
        .distinct()
    )
    return {str(flow) for flow in (await session.exec(query)).all()}


async def published_occurrences(
    session: AsyncSession, *, flow_id: str, let_go_before: datetime
) -> set[str]:
    """The flow's check-in occurrences (their ids, as window keys) whose figures are out: their
    results went to the participants, or they closed before `let_go_before` (none will go)."""
    query = (
        select(ScheduleOccurrence.id)
        .join(Schedule, col(Schedule.id) == col(ScheduleOccurrence.schedule_id))
        .where(
            col(Schedule.kind).in_(CHECKIN_KINDS),
            col(Schedule.flow_id) == flow_id,
            or_(
                col(ScheduleOccurrence.results_sent_at).is_not(None),
                col(ScheduleOccurrence.last_close_at) < let_go_before,
            ),
        )
    )
    return {str(key) for key in (await session.exec(query)).all()}


async def list_ballots(session: AsyncSession, *, flow_id: str) -> list[Ballot]:
    """A flow's waiting ballots, in no meaningful order."""
    return list((await session.exec(select(Ballot).where(col(Ballot.flow_id) == flow_id))).all())


async def release(
    session: AsyncSession, *, ballot_ids: Sequence[str], answers: Sequence[Mapping[str, Any]]
) -> None:
    """Insert `answers` in the order given and delete the ballots they came from."""
    if answers:
        await (await session.connection()).execute(insert(Answer), list(answers))
    await session.exec(delete(Ballot).where(col(Ballot.id).in_(list(ballot_ids))))


async def take_ballot(session: AsyncSession, *, ballot_id: str) -> bool:
    """Delete one ballot; False when another transaction took it first."""
    result = await session.exec(delete(Ballot).where(col(Ballot.id) == ballot_id))
    return bool(result.rowcount)
