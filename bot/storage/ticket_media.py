"""Ticket media queries: the items a concern was sent with, kept and read back in order."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.media import MediaItem
from bot.storage.media_models import TicketMedia


async def add_media(session: AsyncSession, *, ticket_id: int, items: Sequence[MediaItem]) -> None:
    """Keep a ticket's media, in the order they were sent."""
    session.add_all(
        TicketMedia(
            ticket_id=ticket_id,
            position=n,
            kind=item.kind,
            file_id=item.file_id or None,
            file_unique_id=item.file_unique_id or None,
            latitude=item.latitude,
            longitude=item.longitude,
        )
        for n, item in enumerate(items)
    )
    await session.flush()


async def list_media(
    session: AsyncSession, *, ticket_ids: Sequence[int | None]
) -> list[TicketMedia]:
    """The media of these tickets, by ticket then in the order they were sent."""
    if not ticket_ids:
        return []
    query = (
        select(TicketMedia)
        .where(col(TicketMedia.ticket_id).in_([t for t in ticket_ids if t is not None]))
        .order_by(col(TicketMedia.ticket_id), col(TicketMedia.position))
    )
    return list((await session.exec(query)).all())


async def delete_media(session: AsyncSession, *, ticket_ids: Sequence[int | None]) -> None:
    """Remove the media of these tickets (their raiser's data was erased)."""
    ids = [t for t in ticket_ids if t is not None]
    if ids:
        await session.exec(delete(TicketMedia).where(col(TicketMedia.ticket_id).in_(ids)))


def as_item(row: TicketMedia) -> MediaItem:
    """A stored row as the item it was sent as."""
    return MediaItem(
        row.kind,
        file_id=row.file_id or "",
        file_unique_id=row.file_unique_id or "",
        latitude=row.latitude,
        longitude=row.longitude,
    )
