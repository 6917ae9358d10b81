"""A ticket's media: the voice notes, photos, documents and places sent with a concern.

Beside `models.py` (kept under the size limit); registered in `tables.py`. A row names its
ticket only, never a member: a named ticket leads to its raiser, an anonymous one to nobody,
exactly as the ticket itself. Media are Telegram file ids, never the files (nothing is
downloaded), and a place is its coordinates.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

from bot.storage.models import Id


class TicketMedia(SQLModel, table=True):
    """One item sent with a concern, in the order it was sent."""

    __tablename__ = "ticket_media"
    __table_args__ = (Index("ix_ticket_media_ticket", "ticket_id", "position"),)

    id: int | None = Field(default=None, primary_key=True, sa_type=Id)
    ticket_id: int = Field(sa_type=BigInteger, foreign_key="ticket.id", ondelete="CASCADE")
    position: int
    kind: str = Field(max_length=16)  # voice, photo, document or location
    file_id: str | None = Field(default=None, max_length=255)
    file_unique_id: str | None = Field(default=None, max_length=64)
    latitude: float | None = None
    longitude: float | None = None
