"""Repository functions: every query the bot runs, as plain async functions."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Insert,
    Table,
    Update,
    and_,
    bindparam,
    delete,
    func,
    insert,
    inspect,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import Select

from bot.storage.models import (
    Answer,
    Broadcast,
    Draft,
    FlowRun,
    Member,
    MemberRole,
    MemberStatus,
    OutboxMessage,
    OutboxStatus,
    ProcessedUpdate,
    RunStatus,
)

# What `load_member` learnt about a member, kept for the rest of the session (one update):
# their open run (or None) and whether they have no draft, so the handlers' many lookups of
# both cost no further queries; and whether no message asking the run's open question is
# still in the outbox (almost always), which spares a typed answer its `question_in_outbox`.
_OPEN_RUNS = "partnerbot.open_runs"
_NO_DRAFT = "partnerbot.no_draft"
_QUESTION_SHOWN = "partnerbot.question_shown"
_PENDING = (OutboxStatus.QUEUED, OutboxStatus.SENDING)

PROFILE_FIELDS = frozenset(
    {"language", "stakeholder_group", "organisation", "role_title", "time_zone", "display_name"}
)


@functools.cache
def _claim_statement(dialect: str) -> Insert:
    # One statement on the hot path, built once: a concurrent claim of the same id waits on
    # the unique key and then inserts nothing, instead of failing the transaction.
    dialect_insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    table = ProcessedUpdate.__table__  # type: ignore[attr-defined]
    return dialect_insert(table).on_conflict_do_nothing(index_elements=["update_id"])


async def claim_update(session: AsyncSession, *, update_id: int, now: datetime) -> bool:
    """Record `update_id` as handled in the session's transaction; False if it already was."""
    statement = _claim_statement(session.get_bind().dialect.name)
    values = {"update_id": update_id, "processed_at": now}
    return bool((await session.exec(statement, params=values)).rowcount)


async def prune_processed_updates(session: AsyncSession, *, before: datetime) -> int:
    """Forget handled update ids older than `before` (Telegram redelivers for a day at most)."""
    result = await session.exec(
        delete(ProcessedUpdate).where(col(ProcessedUpdate.processed_at) < before)
    )
    return int(result.rowcount or 0)


async def get_member_by_telegram_id(
    session: AsyncSession, *, telegram_user_id: int
) -> Member | None:
    """The member with this Telegram user id, if they ever consented."""
    query = select(Member).where(Member.telegram_user_id == telegram_user_id)
    return (await session.exec(query)).first()


@functools.cache
def _member_query() -> Select[Member, FlowRun | None, Draft | None, int | None]:
    """`load_member`'s query, built once (building it costs more than running it)."""
    question_pending = (
        select(col(OutboxMessage.id))
        .where(col(OutboxMessage.run_id) == FlowRun.id, col(OutboxMessage.status).in_(_PENDING))
        .limit(1)
        .scalar_subquery()
    )
    return (
        select(Member, FlowRun, Draft, question_pending)
        .outerjoin(
            FlowRun,
            and_(col(FlowRun.member_id) == Member.id, col(FlowRun.status) == RunStatus.RUNNING),
        )
        .outerjoin(Draft, col(Draft.member_id) == Member.id)
        .where(Member.telegram_user_id == bindparam("user_id"))
        .order_by(col(FlowRun.id).desc())
        .limit(1)
    )


async def load_member(session: AsyncSession, *, telegram_user_id: int) -> Member | None:
    """Like `get_member_by_telegram_id`, also loading their open run and draft in the same
    query, which later `get_running_run` and `get_draft` calls of this session then reuse, and
    whether the run's question is still in the outbox (`question_in_outbox`)."""
    row = (await session.exec(_member_query(), params={"user_id": telegram_user_id})).first()
    if row is None:
        return None
    member, run, draft, question_pending = row
    assert member.id is not None
    session.info.setdefault(_OPEN_RUNS, {})[member.id] = run
    if run is not None and question_pending is None:
        session.info.setdefault(_QUESTION_SHOWN, set()).add(run.id)
    if draft is None:
        session.info.setdefault(_NO_DRAFT, set()).add(member.id)
    return member


async def create_member(
    session: AsyncSession,
    *,
    telegram_user_id: int,
    chat_id: int,
    display_name: str,
    language: str,
    now: datetime,
    role: str = MemberRole.MEMBER,
) -> Member:
    """Register a member at the moment they consent."""
    member = Member(
        telegram_user_id=telegram_user_id,
        chat_id=chat_id,
        display_name=display_name,
        language=language,
        role=role,
        status=MemberStatus.ACTIVE,
        consent_at=now,
        joined_at=now,
        updated_at=now,
    )
    await _insert(session, member)
    return member


async def update_member(
    session: AsyncSession, *, member: Member, changes: Mapping[str, Any], now: datetime
) -> Member:
    """Apply profile or status changes to a member."""
    allowed = PROFILE_FIELDS | {"status", "role", "chat_id"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not member fields: {sorted(unknown)}")
    await _write(session, member, {**changes, "updated_at": now})
    return member


@functools.cache
def insert_returning_id(table: Table) -> Insert:
    """A table's insert returning the new id, built once: on the hot path building the
    statement costs more than running it."""
    return insert(table).returning(table.c.id)


async def _insert(session: AsyncSession, row: SQLModel) -> None:
    """Insert a new row with one prebuilt statement and attach it to the session as stored,
    id included: on the hot path the ORM's unit of work costs more than the insert."""
    table: Table = row.__table__  # type: ignore[attr-defined]
    values = {c.name: getattr(row, c.name) for c in table.columns if c.name != "id"}
    row.id = (await session.exec(insert_returning_id(table), params=values)).scalar_one()
    make_transient_to_detached(row)
    session.add(row)


@functools.cache
def _update_by_id(table: Table, columns: tuple[str, ...]) -> Update:
    return (
        update(table)
        .where(table.c.id == bindparam("row_id"))
        .values({name: bindparam(f"new_{name}") for name in columns})
    )


async def _write(session: AsyncSession, row: SQLModel, values: Mapping[str, Any]) -> None:
    """Update a loaded row's columns with one prebuilt statement and set them on the object
    as already stored: on the hot path the ORM's unit of work costs more than the update."""
    state = inspect(row)
    if not state.persistent or state.modified:
        # A new object, or changes made to it directly, are the ORM's to write, with these.
        for name, value in values.items():
            setattr(row, name, value)
        session.add(row)
        await session.flush()
        return
    table: Table = row.__table__  # type: ignore[attr-defined]
    statement = _update_by_id(table, tuple(sorted(values)))
    params = {f"new_{name}": value for name, value in values.items()}
    await session.exec(statement, params={"row_id": row.id, **params})  # type: ignore[attr-defined]
    for name, value in values.items():
        set_committed_value(row, name, value)


async def mark_chat_blocked(session: AsyncSession, *, chat_id: int, now: datetime) -> int:
    """The member of a private chat that refuses messages is blocked; return rows changed."""
    result = await session.exec(
        update(Member)
        .where(col(Member.chat_id) == chat_id, col(Member.status) == MemberStatus.ACTIVE)
        .values(status=MemberStatus.BLOCKED, updated_at=now)
    )
    return int(result.rowcount or 0)


async def ensure_admins(
    session: AsyncSession, *, telegram_user_ids: Iterable[int], now: datetime
) -> int:
    """Give the admin role to the listed members who exist; return how many changed."""
    ids = list(telegram_user_ids)
    if not ids:
        return 0
    result = await session.exec(
        update(Member)
        .where(col(Member.telegram_user_id).in_(ids), col(Member.role) != MemberRole.ADMIN)
        .values(role=MemberRole.ADMIN, updated_at=now)
    )
    return int(result.rowcount or 0)


async def get_running_run(session: AsyncSession, *, member_id: int) -> FlowRun | None:
    """The member's unfinished flow run, if any (the latest one)."""
    known: dict[int, FlowRun | None] = session.info.get(_OPEN_RUNS, {})
    if member_id in known:
        run = known[member_id]
        if run is None or run.status == RunStatus.RUNNING:
            return run
    query = (
        select(FlowRun)
        .where(FlowRun.member_id == member_id, FlowRun.status == RunStatus.RUNNING)
        .order_by(col(FlowRun.id).desc())
    )
    return (await session.exec(query)).first()


async def get_run(session: AsyncSession, *, run_id: int) -> FlowRun | None:
    """A flow run by id."""
    return await session.get(FlowRun, run_id)


async def create_run(
    session: AsyncSession,
    *,
    member_id: int,
    flow_id: str,
    flow_version: int,
    node_id: str | None,
    answers: Mapping[str, Any],
    selected: Sequence[str],
    now: datetime,
) -> FlowRun:
    """Start a flow run for a member."""
    session.info.get(_OPEN_RUNS, {}).pop(member_id, None)
    run = FlowRun(
        member_id=member_id,
        flow_id=flow_id,
        flow_version=flow_version,
        node_id=node_id,
        answers=dict(answers),
        selected=list(selected),
        status=RunStatus.RUNNING if node_id is not None else RunStatus.DONE,
        started_at=now,
        updated_at=now,
        finished_at=None if node_id is not None else now,
    )
    await _insert(session, run)
    return run


async def save_run_state(
    session: AsyncSession,
    *,
    run: FlowRun,
    node_id: str | None,
    answers: Mapping[str, Any],
    selected: Sequence[str],
    now: datetime,
    misses: int = 0,
) -> FlowRun:
    """Store where a run stands; a run without an open node is done."""
    values: dict[str, Any] = {
        "node_id": node_id,
        "answers": dict(answers),
        "selected": list(selected),
        "misses": misses,
        "updated_at": now,
    }
    if node_id is None:
        values |= {"status": RunStatus.DONE, "finished_at": now}
    await _write(session, run, values)
    return run


async def note_prompt_messages(
    session: AsyncSession, *, sent: Mapping[int, tuple[int, bool]]
) -> None:
    """Remember, per run id, the chat message asking its open question (message id, and
    whether it has buttons), in one statement."""
    if not sent:
        return
    rows = [
        {"run": run_id, "prompt": message_id, "buttons": buttons}
        for run_id, (message_id, buttons) in sent.items()
    ]
    connection = await session.connection()
    await connection.execute(_note_prompt(), rows)


@functools.cache
def _note_prompt() -> Update:
    return (
        update(FlowRun)
        .where(col(FlowRun.id) == bindparam("run"), col(FlowRun.status) == RunStatus.RUNNING)
        .values(prompt_message_id=bindparam("prompt"), prompt_buttons=bindparam("buttons"))
    )


@functools.cache
def _question_query() -> Select[int | None, str]:
    """`question_in_outbox`'s query, built once; `run_id` is bound when it runs."""
    return (
        select(col(OutboxMessage.id), col(OutboxMessage.status))
        .where(col(OutboxMessage.run_id) == bindparam("run_id"))
        .where(col(OutboxMessage.status).in_(_PENDING))
        .order_by(col(OutboxMessage.id).desc())
        .limit(1)
    )


async def question_in_outbox(
    session: AsyncSession, *, run_id: int
) -> tuple[int, OutboxStatus] | None:
    """The id and status of a message asking the run's open question that is still in the
    outbox (queued or being sent), or None when none is."""
    shown: set[int] = session.info.get(_QUESTION_SHOWN, set())
    if run_id in shown:
        shown.discard(run_id)  # once: the update may queue the run's next question
        return None
    found = (await session.exec(_question_query(), params={"run_id": run_id})).first()
    if found is None or found[0] is None:
        return None
    return found[0], OutboxStatus(found[1])


async def end_run(
    session: AsyncSession,
    *,
    run: FlowRun,
    status: RunStatus,
    now: datetime,
    answers: Mapping[str, Any] | None = None,
) -> None:
    """Close a run that did not finish (abandoned, expired), keeping `answers` if given."""
    run.status = status
    run.updated_at = now
    run.finished_at = now
    if answers is not None:
        run.answers = dict(answers)
    session.add(run)
    await session.flush()


async def delete_run(session: AsyncSession, *, run: FlowRun) -> None:
    """Remove a run that must leave no trace (a flow a service took over, e.g. a concern)."""
    session.info.get(_OPEN_RUNS, {}).pop(run.member_id, None)
    await session.delete(run)
    await session.flush()


async def add_answer(
    session: AsyncSession,
    *,
    run_id: int | None,
    member_id: int | None,
    flow_id: str,
    question_key: str,
    kind: str,
    value: str | int | float | None,
    anonymous: bool,
    stakeholder_group: str | None,
    now: datetime,
    quotable: bool = False,
    recorded_by: int | None = None,
) -> None:
    """Store one answer; anonymous ones are cut from the run and the member here. An answer
    `recorded_by` a facilitator is a proxy answer."""
    row = answer_row(
        flow_id=flow_id,
        question_key=question_key,
        kind=kind,
        value=value,
        anonymous=anonymous,
        stakeholder_group=stakeholder_group,
        day=now.replace(hour=0, minute=0, second=0, microsecond=0),
        quotable=quotable,
    )
    if not anonymous:
        row |= {"run_id": run_id, "member_id": member_id, "created_at": now}
    row |= {"proxy": recorded_by is not None, "recorded_by": recorded_by}
    # A plain insert: nothing reads the row back in this transaction, and the ORM's unit of
    # work costs more than the statement on this hot path.
    await session.exec(_answer_insert(), params=row)


def answer_row(
    *,
    flow_id: str,
    question_key: str,
    kind: str,
    value: str | int | float | None,
    anonymous: bool,
    stakeholder_group: str | None,
    day: datetime,
    quotable: bool = False,
) -> dict[str, Any]:
    """The columns of one answer without a run or a member, stamped with `day` only (an exact
    time could be matched against a run's timestamps)."""
    choice = number = text = None
    if isinstance(value, bool):
        raise TypeError("answers are choice keys, numbers or text")
    if isinstance(value, int | float):
        number = float(value)
    elif value is not None and kind in ("choice", "multi_choice", "yes_no"):
        choice = value
    elif value is not None:
        text = value
    return {
        "run_id": None,
        "member_id": None,
        "flow_id": flow_id,
        "question_key": question_key,
        "kind": kind,
        "value_choice": choice,
        "value_number": number,
        "value_text": text,
        "skipped": value is None,
        "anonymous": anonymous,
        "stakeholder_group": stakeholder_group,
        "quotable": quotable and value is not None,
        "proxy": False,
        "recorded_by": None,
        "created_at": day,
    }


@functools.cache
def _answer_insert() -> Insert:
    return insert(Answer.__table__)  # type: ignore[attr-defined]


async def list_answers(
    session: AsyncSession, *, member_id: int | None = None, flow_id: str | None = None
) -> list[Answer]:
    """Answers, optionally of one member or one flow, oldest first."""
    query = select(Answer).order_by(col(Answer.id))
    if member_id is not None:
        query = query.where(Answer.member_id == member_id)
    if flow_id is not None:
        query = query.where(Answer.flow_id == flow_id)
    return list((await session.exec(query)).all())


async def list_runs(session: AsyncSession, *, member_id: int) -> list[FlowRun]:
    """A member's flow runs, oldest first."""
    query = select(FlowRun).where(FlowRun.member_id == member_id).order_by(col(FlowRun.id))
    return list((await session.exec(query)).all())


async def count_rows(session: AsyncSession, model: type[Any]) -> int:
    """How many rows a table holds."""
    return int((await session.exec(select(func.count()).select_from(model))).one())


async def get_member(session: AsyncSession, *, member_id: int) -> Member | None:
    """A member by database id."""
    return await session.get(Member, member_id)


async def get_draft(session: AsyncSession, *, member_id: int, kind: str) -> Draft | None:
    """The member's unfinished guided conversation of this kind."""
    if member_id in session.info.get(_NO_DRAFT, ()):
        return None
    return await session.get(Draft, (member_id, kind))


async def list_drafts(session: AsyncSession, *, member_id: int) -> list[Draft]:
    """The member's unfinished guided conversations, the most recently touched first."""
    if member_id in session.info.get(_NO_DRAFT, ()):
        return []
    query = select(Draft).where(Draft.member_id == member_id).order_by(col(Draft.touched).desc())
    return list((await session.exec(query)).all())


async def has_draft(session: AsyncSession, *, member_id: int) -> bool:
    """Whether the member has an unfinished guided conversation of any kind."""
    if member_id in session.info.get(_NO_DRAFT, ()):
        return False
    query = select(Draft.kind).where(Draft.member_id == member_id).limit(1)
    return (await session.exec(query)).first() is not None


async def save_draft(
    session: AsyncSession, *, member_id: int, kind: str, data: Mapping[str, Any], now: datetime
) -> Draft:
    """Create or replace the member's draft of this kind; the others stay."""
    session.info.get(_NO_DRAFT, set()).discard(member_id)
    latest = select(func.max(Draft.touched)).where(Draft.member_id == member_id)
    touched = int((await session.exec(latest)).one() or 0) + 1
    draft = await session.get(Draft, (member_id, kind))
    if draft is None:
        draft = Draft(member_id=member_id, kind=kind, data=dict(data), updated_at=now)
    draft.data, draft.updated_at, draft.touched = dict(data), now, touched
    session.add(draft)
    await session.flush()
    return draft


async def delete_draft(session: AsyncSession, *, member_id: int, kind: str) -> None:
    """Forget the member's draft of this kind, if any."""
    query = delete(Draft).where(col(Draft.member_id) == member_id, col(Draft.kind) == kind)
    await session.exec(query)


async def create_broadcast(
    session: AsyncSession,
    *,
    created_by: int | None,
    audience: Mapping[str, Any],
    texts: Mapping[str, str],
    media_kind: str | None,
    media_file_id: str | None,
    urgent: bool,
    send_at: datetime,
    status: str,
    now: datetime,
) -> Broadcast:
    """Record a confirmed broadcast."""
    broadcast = Broadcast(
        created_by=created_by,
        audience=dict(audience),
        texts=dict(texts),
        media_kind=media_kind,
        media_file_id=media_file_id,
        urgent=urgent,
        send_at=send_at,
        status=status,
        created_at=now,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def get_broadcast(session: AsyncSession, *, broadcast_id: int) -> Broadcast | None:
    """A broadcast by id."""
    return await session.get(Broadcast, broadcast_id)


async def list_broadcasts(
    session: AsyncSession,
    *,
    statuses: Sequence[str] = (),
    due_before: datetime | None = None,
    limit: int = 50,
) -> list[Broadcast]:
    """Broadcasts, newest first, optionally by status and due time."""
    query = select(Broadcast).order_by(col(Broadcast.id).desc()).limit(limit)
    if statuses:
        query = query.where(col(Broadcast.status).in_(list(statuses)))
    if due_before is not None:
        query = query.where(col(Broadcast.send_at) <= due_before)
    return list((await session.exec(query)).all())
