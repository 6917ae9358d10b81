"""Ticket queries: concerns raised, their steps, and the sealed routes to anonymous raisers.

Nothing here joins a route to a member: a route is only followed by unsealing it with the
anonymity key, in the relay.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.db import flushed
from bot.storage.models import Ticket, TicketEvent, TicketRoute


async def handle_taken(session: AsyncSession, *, handle: str) -> bool:
    """Whether a ticket already has this handle."""
    query = select(Ticket.id).where(col(Ticket.handle) == handle)
    return (await session.exec(query)).first() is not None


async def create_ticket(
    session: AsyncSession,
    *,
    handle: str,
    category: str,
    about: str,
    urgency: str,
    text: str,
    member_id: int | None,
    committee_id: int | None,
    now: datetime,
) -> Ticket:
    """Record a concern as a received ticket; `member_id` None makes it anonymous."""
    ticket = Ticket(
        handle=handle,
        category=category,
        about=about,
        urgency=urgency,
        text=text,
        anonymous=member_id is None,
        member_id=member_id,
        committee_id=committee_id,
        created_at=now,
        updated_at=now,
    )
    return await flushed(session, ticket)


async def create_route(
    session: AsyncSession, *, ticket_id: int, sealed: str, raiser_tag: str
) -> TicketRoute:
    """Keep the sealed way back to an anonymous raiser."""
    route = TicketRoute(ticket_id=ticket_id, sealed=sealed, raiser_tag=raiser_tag)
    return await flushed(session, route)


async def get_route(session: AsyncSession, *, ticket_id: int) -> TicketRoute | None:
    """The sealed route of an anonymous ticket."""
    return await session.get(TicketRoute, ticket_id)


async def get_ticket(session: AsyncSession, *, ticket_id: int) -> Ticket | None:
    """A ticket by id."""
    return await session.get(Ticket, ticket_id)


async def find_ticket(session: AsyncSession, *, handle: str) -> Ticket | None:
    """A ticket by handle."""
    return (await session.exec(select(Ticket).where(col(Ticket.handle) == handle))).first()


async def list_tickets(
    session: AsyncSession, *, statuses: Sequence[str] = (), limit: int = 50
) -> list[Ticket]:
    """Tickets, oldest first, optionally in some statuses."""
    query = select(Ticket).order_by(col(Ticket.id)).limit(limit)
    if statuses:
        query = query.where(col(Ticket.status).in_(list(statuses)))
    return list((await session.exec(query)).all())


async def list_raised(
    session: AsyncSession, *, member_id: int, raiser_tag: str, limit: int = 20
) -> list[Ticket]:
    """A raiser's own tickets, newest first: named ones by member, anonymous ones by tag."""
    named = select(Ticket).where(col(Ticket.member_id) == member_id)
    anonymous = (
        select(Ticket)
        .join(TicketRoute, col(TicketRoute.ticket_id) == col(Ticket.id))
        .where(col(TicketRoute.raiser_tag) == raiser_tag)
    )
    found = list((await session.exec(named)).all()) + list((await session.exec(anonymous)).all())
    return sorted(found, key=lambda t: t.id or 0, reverse=True)[:limit]


async def set_status(
    session: AsyncSession, *, ticket: Ticket, status: str, reason: str | None, now: datetime
) -> None:
    """Move a ticket to `status`; a final status closes it."""
    ticket.status = status
    ticket.status_reason = reason
    ticket.updated_at = now
    if status in ("done", "declined"):
        ticket.closed_at = now
    await flushed(session, ticket)


async def touch(session: AsyncSession, *, ticket: Ticket, now: datetime) -> None:
    """Note that something happened on a ticket."""
    ticket.updated_at = now
    await flushed(session, ticket)


async def add_event(
    session: AsyncSession,
    *,
    ticket_id: int,
    kind: str,
    now: datetime,
    status: str | None = None,
    text: str | None = None,
    actor_member_id: int | None = None,
    from_raiser: bool = False,
) -> TicketEvent:
    """Record a step of a ticket. The raiser's own replies never name an actor."""
    event = TicketEvent(
        ticket_id=ticket_id,
        kind=kind,
        status=status,
        text=text,
        actor_member_id=None if from_raiser else actor_member_id,
        from_raiser=from_raiser,
        created_at=now,
    )
    return await flushed(session, event)


async def list_events(session: AsyncSession, *, ticket_id: int) -> list[TicketEvent]:
    """A ticket's steps, oldest first."""
    query = (
        select(TicketEvent)
        .where(col(TicketEvent.ticket_id) == ticket_id)
        .order_by(col(TicketEvent.id))
    )
    return list((await session.exec(query)).all())


async def list_unanswered(
    session: AsyncSession, *, urgency: str, raised_by: datetime
) -> list[Ticket]:
    """Open tickets of this urgency, raised at `raised_by` or earlier, never escalated, that no
    coordinator answered or moved on yet (oldest first)."""
    acted = (
        select(TicketEvent.id)
        .where(col(TicketEvent.ticket_id) == col(Ticket.id))
        .where(
            (col(TicketEvent.kind) == "answer")
            | ((col(TicketEvent.kind) == "status") & (col(TicketEvent.status) != "received"))
        )
    )
    query = (
        select(Ticket)
        .where(
            col(Ticket.urgency) == urgency,
            col(Ticket.status) == "received",
            col(Ticket.escalated_at).is_(None),
            col(Ticket.created_at) <= raised_by,
            ~acted.exists(),
        )
        .order_by(col(Ticket.id))
    )
    return list((await session.exec(query)).all())


async def mark_escalated(session: AsyncSession, *, ticket: Ticket, now: datetime) -> bool:
    """Record that the ticket went to every coordinator; False when another pass did first."""
    result = await session.exec(
        update(Ticket)
        .where(col(Ticket.id) == ticket.id, col(Ticket.escalated_at).is_(None))
        .values(escalated_at=now)
    )
    ticket.escalated_at = now
    return bool(result.rowcount)
