"""Opening check-ins, set-based: the members an occurrence makes due, their runs, check-in rows
and first messages in a few INSERT … SELECT statements, and those who missed it.

Which members are due is decided in `bot/domain/due.py`; the member-level parts of that rule
(in the audience, joined by the due moment, no check-in for the occurrence yet, not in a
conversation) are the SQL conditions here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ColumnElement,
    Exists,
    Integer,
    String,
    and_,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
)
from sqlalchemy import select as select_columns
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.audiences import Audience
from bot.storage.audiences import audience_filter
from bot.storage.checkins import BULK_CHUNK, plain_rows
from bot.storage.db import note_queued
from bot.storage.models import (
    CHECKIN_KIND,
    CheckIn,
    CheckInStatus,
    FlowRun,
    Member,
    OutboxMessage,
    OutboxStatus,
    RunStatus,
    UTCDateTime,
)

# -- who is due -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """An active member whose own date (joining, a finished flow) may make a check-in due."""

    member_id: int
    time_zone: str | None
    busy: bool
    event_at: datetime


@dataclass(frozen=True)
class Group:
    """Members who share an occurrence's moments: those in `zones` (None stands for members
    without a zone) who joined by `due_at`, or the listed `member_ids`."""

    due_at: datetime
    closes_at: datetime
    zones: Sequence[str | None] | None = None
    member_ids: Sequence[int] | None = None


class _Moments:
    """Which members the groups hold, and each one's moments, as SQL over the member row.

    A single IN list picks the members (SQLite looks it up, it does not scan it), and a simple
    CASE on the zone (or id) gives the moments; the common case, one moment for everyone, is a
    constant.
    """

    def __init__(self, groups: Sequence[Group]) -> None:
        by_zone = all(g.zones is not None for g in groups)
        if not by_zone and not all(g.member_ids is not None for g in groups):
            raise ValueError("groups are either all by zone or all by member")
        key: Any
        keyed: list[tuple[Any, Group]]
        if by_zone:
            # No zone reads as the partnership's, like an empty one.
            key = func.coalesce(col(Member.time_zone), "")
            keyed = [(z or "", g) for g in groups for z in g.zones or ()]
        else:
            key = col(Member.id)
            keyed = [(m, g) for g in groups for m in g.member_ids or ()]
        self.filter: ColumnElement[bool] = key.in_([k for k, _ in keyed])
        self.due_at = _by_key(key, {k: g.due_at for k, g in keyed})
        self.closes_at = _by_key(key, {k: g.closes_at for k, g in keyed})
        if by_zone:
            # Most members joined before the earliest moment: the CASE is rarely reached.
            earliest = min(g.due_at for g in groups)
            joined = or_(col(Member.joined_at) <= earliest, col(Member.joined_at) <= self.due_at)
            self.filter = and_(self.filter, joined)


def _by_key(key: Any, moments: Mapping[Any, datetime]) -> Any:
    distinct = set(moments.values())
    if len(distinct) == 1:
        return literal(distinct.pop(), UTCDateTime())
    return case({k: literal(m, UTCDateTime()) for k, m in moments.items()}, value=key)


def _running() -> Exists:
    """The member (of the outer query) has a conversation open."""
    run = aliased(FlowRun)
    return exists().where(
        col(run.member_id) == col(Member.id), col(run.status) == RunStatus.RUNNING
    )


def _has_checkin(schedule_id: int, occurrence: str) -> Exists:
    return exists().where(
        col(CheckIn.schedule_id) == schedule_id,
        col(CheckIn.occurrence) == occurrence,
        col(CheckIn.member_id) == col(Member.id),
    )


async def event_candidates(
    session: AsyncSession,
    *,
    event_flow: str | None,
    audience: Audience,
    events_from: datetime,
    events_until: datetime,
) -> list[Candidate]:
    """Members whose event (joining, or their last finished run of `event_flow`) falls in
    [events_from, events_until)."""
    query: Any
    if event_flow is None:
        query = select_columns(
            col(Member.id), col(Member.time_zone), _running(), col(Member.joined_at)
        ).where(
            *audience_filter(audience),
            col(Member.joined_at) >= events_from,
            col(Member.joined_at) < events_until,
        )
    else:
        finished = aliased(FlowRun)
        later = aliased(FlowRun)
        newer = exists().where(
            col(later.member_id) == col(finished.member_id),
            col(later.flow_id) == event_flow,
            col(later.status) == RunStatus.DONE,
            col(later.id) > col(finished.id),
        )
        query = (
            select_columns(
                col(Member.id), col(Member.time_zone), _running(), col(finished.finished_at)
            )
            .join(finished, col(finished.member_id) == col(Member.id))
            .where(
                *audience_filter(audience),
                col(finished.flow_id) == event_flow,
                col(finished.status) == RunStatus.DONE,
                col(finished.finished_at) >= events_from,
                col(finished.finished_at) < events_until,
                ~newer,
            )
        )
    rows = await plain_rows(session, query.order_by(col(Member.id)))
    return [Candidate(int(m), zone, bool(busy), at) for m, zone, busy, at in rows]


async def taken_occurrences(
    session: AsyncSession, *, schedule_id: int, member_ids: Sequence[int]
) -> set[tuple[int, str]]:
    """(member, occurrence) pairs of the schedule that already have a check-in."""
    taken: set[tuple[int, str]] = set()
    ordered = sorted(set(member_ids))
    for start in range(0, len(ordered), BULK_CHUNK):
        query = select(CheckIn.member_id, CheckIn.occurrence).where(
            col(CheckIn.schedule_id) == schedule_id,
            col(CheckIn.member_id).in_(ordered[start : start + BULK_CHUNK]),
        )
        taken |= {(m, o) for m, o in (await session.exec(query)).all()}
    return taken


# -- opening check-ins, set-based -------------------------------------------------------------


@dataclass(frozen=True)
class Opening:
    """One group of check-ins that share their occurrence and moments.

    `parts` says how many messages the flow's first step takes in each locale; the messages
    are queued as data (run, flow, node, part) and written when they are sent.
    """

    schedule_id: int
    occurrence: str
    flow_id: str
    flow_version: int
    node_id: str
    next_reminder_at: datetime | None
    source: str
    dedupe_prefix: str
    parts: Mapping[str, int]
    default_locale: str


@dataclass(frozen=True, slots=True)
class Opened:
    """How many check-ins a batch opened, and the highest member id among them."""

    count: int
    last_member: int


async def open_checkins(
    session: AsyncSession,
    opening: Opening,
    *,
    audience: Audience,
    groups: Sequence[Group],
    now: datetime,
    limit: int | None = None,
    after_member: int = 0,
) -> Opened:
    """For every member of the groups without this occurrence and not in a conversation (the
    first `limit` of them by id above `after_member`): start the flow, record the check-in and
    queue its first message.

    Three INSERT … SELECT statements (one more per extra message part) whatever the number of
    members or zones, so a hundred thousand members cost no Python per member. Batches go on
    from the last member of the one before, so that each member is looked at once.
    """
    if not groups:
        return Opened(0, after_member)
    connection = await session.connection()
    moments = _Moments(groups)
    before_run = await _max_id(session, FlowRun)
    before_checkin = await _max_id(session, CheckIn)
    stamp = literal(now, UTCDateTime())
    members = (
        select_columns(
            col(Member.id),
            literal(opening.flow_id, String()),
            literal(opening.flow_version, Integer()),
            literal(opening.node_id, String()),
            literal({}, JSON()),
            literal([], JSON()),
            literal(RunStatus.RUNNING.value, String()),
            stamp,
            stamp,
        )
        .where(
            *audience_filter(audience),
            moments.filter,
            ~_has_checkin(opening.schedule_id, opening.occurrence),
            ~_running(),
            col(Member.id) > after_member,
        )
        .order_by(col(Member.id))
    )
    if limit is not None:
        members = members.limit(limit)
    runs = insert(FlowRun).from_select(
        [
            "member_id",
            "flow_id",
            "flow_version",
            "node_id",
            "answers",
            "selected",
            "status",
            "started_at",
            "updated_at",
        ],
        members,
    )
    await connection.execute(runs)
    # The runs just started: newer than any before, of this flow, started now. Should one
    # still meet an existing check-in, the unique key fails the whole transaction: nothing
    # is ever sent twice.
    ours = (
        select_columns(
            literal(opening.schedule_id, BigInteger()),
            literal(opening.occurrence, String()),
            col(FlowRun.member_id),
            col(FlowRun.id),
            literal(CheckInStatus.SENT.value, String()),
            moments.due_at,
            moments.closes_at,
            stamp,
            literal(0, Integer()),
            literal(opening.next_reminder_at, UTCDateTime()),
        )
        .select_from(FlowRun)
        .join(Member, col(Member.id) == col(FlowRun.member_id))
        .where(
            col(FlowRun.id) > before_run,
            col(FlowRun.flow_id) == opening.flow_id,
            col(FlowRun.status) == RunStatus.RUNNING,
            col(FlowRun.started_at) == now,
        )
    )
    result = await connection.execute(
        insert(CheckIn).from_select(
            [
                "schedule_id",
                "occurrence",
                "member_id",
                "run_id",
                "status",
                "due_at",
                "closes_at",
                "sent_at",
                "reminders_sent",
                "next_reminder_at",
            ],
            ours,
        )
    )
    opened = int(result.rowcount or 0)
    if not opened:
        return Opened(0, after_member)
    ours_only = _checkins_after(opening, checkin=before_checkin, member=after_member)
    await _queue_first_messages(connection, opening, ours_only, now=now)
    note_queued(session)
    last = select(func.max(CheckIn.member_id)).where(*ours_only)
    return Opened(opened, int((await session.exec(last)).one() or after_member))


async def _max_id(session: AsyncSession, model: type[FlowRun] | type[CheckIn]) -> int:
    # Rows above this id are this transaction's own: SQLite holds the write lock from the
    # transaction's start (BEGIN IMMEDIATE). On PostgreSQL a concurrent one's may show up too;
    # the filters on flow and start time leave those out, and should one slip through, the
    # check-in's unique key fails the whole transaction instead of sending twice.
    found = (await session.exec(select(func.coalesce(func.max(model.id), 0)))).one()
    return int(found or 0)


def _checkins_after(opening: Opening, *, checkin: int, member: int) -> list[ColumnElement[bool]]:
    """The check-ins a batch just opened. The member bound lets the check-in's unique index
    (schedule, occurrence, member) seek to the batch instead of walking the whole occurrence."""
    return [
        col(CheckIn.schedule_id) == opening.schedule_id,
        col(CheckIn.occurrence) == opening.occurrence,
        col(CheckIn.member_id) > member,
        col(CheckIn.id) > checkin,
    ]


async def _queue_first_messages(
    connection: Any, opening: Opening, ours: Sequence[ColumnElement[bool]], *, now: datetime
) -> None:
    """One INSERT per message part: the run, flow, node and part of each, in the reader's
    language (worked out once per row); the text is written when the message is sent."""
    locales = sorted(opening.parts)
    reader = (
        select_columns(
            col(Member.chat_id).label("chat_id"),
            col(Member.id).label("member_id"),
            col(CheckIn.run_id).label("run_id"),
            case(
                (col(Member.language).in_(locales), col(Member.language)),
                else_=literal(opening.default_locale, String()),
            ).label("locale"),
        )
        .select_from(CheckIn)
        .join(Member, col(Member.id) == col(CheckIn.member_id))
        .where(*ours)
        .subquery("reader")
    )
    stamp = literal(now, UTCDateTime())
    for index in range(max(opening.parts.values(), default=0)):
        readers = [code for code in locales if index < opening.parts[code]]
        # Like `outbox.enqueue`: a message of several parts keys each part.
        suffixes = {
            code: literal(f":part{index + 1}" if opening.parts[code] > 1 else "", String())
            for code in readers
        }
        dedupe = (
            literal(opening.dedupe_prefix, String())
            + cast(reader.c.member_id, String())
            + case(suffixes, value=reader.c.locale)
        )
        rows = select_columns(
            reader.c.chat_id,
            reader.c.member_id,
            literal(opening.source, String()),
            dedupe,
            literal(CHECKIN_KIND, String()),
            reader.c.locale,
            reader.c.run_id,
            literal(opening.flow_id, String()),
            literal(opening.node_id, String()),
            literal(index, Integer()),
            literal(OutboxStatus.QUEUED.value, String()),
            literal(0, Integer()),
            stamp,
            stamp,
        ).where(reader.c.locale.in_(readers))
        await connection.execute(
            insert(OutboxMessage).from_select(
                [
                    "chat_id",
                    "member_id",
                    "source",
                    "dedupe_key",
                    "kind",
                    "language",
                    "run_id",
                    "flow_id",
                    "node_id",
                    "part",
                    "status",
                    "attempts",
                    "next_attempt_at",
                    "created_at",
                ],
                rows,
            )
        )


async def record_missed(
    session: AsyncSession,
    *,
    schedule_id: int,
    occurrence: str,
    audience: Audience,
    groups: Sequence[Group],
) -> int:
    """Members of the groups who never got this occurrence (busy or asleep until it closed)."""
    if not groups:
        return 0
    moments = _Moments(groups)
    rows = select_columns(
        literal(schedule_id, BigInteger()),
        literal(occurrence, String()),
        col(Member.id),
        literal(CheckInStatus.MISSED.value, String()),
        moments.due_at,
        moments.closes_at,
        literal(0, Integer()),
        moments.closes_at,
    ).where(*audience_filter(audience), moments.filter, ~_has_checkin(schedule_id, occurrence))
    connection = await session.connection()
    result = await connection.execute(
        insert(CheckIn).from_select(
            [
                "schedule_id",
                "occurrence",
                "member_id",
                "status",
                "due_at",
                "closes_at",
                "reminders_sent",
                "finished_at",
            ],
            rows,
        )
    )
    return int(result.rowcount or 0)
