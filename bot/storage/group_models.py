"""Committee groups: the Telegram group (or forum supergroup) a committee talks in.

Beside `models.py` (kept under the size limit); the migrations' env imports it too.
A binding names a chat and, in a forum, the topic used for each purpose; it never names a
member of the group beyond the coordinator who bound it.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger
from sqlmodel import Field, SQLModel

from bot.storage.models import UTCDateTime


class GroupPurpose(StrEnum):
    """What the bot posts in a committee's group; in a forum each has its own topic."""

    DIGESTS = "digests"  # voice digests, pulse results, "you said, we did"
    TICKETS = "tickets"  # ticket cards, never with a raiser's identity
    DECISIONS = "decisions"  # proposals, polls and their outcomes


class CommitteeGroup(SQLModel, table=True):
    """The group a committee is bound to: one group per committee, one committee per group."""

    __tablename__ = "committee_group"

    committee_id: int = Field(
        sa_type=BigInteger, foreign_key="committee.id", ondelete="CASCADE", primary_key=True
    )
    chat_id: int = Field(sa_type=BigInteger, unique=True)
    title: str = Field(max_length=255)
    is_forum: bool = False
    # Forum topics (message_thread_id) per purpose; None outside a forum or until created.
    digests_thread_id: int | None = Field(default=None, sa_type=BigInteger)
    tickets_thread_id: int | None = Field(default=None, sa_type=BigInteger)
    decisions_thread_id: int | None = Field(default=None, sa_type=BigInteger)
    bound_by: int | None = Field(
        default=None, sa_type=BigInteger, foreign_key="member.id", ondelete="SET NULL"
    )
    bound_at: datetime = Field(sa_type=UTCDateTime)

    def thread_for(self, purpose: GroupPurpose) -> int | None:
        """The forum topic a post for `purpose` goes to (None: the group's main chat)."""
        return getattr(self, f"{purpose.value}_thread_id")  # type: ignore[no-any-return]
