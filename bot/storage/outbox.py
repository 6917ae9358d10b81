"""Outbox and broadcast queries: enqueueing in the caller's transaction, claiming, outcomes.

Every function here works inside the caller's session and never commits: enqueueing is part of
the change that causes the message, and the sender commits each claim and outcome on its own.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Update,
    and_,
    bindparam,
    delete,
    func,
    literal,
    or_,
    tuple_,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from bot.storage import groups, repo
from bot.storage.db import note_queued
from bot.storage.models import Member, MemberStatus, OutboxMessage, OutboxStatus, UTCDateTime
from bot.storage.outbox_rows import Queued, queued_keys

PENDING = (OutboxStatus.QUEUED, OutboxStatus.SENDING)
FINAL = (OutboxStatus.SENT, OutboxStatus.FAILED, OutboxStatus.SKIPPED)
# Messages to the raiser of an anonymous concern: their chat id is sealed in `route` (opened by
# the sender at send time), and the row is deleted as soon as it reaches a final status.
ANONYMOUS_RELAY = "ticket:anonymous"
# Lanes of relays stand where a chat id would, so a ticket's messages keep their order: beyond
# any Telegram chat id (at most 52 significant bits), never one of a member's chats.
RELAY_LANES = 2**53
# A reply whose chat and text are both sealed in `route` (the confirmation of an anonymous
# concern: its handle beside the raiser's chat) keeps this in `text`; it goes out on a lane of
# its own, drawn at random beyond the relays' lanes.
SEALED_TEXT = "(sealed)"
SEALED_LANES = 2 * RELAY_LANES
# The `source` of the bot's replies to what a member sent (bot.telegram.render.Outgoing).
REPLY = "reply"
# Rows deleted as soon as they are sent or given up (see `_forget_once_final`).
KEPT_UNTIL_FINAL = (ANONYMOUS_RELAY, REPLY)
SKIP_REASONS: dict[str, str] = {
    MemberStatus.STOPPED: "member stopped",
    MemberStatus.BLOCKED: "member blocked",
}


def relay_lane(ticket_id: int) -> int:
    """The `chat_id` of relays about a ticket: their order, and nothing of the raiser."""
    return -(RELAY_LANES + ticket_id)


def sealed_lane() -> int:
    """A `chat_id` for a sealed reply: nothing of its chat, no order with other rows."""
    return -(SEALED_LANES + secrets.randbelow(RELAY_LANES))


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    member_id: int | None,
    text: str,
    kind: str = "text",
    reply_markup: Mapping[str, Any] | None = None,
    media_file_id: str | None = None,
    language: str | None = None,
    source: str = "",
    broadcast_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
    route: str | None = None,
    asks_run: int | None = None,
    lease_until: datetime | None = None,
    lease_owner: str | None = None,
    now: datetime,
) -> list[OutboxMessage]:
    """Queue one logical message in the caller's transaction; [] if `dedupe_key` was queued.

    Text longer than a message (or a caption) becomes several rows delivered in order; buttons
    go under the last one, and so does `asks_run`, the run whose open question it asks (its
    sending records the prompt). With `route` (a sealed chat id) `chat_id` is only a lane.
    With `lease_until` the rows are written already claimed (`sending`) by the caller
    (`lease_owner`), who sends them at once; should it die, they return to the queue when the
    lease ends, or as soon as it starts again (`take_back`).
    """
    queued = Queued(
        chat_id=chat_id, member_id=member_id, text=text, kind=kind, reply_markup=reply_markup,
        media_file_id=media_file_id, language=language, source=source, broadcast_id=broadcast_id,
        dedupe_key=dedupe_key, not_before=not_before, route=route, asks_run=asks_run,
        lease_until=lease_until, lease_owner=lease_owner,
    )  # fmt: skip
    values = queued.rows(now)
    if dedupe_key is not None and await queued_keys(session, [dedupe_key]):
        return []
    rows = [OutboxMessage(**row) for row in values]
    if lease_until is None:
        note_queued(session)
    if dedupe_key is None:
        # One prebuilt statement per row, without the ORM's unit of work: every reply comes
        # this way.
        connection = await session.connection()
        statement = repo.insert_returning_id(OutboxMessage.__table__)  # type: ignore[attr-defined]
        for row, row_values in zip(rows, values, strict=True):
            row.id = (await connection.execute(statement, row_values)).scalar_one()
        return rows
    try:
        # Another transaction may queue the same key between our check and our insert.
        async with session.begin_nested():
            session.add_all(rows)
    except IntegrityError:
        return []
    return rows


async def next_due_at(session: AsyncSession) -> datetime | None:
    """When the earliest queued message comes due, if any is queued."""
    query = select(func.min(OutboxMessage.next_attempt_at)).where(
        col(OutboxMessage.status) == OutboxStatus.QUEUED
    )
    return (await session.exec(query)).one()


def _ahead(earlier: Any, now: Any) -> ColumnElement[bool]:
    """`earlier` (an outbox row) goes before later rows of its chat: it is being sent, due, or
    waiting for its retry (a row scheduled for later holds nothing back)."""
    return or_(
        col(earlier.status) == OutboxStatus.SENDING,
        and_(
            col(earlier.status) == OutboxStatus.QUEUED,
            or_(col(earlier.next_attempt_at) <= now, col(earlier.attempts) > 0),
        ),
    )


@functools.cache
def _queue_query() -> SelectOfScalar[int | None]:
    """`replies_waiting`'s query, built once; `chat` and `now` are bound when it runs."""
    now = bindparam("now", type_=UTCDateTime)
    query = select(col(OutboxMessage.id)).where(
        col(OutboxMessage.chat_id) == bindparam("chat"),
        col(OutboxMessage.source) == REPLY,
        _ahead(OutboxMessage, now),
    )
    return query.limit(1)


async def replies_waiting(session: AsyncSession, *, chat_id: int, now: datetime) -> bool:
    """Whether an earlier reply to the chat is still to go (one that met a 429, say).

    Only replies: a reply does not wait behind a broadcast or a check-in still queued for
    the chat (it never did), only behind the replies before it.
    """
    found = await session.exec(_queue_query(), params={"chat": chat_id, "now": now})
    return found.first() is not None


# The claim's lanes, taken in this order: replies to what members sent, other one-to-one
# messages (check-ins, notices), broadcasts. A reply sent back to the queue (a 429's pause) must
# not wait behind a due check-in of thousands: a member is waiting for it.
LANES = ("reply", "personal", "broadcast")


def _lane(lane: str) -> ColumnElement[bool]:
    broadcast = col(OutboxMessage.broadcast_id)
    if lane == "broadcast":
        return broadcast.is_not(None)
    # Inlined, so SQLite sees that ix_outbox_due_reply's condition holds (it matches by text).
    reply = col(OutboxMessage.source) == literal(REPLY, literal_execute=True)
    return and_(broadcast.is_(None), reply if lane == "reply" else ~reply)


@functools.cache
def _due_query(*, lane: str, excluding: bool) -> SelectOfScalar[OutboxMessage]:
    """The claim's query for one lane, built once (building it costs more than running it):
    due queued rows with no earlier row of their chat still to go first, which keeps each
    chat's order. `now` and `room` (and `excluded` chats) are bound when it runs."""
    now = bindparam("now", type_=UTCDateTime)
    earlier = aliased(OutboxMessage)
    # Implied by `_ahead`, but spelt out, with the statuses inlined, so both stores see that
    # ix_outbox_pending_chat covers it (SQLite matches a partial index's condition by its text).
    pending = col(earlier.status).in_([literal(str(s), literal_execute=True) for s in PENDING])
    # OFFSET 0 keeps PostgreSQL from turning NOT EXISTS into an anti-join, which it planned
    # over the whole queue, and with statistics from when nearly every row was sent (an
    # outbox's usual state when a burst arrives) as the queue joined to itself: quadratic,
    # seconds a claim. As a subquery it is one index probe per candidate, whatever the
    # statistics say (docs/benchmarks.md, "The outbox claim on PostgreSQL").
    blocked = (
        select(earlier.id)
        .where(
            col(earlier.chat_id) == col(OutboxMessage.chat_id),
            col(earlier.id) < col(OutboxMessage.id),
            pending,
            _ahead(earlier, now),
        )
        .offset(0)
        .exists()
    )
    query = select(OutboxMessage).where(
        col(OutboxMessage.status) == OutboxStatus.QUEUED,
        col(OutboxMessage.next_attempt_at) <= now,
        ~blocked,
        _lane(lane),
    )
    if excluding:
        query = query.where(
            col(OutboxMessage.chat_id).not_in(bindparam("excluded", expanding=True))
        )
    return (
        # Follows ix_outbox_due_reply / _personal / _broadcast: the scan stops after `room` rows.
        query.order_by(col(OutboxMessage.next_attempt_at), col(OutboxMessage.id))
        .limit(bindparam("room"))
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    lease_until: datetime,
    limit: int,
    exclude_chats: Collection[int] = (),
    owner: str | None = None,
) -> list[OutboxMessage]:
    """Take up to `limit` due rows, one per chat: replies, then other one-to-one rows, then
    broadcasts (`LANES`), the longest due first in each.

    Returns the rows taken: leased ones (`sending`, to deliver) and those of stopped or blocked
    members, marked `skipped` instead. On PostgreSQL the rows are locked with SKIP LOCKED, so
    concurrent senders never take the same row; SQLite's write lock serialises claims.
    """
    found: list[OutboxMessage] = []
    for lane in LANES:
        room = limit - len(found)
        if room <= 0:
            break
        query = _due_query(lane=lane, excluding=bool(exclude_chats))
        params: dict[str, Any] = {"now": now, "room": room}
        if exclude_chats:
            params["excluded"] = list(exclude_chats)
        found.extend((await session.exec(query, params=params)).all())
    member_ids = {row.member_id for row in found if row.member_id is not None}
    statuses: dict[int | None, str] = {}
    if member_ids:
        query_members = select(Member.id, Member.status).where(col(Member.id).in_(member_ids))
        statuses = dict((await session.exec(query_members)).all())
    for row in found:
        reason = SKIP_REASONS.get(statuses.get(row.member_id, MemberStatus.ACTIVE))
        if reason is not None:
            row.status, row.last_error = OutboxStatus.SKIPPED, reason
        else:
            row.status, row.lease_until = OutboxStatus.SENDING, lease_until
            row.lease_owner = owner
        session.add(row)
    await session.flush()
    skipped = [
        row.id for row in found if row.status == OutboxStatus.SKIPPED and _kept_until_final(row)
    ]
    if skipped:
        await _forget_once_final(session, col(OutboxMessage.id).in_(skipped))
    return found


def _ours(message: OutboxMessage) -> ColumnElement[bool]:
    """The row is still ours: leased by this claim, or put back by lease expiry and not retaken.

    The lease's expiry time doubles as the claim's token, so a row re-claimed by another sender
    is left alone.
    """
    assert message.id is not None
    return and_(
        col(OutboxMessage.id) == message.id,
        or_(
            col(OutboxMessage.status) == OutboxStatus.QUEUED,
            and_(
                col(OutboxMessage.status) == OutboxStatus.SENDING,
                col(OutboxMessage.lease_until) == message.lease_until,
            ),
        ),
    )


async def _set(session: AsyncSession, where: ColumnElement[bool], **values: Any) -> int:
    statement = update(OutboxMessage).where(where).values(**values)
    result = await session.exec(statement.execution_options(synchronize_session=False))
    return int(result.rowcount or 0)


def _kept_until_final(message: OutboxMessage) -> bool:
    return message.source in KEPT_UNTIL_FINAL


async def _forget_once_final(session: AsyncSession, where: ColumnElement[bool]) -> None:
    """Delete the rows matching `where` that are anonymous relays or replies in a final status.

    Once such a message is sent or given up, nothing needs its row: keeping a relay would tie
    the raiser's chat to their anonymous ticket for anyone reading the database, and keeping
    replies would store all the bot ever said in each chat (and keep a chat id after /forget).
    """
    statement = delete(OutboxMessage).where(
        where,
        col(OutboxMessage.source).in_(KEPT_UNTIL_FINAL),
        col(OutboxMessage.status).in_(FINAL),
    )
    await session.exec(statement.execution_options(synchronize_session=False))


@functools.cache
def _mark_sent() -> Update:
    """`record_sent_many`'s statement, built once; every value is bound per row."""
    ours = and_(
        col(OutboxMessage.id) == bindparam("row_id"),
        or_(
            col(OutboxMessage.status) == OutboxStatus.QUEUED,
            and_(
                col(OutboxMessage.status) == OutboxStatus.SENDING,
                col(OutboxMessage.lease_until) == bindparam("row_lease", type_=UTCDateTime),
            ),
        ),
    )
    return (
        update(OutboxMessage)
        .where(ours)
        .values(
            status=OutboxStatus.SENT,
            telegram_message_id=bindparam("row_telegram_id"),
            sent_at=bindparam("now", type_=UTCDateTime),
            lease_until=None,
            lease_owner=None,
            last_error=None,
        )
    )


async def record_sent_many(
    session: AsyncSession, *, sent: Sequence[tuple[OutboxMessage, int]], now: datetime
) -> int | None:
    """Mark many messages sent in one statement: (row, Telegram's message id) pairs.

    Returns how many rows were still ours to mark, when the driver can tell (else None).
    """
    if not sent:
        return 0
    rows = [
        {"row_id": m.id, "row_lease": m.lease_until, "row_telegram_id": telegram_id, "now": now}
        for m, telegram_id in sent
    ]
    connection = await session.connection()
    result = await connection.execute(_mark_sent(), rows)
    relays = [m.id for m, _ in sent if _kept_until_final(m)]
    if relays:
        await _forget_once_final(session, col(OutboxMessage.id).in_(relays))
    if len(rows) > 1 and not connection.dialect.supports_sane_multi_rowcount:
        return None
    return int(result.rowcount)


async def release(
    session: AsyncSession, *, message: OutboxMessage, next_attempt_at: datetime | None = None
) -> bool:
    """Put a leased message back in the queue untouched (not a failed attempt)."""
    values: dict[str, Any] = {
        "status": OutboxStatus.QUEUED,
        "lease_until": None,
        "lease_owner": None,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    changed = await _set(
        session,
        and_(
            col(OutboxMessage.id) == message.id,
            col(OutboxMessage.status) == OutboxStatus.SENDING,
            col(OutboxMessage.lease_until) == message.lease_until,
        ),
        **values,
    )
    return changed == 1


async def record_attempt_failed(
    session: AsyncSession, *, message: OutboxMessage, error: str, retry_at: datetime | None
) -> bool:
    """Count a failed attempt: queue it again at `retry_at`, or mark it failed if None."""
    values: dict[str, Any] = {
        "attempts": col(OutboxMessage.attempts) + 1,
        "last_error": error,
        "lease_until": None,
        "lease_owner": None,
    }
    if retry_at is None:
        values["status"] = OutboxStatus.FAILED
    else:
        values.update(status=OutboxStatus.QUEUED, next_attempt_at=retry_at)
    changed = await _set(session, _ours(message), **values) == 1
    if retry_at is None:
        await _forget_once_final(session, col(OutboxMessage.id) == message.id)
    return changed


async def record_undeliverable(
    session: AsyncSession, *, message: OutboxMessage, status: OutboxStatus, reason: str
) -> bool:
    """Give a message up as `failed` or `skipped`, with the reason."""
    if status not in (OutboxStatus.FAILED, OutboxStatus.SKIPPED):
        raise ValueError(f"not a final status for an undelivered message: {status}")
    changed = await _set(
        session,
        _ours(message),
        status=status,
        last_error=reason,
        lease_until=None,
        lease_owner=None,
    )
    await _forget_once_final(session, col(OutboxMessage.id) == message.id)
    return changed == 1


async def block_chat(
    session: AsyncSession, *, message: OutboxMessage, reason: str, now: datetime
) -> int:
    """The bot may not write to this chat: mark its member blocked, skip all its queued rows."""
    if message.member_id is not None:
        member = await session.get(Member, message.member_id)
        if member is not None and member.status != MemberStatus.BLOCKED:
            await repo.update_member(
                session, member=member, changes={"status": MemberStatus.BLOCKED}, now=now
            )
    else:
        # A reply names no member (see `bot.telegram.render.Outgoing.write`): its chat does.
        await repo.mark_chat_blocked(session, chat_id=message.chat_id, now=now)
    await record_undeliverable(session, message=message, status=OutboxStatus.SKIPPED, reason=reason)
    others = await _set(
        session,
        and_(
            col(OutboxMessage.chat_id) == message.chat_id,
            col(OutboxMessage.status) == OutboxStatus.QUEUED,
        ),
        status=OutboxStatus.SKIPPED,
        last_error=reason,
    )
    await _forget_once_final(session, col(OutboxMessage.chat_id) == message.chat_id)
    return others + 1


async def move_chat(
    session: AsyncSession, *, old_chat_id: int, new_chat_id: int, now: datetime
) -> int:
    """A group became a supergroup: its members, binding and unsent messages follow its id."""
    await groups.migrate_chat(session, old_chat_id=old_chat_id, new_chat_id=new_chat_id)
    members = await session.exec(select(Member).where(col(Member.chat_id) == old_chat_id))
    for member in members.all():
        await repo.update_member(session, member=member, changes={"chat_id": new_chat_id}, now=now)
    return await _set(
        session,
        and_(col(OutboxMessage.chat_id) == old_chat_id, col(OutboxMessage.status).in_(PENDING)),
        chat_id=new_chat_id,
    )


async def renew_leases(
    session: AsyncSession, *, held: Sequence[OutboxMessage], lease_until: datetime
) -> set[int]:
    """Extend to `lease_until` the leases of `held` rows still ours; returns their ids.

    A row is still ours while it is `sending` under the lease this sender gave it (the lease's
    expiry time is the claim's token); a row another sender has re-claimed is left alone.
    """
    if not held:
        return set()
    pairs = [(m.id, m.lease_until) for m in held]
    statement = (
        update(OutboxMessage)
        .where(
            col(OutboxMessage.status) == OutboxStatus.SENDING,
            tuple_(col(OutboxMessage.id), col(OutboxMessage.lease_until)).in_(pairs),
        )
        .values(lease_until=lease_until)
        .returning(col(OutboxMessage.id))
    )
    connection = await session.connection()
    result = await connection.execute(statement)
    return {int(row_id) for row_id in result.scalars() if row_id is not None}


async def requeue_expired(
    session: AsyncSession, *, now: datetime, keep: Collection[int] = ()
) -> int:
    """Put back rows left `sending` past their lease (a sender died); `keep` are still ours."""
    where = and_(
        col(OutboxMessage.status) == OutboxStatus.SENDING,
        col(OutboxMessage.lease_until) < now,
    )
    if keep:
        where = and_(where, col(OutboxMessage.id).not_in(list(keep)))
    return await _set(
        session, where, status=OutboxStatus.QUEUED, lease_until=None, lease_owner=None
    )


async def take_back(session: AsyncSession, *, owner: str) -> int:
    """Queue again the rows an earlier run of this instance left `sending` (it died holding
    them): `owner` is "<instance>/<run>", and a live run of the instance is never another."""
    instance = owner.rpartition("/")[0]
    where = and_(
        col(OutboxMessage.status) == OutboxStatus.SENDING,
        col(OutboxMessage.lease_owner).startswith(f"{instance}/", autoescape=True),
        col(OutboxMessage.lease_owner) != owner,
    )
    return await _set(
        session, where, status=OutboxStatus.QUEUED, lease_until=None, lease_owner=None
    )


async def get_message(session: AsyncSession, *, message_id: int) -> OutboxMessage | None:
    """One outbox row by id."""
    return await session.get(OutboxMessage, message_id)


async def list_messages(
    session: AsyncSession,
    *,
    chat_id: int | None = None,
    broadcast_id: int | None = None,
    status: str | None = None,
) -> list[OutboxMessage]:
    """Outbox rows, optionally of one chat, one broadcast or in one status, oldest first."""
    query = select(OutboxMessage).order_by(col(OutboxMessage.id))
    if chat_id is not None:
        query = query.where(col(OutboxMessage.chat_id) == chat_id)
    if broadcast_id is not None:
        query = query.where(col(OutboxMessage.broadcast_id) == broadcast_id)
    if status is not None:
        query = query.where(col(OutboxMessage.status) == status)
    return list((await session.exec(query)).all())
