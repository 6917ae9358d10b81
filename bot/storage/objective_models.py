"""Partners' objectives and the progress ratings tied to each (bot/services/objectives.py):
kept beside `models`; `bot.storage.tables` registers every table for the migrations."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger
from sqlmodel import Field, SQLModel

from bot.storage.models import Id, UTCDateTime


class Objective(SQLModel, table=True):
    """One objective a partner states under a Box 6.25 category, shown to every partner."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    member_id: int = Field(sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE")
    organisation: str | None = Field(default=None, max_length=200)
    stakeholder_group: str | None = Field(default=None, max_length=40, index=True)
    category: str = Field(max_length=40)
    statement: str
    indicator: str
    baseline: str
    target: str
    # The competencies (the roles flow's areas) reaching it calls for: the alignment matrix.
    needs: list[str] = Field(default_factory=list, sa_type=JSON)
    created_at: datetime = Field(sa_type=UTCDateTime)


class ObjectiveRating(SQLModel, table=True):
    """Progress towards one objective's target, 1 (baseline) to 5 (reached), by a member of
    the partner's group."""

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    objective_id: int = Field(
        sa_type=BigInteger, foreign_key="objective.id", ondelete="CASCADE", index=True
    )
    member_id: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="CASCADE"
    )
    stakeholder_group: str | None = Field(default=None, max_length=40)
    rating: float
    created_at: datetime = Field(sa_type=UTCDateTime)
