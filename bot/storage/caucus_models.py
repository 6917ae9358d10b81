"""Caucus rounds' tables: a stakeholder group's own round before the joint forum.

Beside `models.py` (kept under the size limit); the migrations' env imports it too.
An entry keeps no member: only a keyed tag per round (`respondent`), unreadable without the
anonymity key, so that figures count people, not entries. Who was invited, answered and
reacted is kept apart from what they said, with no time that would pair the two.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from bot.storage.models import Id, UTCDateTime


class CaucusStatus(StrEnum):
    OPEN = "open"  # the group answers
    SHARED = "shared"  # the group has its results and reacts
    CLOSED = "closed"  # the brief went to the committee


class CaucusRound(SQLModel, table=True):
    """One stakeholder group's round, briefing one committee (the joint forum)."""

    __tablename__ = "caucus_round"

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    stakeholder_group: str = Field(max_length=40)
    committee_id: int = Field(sa_type=BigInteger, foreign_key="committee.id", index=True)
    topic: str = Field(max_length=200)
    status: str = Field(default=CaucusStatus.OPEN, max_length=16, index=True)
    opened_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    opened_at: datetime = Field(sa_type=UTCDateTime)
    shared_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the joint brief of the committee's rounds, side by side, included this one.
    joint_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class CaucusSeat(SQLModel, table=True):
    """A member of the group the round was opened for: only they answer, see and react."""

    __tablename__ = "caucus_seat"

    round_id: int = Field(
        sa_type=BigInteger, foreign_key="caucus_round.id", ondelete="CASCADE", primary_key=True
    )
    member_id: int = Field(
        sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE", primary_key=True
    )
    answered: bool = False
    reacted: bool = False


class CaucusEntry(SQLModel, table=True):
    """An issue or opportunity brought to the round, in no member's name."""

    __tablename__ = "caucus_entry"

    id: str = Field(primary_key=True, max_length=32)
    round_id: int = Field(
        sa_type=BigInteger, foreign_key="caucus_round.id", ondelete="CASCADE", index=True
    )
    respondent: str = Field(max_length=32)
    kind: str = Field(max_length=16)
    text: str
    priority: int
    quotable: bool = False
    added: bool = False  # brought after the group saw its results


class CaucusReaction(SQLModel, table=True):
    """A member's agree or disagree with their group's results, in no member's name."""

    __tablename__ = "caucus_reaction"

    id: str = Field(primary_key=True, max_length=32)
    round_id: int = Field(
        sa_type=BigInteger, foreign_key="caucus_round.id", ondelete="CASCADE", index=True
    )
    reaction: str = Field(max_length=16)
