"""Decisions' tables: proposals, who was asked, anonymous votes, and the polls the bot sent.

Beside `models.py` (kept under the size limit); the migrations' env imports it too.
A named vote is kept on its voter's row (`decision_voter.option`). An anonymous vote is a row
of its own with a random key and a keyed tag per decision and person (unreadable without the
anonymity key, so that a changed vote replaces the former one), no member and no time, written
by the leader apart from the voter's transaction (`bot.services.filing`); the voter's row says
only that they voted, for the one reminder to skip them.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Index
from sqlmodel import Field, SQLModel

from bot.storage.models import Id, UTCDateTime


class DecisionStatus(StrEnum):
    OPEN = "open"  # votes are taken
    CLOSED = "closed"  # votes are in; the coordinator writes the outcome statement
    DECIDED = "decided"  # the outcome went out; it is in the decision log


class Decision(SQLModel, table=True):
    """A proposal put to a committee or an audience of members, and its outcome."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    question: str = Field(max_length=300)
    # Option texts; with `custom` false they are the keys of DEFAULT_OPTIONS, worded per reader.
    options: list[str] = Field(default_factory=list, sa_type=JSON)
    custom: bool = False
    anonymous: bool = False
    committee_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="committee.id", ondelete="SET NULL"
    )
    audience: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    status: str = Field(default=DecisionStatus.OPEN, max_length=16, index=True)
    opened_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    opened_at: datetime = Field(sa_type=UTCDateTime)
    closes_at: datetime = Field(sa_type=UTCDateTime)
    remind_at: datetime = Field(sa_type=UTCDateTime)
    asked: int = 0
    # A native poll in the committee's group: its outbox row (the poll's id arrives with it).
    poll_outbox_id: int | None = Field(default=None, sa_type=BigInteger)
    # An anonymous poll's totals as Telegram last sent them (option index -> voters).
    poll_totals: dict[str, int] | None = Field(default=None, sa_type=JSON)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    totals: dict[str, int] | None = Field(default=None, sa_type=JSON)  # frozen at closing
    result: str | None = Field(default=None, max_length=16)
    statement: str | None = None
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decided_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )


class DecisionVoter(SQLModel, table=True):
    """A member the proposal was put to: whether they voted, were reminded, and (named
    proposals only) what they chose."""

    __tablename__ = "decision_voter"

    decision_id: int = Field(
        sa_type=BigInteger, foreign_key="decision.id", ondelete="CASCADE", primary_key=True
    )
    member_id: int = Field(
        sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE", primary_key=True
    )
    voted: bool = False
    reminded: bool = False
    option: int | None = None


class DecisionVote(SQLModel, table=True):
    """An anonymous vote, in no member's name."""

    __tablename__ = "decision_vote"
    __table_args__ = (Index("ux_decision_vote_voter", "decision_id", "voter_tag", unique=True),)

    id: str = Field(primary_key=True, max_length=32)
    decision_id: int = Field(
        sa_type=BigInteger, foreign_key="decision.id", ondelete="CASCADE", index=True
    )
    voter_tag: str = Field(max_length=64)  # a keyed tag of (decision, member)
    option: int
    # The voter's how-manieth vote: a ballot filed after a later one does not undo it.
    revision: int = 0


class SentPoll(SQLModel, table=True):
    """A poll the bot sent: its outbox row, where it is, and Telegram's id for it."""

    __tablename__ = "sent_poll"

    poll_id: str = Field(primary_key=True, max_length=64)
    outbox_id: int = Field(sa_type=BigInteger, index=True)
    chat_id: int = Field(sa_type=BigInteger)
    message_id: int = Field(sa_type=BigInteger)
