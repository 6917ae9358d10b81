"""Schedule and check-in queries, including the bulk paths that open an occurrence at once.

Like the other repository modules, every function works in the caller's session and never
commits: a check-in's occurrence row, flow run and outbox message commit together or not at all.
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
    bindparam,
    case,
    cast,
    exists,
    func,
    insert,
    literal,
    or_,
    update,
)
from sqlalchemy import select as select_columns
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.committees import in_committees
from bot.storage.models import (
    CHECKIN_KIND,
    CheckIn,
    CheckInStatus,
    FlowRun,
    Member,
    MemberStatus,
    OccurrenceStatus,
    OutboxMessage,
    OutboxStatus,
    RunStatus,
    Schedule,
    ScheduleKind,
    ScheduleOccurrence,
    ScheduleStatus,
    UTCDateTime,
)

# Rows per INSERT statement in the bulk paths: large enough to be fast, small enough to stay
# under SQLite's limit on bound parameters.
BULK_CHUNK = 2000


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


# -- who is due -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Candidate:
    """An active member whose own date (joining, a finished flow) may make a check-in due."""

    member_id: int
    time_zone: str | None
    busy: bool
    event_at: datetime


@dataclass(frozen=True)
class Selection:
    """The active members of an audience (empty tuples mean everyone)."""

    groups: Sequence[str] = ()
    languages: Sequence[str] = ()
    committees: Sequence[int] = ()

    def conditions(self) -> list[ColumnElement[bool]]:
        found = [col(Member.status) == MemberStatus.ACTIVE]
        if self.committees:
            found.append(in_committees(self.committees))
        if self.groups:
            found.append(col(Member.stakeholder_group).in_(list(self.groups)))
        if self.languages:
            found.append(col(Member.language).in_(list(self.languages)))
        return found


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


async def zones_in_use(session: AsyncSession) -> list[str | None]:
    """The distinct time zones of active members (None: not given)."""
    query = select(Member.time_zone).where(col(Member.status) == MemberStatus.ACTIVE).distinct()
    return list((await session.exec(query)).all())


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
    selection: Selection,
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
            *selection.conditions(),
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
                *selection.conditions(),
                col(finished.flow_id) == event_flow,
                col(finished.status) == RunStatus.DONE,
                col(finished.finished_at) >= events_from,
                col(finished.finished_at) < events_until,
                ~newer,
            )
        )
    rows = await _rows(session, query.order_by(col(Member.id)))
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


async def _rows(session: AsyncSession, query: Any) -> list[tuple[Any, ...]]:
    """Plain rows of a select, read in the session's transaction."""
    return [tuple(row) for row in (await (await session.connection()).execute(query)).all()]


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
    audience: Selection,
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
            *audience.conditions(),
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


async def run_readers(session: AsyncSession, *, run_ids: Sequence[int]) -> dict[int, str]:
    """The name of each run's member, by run id (runs since erased are left out)."""
    query = (
        select_columns(col(FlowRun.id), col(Member.display_name))
        .join(Member, col(Member.id) == col(FlowRun.member_id))
        .where(col(FlowRun.id).in_(sorted(set(run_ids))))
    )
    return {int(run_id): name for run_id, name in await _rows(session, query)}


async def record_missed(
    session: AsyncSession,
    *,
    schedule_id: int,
    occurrence: str,
    audience: Selection,
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
    ).where(*audience.conditions(), moments.filter, ~_has_checkin(schedule_id, occurrence))
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
    return [Expiring(*row) for row in await _rows(session, query)]


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
    return [StaleRun(*row) for row in await _rows(session, query)]


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
    return [DueReminder(*row) for row in await _rows(session, query)]


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
