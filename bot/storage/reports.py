"""Queries behind the figures of reports, pulse results and digests: answers as plain rows,
members by group, the periods of check-ins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, distinct, func, not_, or_
from sqlalchemy import select as select_columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.answering import Invited
from bot.domain.figures import NO_GROUP, AnswerRow
from bot.domain.releases import Window, occurrence_window
from bot.storage.export import BATCH
from bot.storage.models import (
    CHECKIN_KINDS,
    Answer,
    CheckIn,
    CheckInStatus,
    Member,
    MemberStatus,
    Schedule,
    ScheduleOccurrence,
)

# What identical answers without a respondent share, counted as one row.
_SHARED = (
    "flow_id",
    "question_key",
    "stakeholder_group",
    "created_at",
    "value_number",
    "value_choice",
    "skipped",
    "proxy",
)


async def list_answer_rows(
    session: AsyncSession,
    *,
    flow_ids: Sequence[str],
    since: datetime | None = None,
    until: datetime | None = None,
    question_keys: Sequence[str] | None = None,
    own_only: bool = False,
    named: bool = True,
) -> list[AnswerRow]:
    """Answers of the given flows (of these questions) stored in [since, until) as figure rows;
    anonymous ones keep no respondent key, nor any answer when not `named`. `own_only` leaves a
    facilitator's proxy answers out. Anonymous answers are stamped with their day only, so
    `since` should be a day's start.

    Answers without a respondent are counted in SQL, one row for each set of identical ones
    (`AnswerRow.count`): a report may cover 100,000 anonymous answers. Named ones are read in
    batches of plain columns, the event loop getting a turn between them."""
    filters: list[ColumnElement[bool]] = [col(Answer.flow_id).in_(list(flow_ids))]
    if since is not None:
        filters.append(col(Answer.created_at) >= since)
    if until is not None:
        filters.append(col(Answer.created_at) < until)
    if question_keys is not None:
        filters.append(col(Answer.question_key).in_(list(question_keys)))
    if own_only:
        filters.append(col(Answer.proxy).is_(False))
    unnamed = or_(
        col(Answer.anonymous).is_(True),
        and_(col(Answer.member_id).is_(None), col(Answer.run_id).is_(None)),
    )
    shared = [getattr(Answer, name) for name in _SHARED]
    counted = (
        select_columns(*shared, func.count())
        .where(*filters, *([unnamed] if named else []))
        .group_by(*shared)
    )
    rows: list[AnswerRow] = []
    sets = await session.stream(counted.execution_options(yield_per=BATCH))
    async for batch in sets.partitions():
        rows.extend(
            AnswerRow(*found[:6], skipped=bool(found[6]), proxy=bool(found[7]), count=int(found[8]))
            for found in batch
        )
    if not named:
        return rows
    each = (
        select_columns(*shared, col(Answer.member_id), col(Answer.run_id))
        .where(*filters, not_(unnamed))
        .order_by(col(Answer.id))
    )
    result = await session.stream(each.execution_options(yield_per=BATCH))
    async for batch in result.partitions():
        for flow, question, group, created, number, choice, skipped, proxy, *who in batch:
            respondent, response = _respondent(bool(proxy), False, *who)
            rows.append(
                AnswerRow(
                    flow_id=flow,
                    question_key=question,
                    group=group,
                    created_at=created,
                    number=number,
                    choice=choice,
                    skipped=bool(skipped),
                    proxy=bool(proxy),
                    respondent=respondent,
                    response=response,
                )
            )
    return rows


def _respondent(
    proxy: bool, anonymous: bool, member_id: int | None, run_id: int | None
) -> tuple[str | None, str | None]:
    """The respondent and response keys of an answer; none for an anonymous one."""
    if anonymous or (member_id is None and run_id is None):
        return None, None
    respondent = f"m{member_id}" if member_id is not None else None
    if run_id is None:
        return respondent, None
    response = f"r{run_id}"
    # A proxy run stands for someone without a member of their own.
    return (response if proxy else respondent or response), response


async def count_members_by_group(session: AsyncSession) -> dict[str, int]:
    """Active members per stakeholder group (those without one under NO_GROUP)."""
    query = (
        select(Member.stakeholder_group, func.count())
        .where(col(Member.status) == MemberStatus.ACTIVE)
        .group_by(col(Member.stakeholder_group))
    )
    counts: dict[str, int] = {}
    for group, count in (await session.exec(query)).all():
        key = group or NO_GROUP
        counts[key] = counts.get(key, 0) + int(count)
    return counts


async def list_pulse_windows(
    session: AsyncSession, *, flow_ids: Sequence[str]
) -> dict[str, tuple[Window, ...]]:
    """The windows of the check-in occurrences of these flows, earliest first, by flow."""
    query = (
        select(
            Schedule.flow_id,
            ScheduleOccurrence.id,
            ScheduleOccurrence.first_send_at,
            ScheduleOccurrence.last_close_at,
        )
        .join(Schedule, col(Schedule.id) == col(ScheduleOccurrence.schedule_id))
        .where(
            col(Schedule.kind).in_(CHECKIN_KINDS),
            col(Schedule.flow_id).in_(list(flow_ids)),
        )
        .order_by(col(ScheduleOccurrence.first_send_at), col(ScheduleOccurrence.id))
    )
    windows: dict[str, list[Window]] = {}
    for flow_id, key, first, last in (await session.exec(query)).all():
        window = occurrence_window(str(key), first_send=first, last_close=last)
        windows.setdefault(flow_id, []).append(window)
    return {flow: tuple(found) for flow, found in windows.items()}


async def count_invited_by_group(
    session: AsyncSession,
    *,
    flow_ids: Sequence[str],
    closed_by: datetime,
    since: datetime | None = None,
) -> dict[str, list[Invited]]:
    """Check-ins of these flows sent, and how many were finished, by the member's stakeholder
    group and occurrence: whole occurrences that began at `since` or later and closed by
    `closed_by`."""
    done = col(CheckIn.status) == CheckInStatus.DONE
    occurrence = and_(
        col(ScheduleOccurrence.schedule_id) == col(CheckIn.schedule_id),
        col(ScheduleOccurrence.occurrence) == col(CheckIn.occurrence),
    )
    query = (
        select_columns(
            col(Member.stakeholder_group),
            func.count(),
            func.count(case((done, 1))),
            func.count(distinct(col(CheckIn.member_id))),
            func.count(distinct(case((done, col(CheckIn.member_id))))),
        )
        .join(Member, col(Member.id) == col(CheckIn.member_id))
        .join(Schedule, col(Schedule.id) == col(CheckIn.schedule_id))
        .join(ScheduleOccurrence, occurrence)
        .where(
            col(Schedule.flow_id).in_(list(flow_ids)),
            col(CheckIn.sent_at).is_not(None),
            col(ScheduleOccurrence.last_close_at) <= closed_by,
            *([col(ScheduleOccurrence.first_send_at) >= since] if since is not None else []),
        )
        .group_by(col(Member.stakeholder_group), col(ScheduleOccurrence.id))
    )
    found: dict[str, list[Invited]] = {}
    for group, *counts in (await (await session.connection()).execute(query)).all():
        found.setdefault(group or NO_GROUP, []).append(Invited(*(int(n) for n in counts)))
    return found
