"""Queries behind the digests: aggregate rows only, never a raiser or an author.

Like the other repository modules, every function works in the caller's session and never
commits: a digest's messages and the marks that keep it from going twice commit together.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, or_, update
from sqlalchemy import select as select_columns
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.audiences import Audience
from bot.domain.digests import REPORTED, TicketRow
from bot.domain.releases import Periods
from bot.storage.audiences import audience_filter
from bot.storage.db import flushed
from bot.storage.models import (
    Answer,
    CheckIn,
    CheckInStatus,
    Committee,
    FlowRun,
    Member,
    MemberStatus,
    OccurrenceStatus,
    RunStatus,
    Schedule,
    ScheduleKind,
    ScheduleOccurrence,
    Ticket,
    TicketEvent,
    TicketStatus,
)

OPEN_TICKETS = (TicketStatus.RECEIVED, TicketStatus.DISCUSSED, TicketStatus.AGREED)
STATUS_EVENT = "status"


@dataclass(frozen=True, slots=True)
class Recipient:
    """Where a digest goes and how to word it."""

    member_id: int
    chat_id: int
    language: str
    time_zone: str | None


def _recipients(rows: Sequence[tuple[int | None, int, str, str | None]]) -> list[Recipient]:
    return [Recipient(int(m or 0), chat, language, zone) for m, chat, language, zone in rows]


# -- pulse results ----------------------------------------------------------------------------


async def occurrences_awaiting_results(
    session: AsyncSession, *, now: datetime, closed_since: datetime
) -> list[tuple[ScheduleOccurrence, Schedule]]:
    """Closed check-in occurrences whose results were never sent (older ones are let go)."""
    query = (
        select(ScheduleOccurrence, Schedule)
        .join(Schedule, col(Schedule.id) == col(ScheduleOccurrence.schedule_id))
        .where(
            col(Schedule.kind) == ScheduleKind.CHECKIN,
            col(ScheduleOccurrence.status) == OccurrenceStatus.CLOSED,
            col(ScheduleOccurrence.results_sent_at).is_(None),
            col(ScheduleOccurrence.last_close_at) <= now,
            col(ScheduleOccurrence.last_close_at) >= closed_since,
        )
        .order_by(col(ScheduleOccurrence.id))
    )
    return [(o, s) for o, s in (await session.exec(query)).all()]


async def participants(
    session: AsyncSession, *, schedule_id: int, occurrence: str
) -> list[Recipient]:
    """Active members who finished their check-in of this occurrence."""
    query = (
        select(Member.id, Member.chat_id, Member.language, Member.time_zone)
        .join(CheckIn, col(CheckIn.member_id) == col(Member.id))
        .where(
            col(CheckIn.schedule_id) == schedule_id,
            col(CheckIn.occurrence) == occurrence,
            col(CheckIn.status) == CheckInStatus.DONE,
            col(Member.status) == MemberStatus.ACTIVE,
        )
        .order_by(col(Member.id))
    )
    return _recipients(list((await session.exec(query)).all()))


async def mark_results_sent(
    session: AsyncSession, *, occurrence: ScheduleOccurrence, now: datetime
) -> None:
    """The occurrence's results are queued: never again, whatever restarts happen."""
    occurrence.results_sent_at = now
    await flushed(session, occurrence)


# -- the voice digest -------------------------------------------------------------------------


async def mark_committee_digest(
    session: AsyncSession, *, committee: Committee, now: datetime
) -> None:
    """The next voice digest covers what is said from now on."""
    committee.last_digest_at = now
    await flushed(session, committee)


async def finished_runs(
    session: AsyncSession, *, since: datetime, until: datetime, exclude_flows: Sequence[str]
) -> list[tuple[str, datetime]]:
    """Conversations finished in [since, until): the member's stakeholder group and when."""
    group = func.coalesce(col(Member.stakeholder_group), "")
    query = (
        select(group, FlowRun.finished_at)
        .select_from(FlowRun)
        .join(Member, col(Member.id) == col(FlowRun.member_id))
        .where(
            col(FlowRun.status) == RunStatus.DONE,
            col(FlowRun.finished_at) >= since,
            col(FlowRun.finished_at) < until,
            col(FlowRun.flow_id).not_in(list(exclude_flows)),
        )
    )
    return [(str(g), at) for g, at in (await session.exec(query)).all() if at is not None]


async def open_concerns_by_category(session: AsyncSession) -> dict[str, int]:
    """Concerns not yet done or declined, by category."""
    query = (
        select(Ticket.category, func.count())
        .where(col(Ticket.status).in_([s.value for s in OPEN_TICKETS]))
        .group_by(col(Ticket.category))
    )
    return {str(c): int(n) for c, n in (await session.exec(query)).all()}


async def quotable_comments(
    session: AsyncSession, *, since: datetime, until: datetime, periods: Periods, limit: int
) -> list[str]:
    """Free-text answers their authors allowed us to quote, in periods over by `until` (like
    every published figure), newest first, text only."""
    query = (
        select(Answer.value_text, Answer.created_at)
        .where(
            col(Answer.quotable).is_(True),
            col(Answer.kind) == "text",
            col(Answer.value_text).is_not(None),
            col(Answer.proxy).is_(False),
            col(Answer.created_at) >= since,
            col(Answer.created_at) < until,
        )
        .order_by(col(Answer.created_at).desc(), col(Answer.id).desc())
    )
    quotable = (
        text for text, at in (await session.exec(query)).all() if text and periods.closed(at, until)
    )
    return list(itertools.islice(quotable, limit))


async def count_comments(
    session: AsyncSession,
    *,
    since: datetime,
    until: datetime,
    exclude_flows: Sequence[str],
    periods: Periods,
) -> int:
    """Free-text answers members wrote themselves in [since, until), quotable or not, in
    periods over by `until`."""
    query = select(Answer.created_at).where(
        col(Answer.kind) == "text",
        col(Answer.flow_id).not_in(list(exclude_flows)),
        col(Answer.value_text).is_not(None),
        col(Answer.proxy).is_(False),
        col(Answer.created_at) >= since,
        col(Answer.created_at) < until,
    )
    return sum(1 for at in (await session.exec(query)).all() if periods.closed(at, until))


# -- you said, we did -------------------------------------------------------------------------


def _newly_reportable() -> ColumnElement[bool]:
    """Tickets agreed, done or declined since they were last reported (or never reported)."""
    event = aliased(TicketEvent)
    later_step = exists().where(
        col(event.ticket_id) == col(Ticket.id),
        col(event.kind) == STATUS_EVENT,
        col(event.status) == col(Ticket.status),
        col(event.created_at) > col(Ticket.reported_at),
    )
    return and_(
        col(Ticket.status).in_(list(REPORTED)),
        or_(col(Ticket.reported_at).is_(None), later_step),
    )


async def tickets_to_report(session: AsyncSession) -> list[TicketRow]:
    """What "you said, we did" has not told yet: category, about, outcome, decline reason."""
    query = (
        select_columns(
            col(Ticket.id),
            col(Ticket.category),
            col(Ticket.about),
            col(Ticket.status),
            col(Ticket.status_reason),
        )
        .where(_newly_reportable())
        .order_by(col(Ticket.id))
    )
    rows = (await (await session.connection()).execute(query)).all()
    return [TicketRow(int(i or 0), c, a, s, r) for i, c, a, s, r in rows]


async def status_summaries(
    session: AsyncSession, *, tickets: Sequence[TicketRow]
) -> dict[int, str]:
    """The coordinator's public word on each ticket's current step (its latest status event)."""
    wanted = {t.ticket_id: t.status for t in tickets}
    if not wanted:
        return {}
    query = (
        select(TicketEvent.ticket_id, TicketEvent.status, TicketEvent.text)
        .where(
            col(TicketEvent.ticket_id).in_(list(wanted)),
            col(TicketEvent.kind) == STATUS_EVENT,
            col(TicketEvent.from_raiser).is_(False),
            col(TicketEvent.text).is_not(None),
        )
        .order_by(col(TicketEvent.created_at), col(TicketEvent.id))
    )
    found: dict[int, str] = {}
    for ticket_id, status, text in (await session.exec(query)).all():
        if status == wanted[ticket_id] and text:
            found[int(ticket_id)] = text
    return found


async def mark_reported(session: AsyncSession, *, ticket_ids: Sequence[int], now: datetime) -> None:
    """These tickets appeared in a digest."""
    if not ticket_ids:
        return
    await session.exec(
        update(Ticket)
        .where(col(Ticket.id).in_(list(ticket_ids)))
        .values(reported_at=now)
        .execution_options(synchronize_session=False)
    )


async def recipients(session: AsyncSession, audience: Audience) -> list[Recipient]:
    """The audience's members (a committee's, or everyone who has not stopped the bot)."""
    query = (
        select(Member.id, Member.chat_id, Member.language, Member.time_zone)
        .where(*audience_filter(audience))
        .order_by(col(Member.id))
    )
    return _recipients(list((await session.exec(query)).all()))
