"""Champions queries: the register of key people and what each of them did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.champions import LEAD, Activity, first_response_hours
from bot.domain.champions import org_key as folded
from bot.domain.concerns import OPEN
from bot.storage.champion_models import Champion
from bot.storage.models import (
    Answer,
    CheckIn,
    CheckInStatus,
    Committee,
    CommitteeMember,
    FlowRun,
    Member,
    Ticket,
    TicketEvent,
)

# A ticket step that only passes the ticket on (a handover): not a response to it.
HANDOVER_EVENT = "handover"
MATCHES = 8


async def list_seats(session: AsyncSession) -> list[Champion]:
    """Every seat of the register, by organisation, leads first."""
    query = select(Champion).order_by(
        col(Champion.org_key), col(Champion.role) != LEAD, col(Champion.id)
    )
    return list((await session.exec(query)).all())


async def get_seat(session: AsyncSession, *, seat_id: int) -> Champion | None:
    """A seat by id."""
    return await session.get(Champion, seat_id)


async def find_seat(session: AsyncSession, *, org_key: str, role: str) -> Champion | None:
    """The organisation's seat of this role, if it has one."""
    query = select(Champion).where(col(Champion.org_key) == org_key, col(Champion.role) == role)
    return (await session.exec(query)).first()


async def seats_held(session: AsyncSession, *, member_id: int) -> list[Champion]:
    """The seats a member holds."""
    query = select(Champion).where(col(Champion.member_id) == member_id).order_by(col(Champion.id))
    return list((await session.exec(query)).all())


async def save_seat(session: AsyncSession, seat: Champion) -> Champion:
    """Store a new or changed seat."""
    session.add(seat)
    await session.flush()
    return seat


async def delete_seat(session: AsyncSession, *, seat_id: int) -> None:
    """Take a seat out of the register."""
    await session.exec(delete(Champion).where(col(Champion.id) == seat_id))


async def find_members(
    session: AsyncSession, *, text: str, org_key: str | None = None, exact: bool = False
) -> list[Member]:
    """Members by Telegram id or name (a part of it, or all of it with `exact`), within one
    organisation when given (compared as `champions.org_key` folds it); at most `MATCHES`."""
    query = select(Member).order_by(col(Member.display_name), col(Member.id))
    text = " ".join(text.split())
    if text.lstrip("-").isdigit():
        query = query.where(col(Member.telegram_user_id) == int(text))
    elif exact:
        query = query.where(func.lower(col(Member.display_name)) == text.lower())
    else:
        query = query.where(func.lower(col(Member.display_name)).contains(text.lower()))
    if org_key is None:
        return list((await session.exec(query.limit(MATCHES))).all())
    found = (await session.exec(query.where(col(Member.organisation).is_not(None)))).all()
    return [m for m in found if folded(m.organisation or "") == org_key][:MATCHES]


async def committee_seats(session: AsyncSession, *, member_id: int) -> list[tuple[Committee, bool]]:
    """The active committees a member sits on, with whether they chair each."""
    query = (
        select(Committee, CommitteeMember.is_chair)
        .join(CommitteeMember, col(CommitteeMember.committee_id) == col(Committee.id))
        .where(col(CommitteeMember.member_id) == member_id, col(Committee.archived_at).is_(None))
        .order_by(col(Committee.id))
    )
    return [(c, bool(chair)) for c, chair in (await session.exec(query)).all()]


async def tickets_handled(session: AsyncSession, *, member_id: int) -> list[Ticket]:
    """Tickets the member took a step on as a coordinator (a handover included), oldest first."""
    handled = select(TicketEvent.ticket_id).where(
        col(TicketEvent.actor_member_id) == member_id, col(TicketEvent.from_raiser).is_(False)
    )
    query = select(Ticket).where(col(Ticket.id).in_(handled)).order_by(col(Ticket.id))
    return list((await session.exec(query)).all())


def is_open(ticket: Ticket) -> bool:
    return ticket.status in OPEN


async def _first_steps(session: AsyncSession, member_id: int) -> list[tuple[datetime, datetime]]:
    query = (
        select(Ticket.created_at, func.min(TicketEvent.created_at))
        .join(TicketEvent, col(TicketEvent.ticket_id) == col(Ticket.id))
        .where(
            col(TicketEvent.actor_member_id) == member_id,
            col(TicketEvent.from_raiser).is_(False),
            col(TicketEvent.kind) != HANDOVER_EVENT,
        )
        .group_by(col(Ticket.id), col(Ticket.created_at))
    )
    return [(raised, first) for raised, first in (await session.exec(query)).all()]


async def _latest(
    session: AsyncSession, column: Any, *where: ColumnElement[bool]
) -> datetime | None:
    value = (await session.exec(select(func.max(column)).where(*where))).first()
    return value if isinstance(value, datetime) else None


async def activity(session: AsyncSession, *, member_id: int) -> Activity:
    """What the member did: named answers, check-ins, tickets and seats."""
    last_answer = await _latest(session, col(Answer.created_at), col(Answer.member_id) == member_id)
    rows = (
        await session.exec(
            select(CheckIn.status, func.count())
            .where(col(CheckIn.member_id) == member_id, col(CheckIn.sent_at).is_not(None))
            .group_by(col(CheckIn.status))
        )
    ).all()
    sent = sum(n for _, n in rows)
    answered = sum(n for status, n in rows if status == CheckInStatus.DONE)
    tickets = await tickets_handled(session, member_id=member_id)
    seats = await committee_seats(session, member_id=member_id)
    moments = [
        last_answer,
        # A conversation finished (an anonymous one's answers are not theirs: only the moment).
        await _latest(session, col(FlowRun.finished_at), col(FlowRun.member_id) == member_id),
        await _latest(
            session,
            col(CheckIn.finished_at),
            col(CheckIn.member_id) == member_id,
            col(CheckIn.status) == CheckInStatus.DONE,
        ),
        await _latest(
            session,
            col(TicketEvent.created_at),
            col(TicketEvent.actor_member_id) == member_id,
            col(TicketEvent.kind) != HANDOVER_EVENT,
        ),
    ]
    known = [m for m in moments if m is not None]
    return Activity(
        last_answer=last_answer,
        checkins_sent=sent,
        checkins_answered=answered,
        tickets_handled=len(tickets),
        median_hours=first_response_hours(await _first_steps(session, member_id)),
        open_tickets=sum(1 for t in tickets if is_open(t)),
        seats=tuple(c.name for c, _ in seats),
        last_active=max(known) if known else None,
    )


async def areas_led(
    session: AsyncSession, *, org_key: str, flow_id: str, question: str
) -> list[str]:
    """The areas members of the organisation said (named answers) they lead, most named first."""
    candidates = (
        await session.exec(
            select(Member.id, Member.organisation).where(col(Member.organisation).is_not(None))
        )
    ).all()
    in_org = [i for i, organisation in candidates if folded(organisation or "") == org_key]
    query = (
        select(Answer.value_choice, func.count())
        .where(
            col(Answer.member_id).in_(in_org),
            col(Answer.flow_id) == flow_id,
            col(Answer.question_key) == question,
            col(Answer.value_choice).is_not(None),
            col(Answer.anonymous).is_(False),
        )
        .group_by(col(Answer.value_choice))
        .order_by(func.count().desc(), col(Answer.value_choice))
    )
    return [str(v) for v, _ in (await session.exec(query)).all()]
