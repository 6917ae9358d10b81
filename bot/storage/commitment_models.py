"""The commitments register's tables: commitments, their delivery check-ins, the counter-parties'
anonymous tallies, and the variations and disputes log (beside `models.py`, which is full)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from bot.storage.models import Id, UTCDateTime


class Commitment(SQLModel, table=True):
    """Who (a partner organisation, maybe one person of it) does what, by when, for whom, and
    the agreement or clause it comes from; where it stands (the owner's latest check-in, whose
    note stays with the check-in: `/forget` takes it away with its author)."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    owner_org: str = Field(max_length=200, index=True)
    owner_member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    what: str = Field(max_length=500)
    due_on: date
    beneficiary: str = Field(max_length=200)
    source: str = Field(default="", max_length=300)
    status: str = Field(default="pending", max_length=16, index=True)
    created_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class CommitmentUpdate(SQLModel, table=True):
    """One delivery check-in answered by the owner (named: it is their report, not a vote)."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    commitment_id: int = Field(
        sa_type=BigInteger, foreign_key="commitment.id", ondelete="CASCADE", index=True
    )
    member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    stage: str = Field(max_length=16)
    status: str = Field(max_length=16)
    note: str | None = Field(default=None, max_length=1000)
    created_at: datetime = Field(sa_type=UTCDateTime)


class CommitmentPrompt(SQLModel, table=True):
    """A check-in or rating request sent to one member, once per commitment, purpose and due
    date (a varied due date asks again). Records that they were asked, never what they said."""

    commitment_id: int = Field(
        sa_type=BigInteger, foreign_key="commitment.id", ondelete="CASCADE", primary_key=True
    )
    member_id: int = Field(
        sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE", primary_key=True
    )
    purpose: str = Field(max_length=16, primary_key=True)
    due_on: date = Field(primary_key=True)
    asked_at: datetime = Field(sa_type=UTCDateTime)


class CommitmentTally(SQLModel, table=True):
    """The counter-parties' anonymous ratings of one commitment, kept only as running sums:
    no row links a rater to a rating."""

    commitment_id: int = Field(
        sa_type=BigInteger, foreign_key="commitment.id", ondelete="CASCADE", primary_key=True
    )
    raters: int = Field(default=0)
    delivery_sum: int = Field(default=0)
    spirit_sum: int = Field(default=0)


class Variation(SQLModel, table=True):
    """A change proposed to a commitment, or a dispute about it; its outcome once decided."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    commitment_id: int = Field(
        sa_type=BigInteger, foreign_key="commitment.id", ondelete="CASCADE", index=True
    )
    proposed_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    kind: str = Field(max_length=16)
    text: str = Field(max_length=1000)
    new_due_on: date | None = None
    status: str = Field(default="open", max_length=16, index=True)
    decided_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(sa_type=UTCDateTime)


class VariationResponse(SQLModel, table=True):
    """A partner's answer to a variation: agree or disagree (their latest press counts)."""

    variation_id: int = Field(
        sa_type=BigInteger, foreign_key="variation.id", ondelete="CASCADE", primary_key=True
    )
    member_id: int = Field(
        sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE", primary_key=True
    )
    choice: str = Field(max_length=16)
    created_at: datetime = Field(sa_type=UTCDateTime)
