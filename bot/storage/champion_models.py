"""The champions register's table (bot/services/champions.py): kept beside `models` so that
module stays readable; `bot.storage.tables` registers every table for the migrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.storage.models import Id, UTCDateTime


class Champion(SQLModel, table=True):
    """A key person's seat in the champions register: an organisation's lead or deputy.

    `member_id` None is a vacant seat (its holder left or was erased); a lead's proposal waits
    in `proposed_member_id` until a coordinator confirms it (see bot/services/champions.py).
    """

    __table_args__ = (UniqueConstraint("org_key", "role", name="uq_champion_seat"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    organisation: str = Field(max_length=200)
    # The organisation as members' onboarding answers are compared: case and spaces folded.
    org_key: str = Field(max_length=200)
    role: str = Field(max_length=16)
    member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL", index=True
    )
    appointed_at: datetime = Field(sa_type=UTCDateTime)
    proposed_member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    proposed_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    proposed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When coordinators were last told the holder went quiet (once per quiet spell).
    quiet_alerted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
