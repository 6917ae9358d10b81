"""SQLModel tables. Telegram ids are BIGINT; times are stored as UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Index,
    Integer,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlmodel import Field, SQLModel

# SQLite only auto-increments a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MemberStatus(StrEnum):
    ACTIVE = "active"
    STOPPED = "stopped"
    BLOCKED = "blocked"


class MemberRole(StrEnum):
    MEMBER = "member"
    COORDINATOR = "coordinator"
    ADMIN = "admin"


class RunStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    ABANDONED = "abandoned"
    EXPIRED = "expired"


class Member(SQLModel, table=True):
    """A person who consented to take part."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    telegram_user_id: int = Field(sa_type=BigInteger, unique=True, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    display_name: str = Field(default="", max_length=200)
    language: str = Field(max_length=16)
    stakeholder_group: str | None = Field(default=None, max_length=40)
    organisation: str | None = Field(default=None, max_length=200)
    role_title: str | None = Field(default=None, max_length=200)
    time_zone: str | None = Field(default=None, max_length=64)
    role: str = Field(default=MemberRole.MEMBER, max_length=16)
    # The invitation link the member joined through (response-rate follow-up per channel). No
    # foreign key: member -> invite -> committee -> member would be a cycle, which backups
    # cannot order; links are never deleted.
    invite_id: int | None = Field(default=None, sa_type=BigInteger)
    status: str = Field(default=MemberStatus.ACTIVE, max_length=16, index=True)
    consent_at: datetime = Field(sa_type=UTCDateTime)
    joined_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class FlowRun(SQLModel, table=True):
    """One member's pass through one flow; `answers` is the engine's working memory."""

    __table_args__ = (Index("ix_flowrun_member_status", "member_id", "status"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    member_id: int = Field(sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE")
    flow_id: str = Field(max_length=40)
    flow_version: int
    node_id: str | None = Field(default=None, max_length=40)
    answers: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    selected: list[str] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default=RunStatus.RUNNING, max_length=16)
    # A facilitator's run on behalf of someone without a phone: {"group": ..., "language": ...}.
    proxy: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    # Answers in a row to the open question that could not be read (see engine.WAY_OUT_AFTER).
    misses: int = 0
    # The chat message asking the open question: a typed message older than it was written
    # before the question was shown; its buttons (`prompt_buttons`) go once it is answered.
    prompt_message_id: int | None = Field(default=None, sa_type=BigInteger)
    prompt_buttons: bool = False
    started_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Answer(SQLModel, table=True):
    """One stored answer. Anonymous answers keep no link to a run or a member."""

    __table_args__ = (Index("ix_answer_flow_question", "flow_id", "question_key"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    run_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="flowrun.id", ondelete="CASCADE", index=True
    )
    member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE", index=True
    )
    flow_id: str = Field(max_length=40)
    question_key: str = Field(max_length=40)
    kind: str = Field(max_length=16)
    value_choice: str | None = Field(default=None, max_length=40)
    value_number: float | None = None
    value_text: str | None = None
    skipped: bool = False
    anonymous: bool = False
    stakeholder_group: str | None = Field(default=None, max_length=40)
    # The author allowed this free-text answer to be quoted (without a name) in digests.
    quotable: bool = False
    # Recorded by a facilitator for someone without a phone; `recorded_by` is the facilitator.
    proxy: bool = False
    recorded_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(sa_type=UTCDateTime)


class Ballot(SQLModel, table=True):
    """A conversation's anonymous answers, sealed, waiting to be released into `answer`.

    Written when the conversation ends, with nothing of its author: a random key, the flow, the
    day, and the answers sealed with the anonymity key. The leader releases a flow's ballots in
    shuffled batches of at least k, in a transaction of its own (see services/ballots.py).
    """

    id: str = Field(primary_key=True, max_length=32)
    flow_id: str = Field(max_length=40, index=True)
    day: datetime = Field(sa_type=UTCDateTime)
    sealed: str


class ProcessedUpdate(SQLModel, table=True):
    """An update already handled, so a second delivery of it is ignored."""

    update_id: int = Field(
        sa_type=BigInteger, primary_key=True, sa_column_kwargs={"autoincrement": False}
    )
    processed_at: datetime = Field(sa_type=UTCDateTime, index=True)


class OutboxStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class DeliveryCount(SQLModel, table=True):
    """Outbox sends by outcome over the deployment's life. The sender adds to it in the
    transaction that records the outcomes, so the figures survive a change of leader."""

    outcome: str = Field(primary_key=True, max_length=16)
    total: int = Field(default=0, sa_type=BigInteger)


class BroadcastStatus(StrEnum):
    SCHEDULED = "scheduled"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


class Broadcast(SQLModel, table=True):
    """A coordinator's update to a segment of members; its messages go through the outbox."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    created_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    status: str = Field(default=BroadcastStatus.SCHEDULED, max_length=16, index=True)
    audience: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    texts: dict[str, str] = Field(default_factory=dict, sa_type=JSON)
    media_kind: str | None = Field(default=None, max_length=16)
    media_file_id: str | None = Field(default=None, max_length=255)
    urgent: bool = False
    send_at: datetime = Field(sa_type=UTCDateTime)
    total: int = 0
    progress_chat_id: int | None = Field(default=None, sa_type=BigInteger)
    progress_message_id: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


# The kind of an outbox message stored as data: a check-in's first question, written when sent.
CHECKIN_KIND = "checkin"


class OutboxMessage(SQLModel, table=True):
    """One message to deliver, durable from the moment the change that causes it commits."""

    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # The sender's claim (outbox._due_query) walks one of these two in its order and stops
        # after a batch; without them PostgreSQL joined and sorted every due row (seconds at
        # 25,000). Partial indexes, so neither kind's queue is walked past the other's.
        Index(
            "ix_outbox_due_personal",
            "status",
            "next_attempt_at",
            "id",
            postgresql_where=text("broadcast_id IS NULL"),
            sqlite_where=text("broadcast_id IS NULL"),
        ),
        # Replies are claimed first (outbox.LANES); only a few are ever queued (a 429's pause).
        Index(
            "ix_outbox_due_reply",
            "status",
            "next_attempt_at",
            "id",
            postgresql_where=text("broadcast_id IS NULL AND source = 'reply'"),
            sqlite_where=text("broadcast_id IS NULL AND source = 'reply'"),
        ),
        Index(
            "ix_outbox_due_broadcast",
            "status",
            "next_attempt_at",
            "id",
            postgresql_where=text("broadcast_id IS NOT NULL"),
            sqlite_where=text("broadcast_id IS NOT NULL"),
        ),
        # The claim's "no earlier row of this chat still to go" probe reads a chat's pending
        # rows only, never its history of sent ones.
        Index(
            "ix_outbox_pending_chat",
            "chat_id",
            "id",
            postgresql_where=text("status IN ('queued', 'sending')"),
            sqlite_where=text("status IN ('queued', 'sending')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    chat_id: int = Field(sa_type=BigInteger, index=True)
    # A message to an anonymous raiser: the chat id sealed with the anonymity key, opened by the
    # sender at send time; `chat_id` then holds the ticket's lane (see outbox.relay_lane).
    route: str | None = Field(default=None, max_length=512)
    member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL", index=True
    )
    broadcast_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="broadcast.id", ondelete="CASCADE", index=True
    )
    source: str = Field(default="", max_length=64)
    dedupe_key: str | None = Field(default=None, max_length=128, unique=True)
    kind: str = Field(default="text", max_length=16)
    language: str | None = Field(default=None, max_length=16)
    text: str = ""
    reply_markup: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    media_file_id: str | None = Field(default=None, max_length=255)
    # A check-in's question is kept as data (kind "checkin": the run, its flow and node, and
    # which part of the message) and written in the reader's language when it is sent.
    run_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="flowrun.id", ondelete="CASCADE", index=True
    )
    flow_id: str | None = Field(default=None, max_length=40)
    node_id: str | None = Field(default=None, max_length=40)
    part: int | None = None
    status: str = Field(default=OutboxStatus.QUEUED, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_type=UTCDateTime)
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Who holds the lease: "<instance>/<run>" (see `bot.delivery.sender.lease_owner`), so an
    # instance restarted after a crash takes back the rows its previous run held.
    lease_owner: str | None = Field(default=None, max_length=160)
    telegram_message_id: int | None = Field(default=None, sa_type=BigInteger)
    last_error: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Draft(SQLModel, table=True):
    """An unfinished guided conversation (e.g. a broadcast being written): one per kind, so
    that starting one keeps the others."""

    member_id: int = Field(
        sa_type=BigInteger,
        foreign_key="member.id",
        ondelete="CASCADE",
        primary_key=True,
        sa_column_kwargs={"autoincrement": False},
    )
    kind: str = Field(max_length=32, primary_key=True)
    data: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    # The order the member's drafts were last touched in (times may tie): typing goes to the
    # highest.
    touched: int = Field(default=0, sa_type=BigInteger)


class ScheduleStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    DELETED = "deleted"


class OccurrenceStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    MISSED = "missed"


class CheckInStatus(StrEnum):
    SENT = "sent"
    DONE = "done"
    ABANDONED = "abandoned"
    EXPIRED = "expired"
    MISSED = "missed"


class ScheduleKind(StrEnum):
    CHECKIN = "checkin"
    VOICE_DIGEST = "voice_digest"
    YOU_SAID_WE_DID = "you_said_we_did"
    # A check-in of partners' representatives about their parent organisation
    # (bot/services/parent_ties.py): run like a check-in, its audience kept to partner groups.
    PARENT_CHECK = "parent_check"


# Schedules that send check-ins (a flow per member), as opposed to digests.
CHECKIN_KINDS = (ScheduleKind.CHECKIN, ScheduleKind.PARENT_CHECK)


class Schedule(SQLModel, table=True):
    """A recurring or relative check-in: which flow, to whom, when, and for how long."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    kind: str = Field(default=ScheduleKind.CHECKIN, max_length=24)
    # Digests of a committee (its meetings); check-ins name committees in `audience` instead.
    committee_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="committee.id", ondelete="CASCADE"
    )
    flow_id: str = Field(max_length=40)
    recurrence: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    basis: str = Field(default="member", max_length=16)
    audience: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    window_minutes: int
    reminder_minutes: list[int] = Field(default_factory=list, sa_type=JSON)
    status: str = Field(default=ScheduleStatus.ACTIVE, max_length=16, index=True)
    default_key: str | None = Field(default=None, max_length=40, unique=True)
    created_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    # Nothing due before this moment (creation, or the last resumption) is the schedule's.
    active_from: datetime = Field(sa_type=UTCDateTime)
    # Relative schedules: every member event whose window closed before this is settled.
    settled_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class ScheduleOccurrence(SQLModel, table=True):
    """One calendar occurrence of a schedule (its local date), as the scheduler handled it."""

    __table_args__ = (
        UniqueConstraint("schedule_id", "occurrence", name="uq_scheduleoccurrence_key"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    schedule_id: int = Field(sa_type=BigInteger, foreign_key="schedule.id", ondelete="CASCADE")
    occurrence: str = Field(max_length=32)
    status: str = Field(default=OccurrenceStatus.OPEN, max_length=16, index=True)
    first_send_at: datetime = Field(sa_type=UTCDateTime)
    last_close_at: datetime = Field(sa_type=UTCDateTime)
    recorded_at: datetime = Field(sa_type=UTCDateTime)
    # When the aggregate results went to the participants, once the window closed.
    results_sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CheckIn(SQLModel, table=True):
    """One member's check-in of one occurrence: sent once, whatever restarts happen."""

    __table_args__ = (
        UniqueConstraint("schedule_id", "occurrence", "member_id", name="uq_checkin_member"),
        Index("ix_checkin_status_closes", "status", "closes_at"),
    )

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    schedule_id: int = Field(sa_type=BigInteger, foreign_key="schedule.id", ondelete="CASCADE")
    occurrence: str = Field(max_length=32)
    member_id: int = Field(sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE")
    run_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="flowrun.id", ondelete="SET NULL"
    )
    status: str = Field(default=CheckInStatus.SENT, max_length=16)
    due_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    reminders_sent: int = 0
    next_reminder_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Committee(SQLModel, table=True):
    """A body of the partnership (steering group, working or evaluation committee)."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    name: str = Field(max_length=80, unique=True)
    purpose: str | None = Field(default=None, max_length=500)
    created_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
    archived_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The voice digest covers what was said after this moment.
    last_digest_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CommitteeMember(SQLModel, table=True):
    """A member sitting on a committee; coordinators of it receive its concerns."""

    committee_id: int = Field(
        sa_type=BigInteger, foreign_key="committee.id", ondelete="CASCADE", primary_key=True
    )
    member_id: int = Field(
        sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE", primary_key=True
    )
    is_chair: bool = False
    added_at: datetime = Field(sa_type=UTCDateTime)


class CommitteeCategory(SQLModel, table=True):
    """A concern category a committee handles: one owner per category (see `route`)."""

    category: str = Field(max_length=32, primary_key=True)
    committee_id: int = Field(sa_type=BigInteger, foreign_key="committee.id", ondelete="CASCADE")
    added_at: datetime = Field(sa_type=UTCDateTime)


class TicketStatus(StrEnum):
    RECEIVED = "received"
    DISCUSSED = "discussed"
    AGREED = "agreed"
    DONE = "done"
    DECLINED = "declined"


class Ticket(SQLModel, table=True):
    """A concern a member raised. An anonymous one has no member: see TicketRoute."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    handle: str = Field(max_length=16, unique=True)
    category: str = Field(max_length=32)
    about: str = Field(max_length=32)
    urgency: str = Field(max_length=16)
    text: str
    anonymous: bool = False
    member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL", index=True
    )
    committee_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="committee.id", ondelete="SET NULL"
    )
    status: str = Field(default=TicketStatus.RECEIVED, max_length=16, index=True)
    status_reason: str | None = None
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set once the ticket appeared in a "you said, we did" digest.
    reported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Set once an urgent ticket left unanswered went to every coordinator.
    escalated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class TicketRoute(SQLModel, table=True):
    """How to reach an anonymous raiser: sealed with the anonymity key, never joined in reports.

    `sealed` decrypts to the member id only inside the relay; `raiser_tag` is a keyed hash that
    lets the raiser (and nobody reading the database without the key) find their own tickets.
    """

    ticket_id: int = Field(
        sa_type=BigInteger, foreign_key="ticket.id", ondelete="CASCADE", primary_key=True
    )
    sealed: str = Field(max_length=512)
    raiser_tag: str = Field(max_length=64, index=True)


class TicketEvent(SQLModel, table=True):
    """A step of a ticket: a status change, a coordinator's answer or the raiser's reply."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    ticket_id: int = Field(sa_type=BigInteger, foreign_key="ticket.id", ondelete="CASCADE")
    kind: str = Field(max_length=16)
    status: str | None = Field(default=None, max_length=16)
    text: str | None = None
    # The coordinator who acted; never set for the raiser's own replies.
    actor_member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    from_raiser: bool = False
    created_at: datetime = Field(sa_type=UTCDateTime, index=True)


class TrustAlert(SQLModel, table=True):
    """Coordinators were told of a drop in a group's trust index in this period (told once)."""

    stakeholder_group: str = Field(max_length=40, primary_key=True)
    period: str = Field(max_length=32, primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)


class AuditEntry(SQLModel, table=True):
    """Who did what, when: broadcasts, exports, role and schedule changes."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    # Kept when the actor's row is gone, e.g. "admin 1234" or "cli".
    actor_label: str = Field(max_length=120)
    action: str = Field(max_length=40, index=True)
    detail: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class KeyRing(SQLModel, table=True):
    """The anonymity key this database was set up with, as a keyed fingerprint (never the key).

    `erasure_key` is a random key of the erasure log, sealed with the anonymity key, so that a
    key rotation re-seals it and the log's tags stay valid.
    """

    id: int = Field(default=1, primary_key=True, sa_column_kwargs={"autoincrement": False})
    fingerprint: str = Field(max_length=64)
    erasure_key: str = Field(max_length=512)
    created_at: datetime = Field(sa_type=UTCDateTime)
    rotated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Erasure(SQLModel, table=True):
    """A member erased by /forget, as a keyed hash of their member id: what a restore re-applies."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    member_tag: str = Field(max_length=64, index=True)
    erased_at: datetime = Field(sa_type=UTCDateTime)


class ConsentPrompt(SQLModel, table=True):
    """The consent question was shown to a person who is not a member yet (a keyed hash of
    their Telegram id), so that only an answer to it counts as consent."""

    tag: str = Field(max_length=64, primary_key=True)
    shown_at: datetime = Field(sa_type=UTCDateTime, index=True)
    # Misunderstood answers to it in a row (nothing else of the person is kept).
    misses: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    # The invitation the person opened, remembered until they consent (then on the member).
    invite_id: int | None = Field(default=None, sa_type=BigInteger)


class Invite(SQLModel, table=True):
    """An invitation link (`t.me/<bot>?start=<token>`) for a stakeholder group or committee."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    token: str = Field(max_length=64, unique=True)
    stakeholder_group: str | None = Field(default=None, max_length=40)
    committee_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="committee.id", ondelete="SET NULL"
    )
    # Where the link is used ("market poster"), shown to coordinators only.
    label: str | None = Field(default=None, max_length=200)
    # The member who made it (no foreign key, as on `Member.invite_id`), or None (the shell).
    created_by: int | None = Field(default=None, sa_type=BigInteger)
    created_at: datetime = Field(sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    max_uses: int | None = None
    # People who joined through it.
    uses: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
