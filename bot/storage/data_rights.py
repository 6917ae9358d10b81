"""What is stored about one member (for /mydata), and erasing it all (for /forget)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage import commitments, ticket_media
from bot.storage.audit import FORMER_MEMBER_LABEL
from bot.storage.caucus import invited_rounds
from bot.storage.caucus_models import CaucusRound, CaucusSeat
from bot.storage.champion_models import Champion
from bot.storage.commitment_models import (
    Commitment,
    CommitmentPrompt,
    CommitmentUpdate,
    Variation,
    VariationResponse,
)
from bot.storage.decision_models import Decision, DecisionVoter
from bot.storage.decisions import named_votes
from bot.storage.media_models import TicketMedia
from bot.storage.models import (
    Answer,
    AuditEntry,
    Broadcast,
    CheckIn,
    Committee,
    CommitteeMember,
    Draft,
    FlowRun,
    Member,
    OutboxMessage,
    Schedule,
    Ticket,
    TicketEvent,
    TicketRoute,
)
from bot.storage.objective_models import Objective, ObjectiveRating

# What stands in a coordinator's message where an erased member's words were.
ERASED_WORDS = "—"


@dataclass(frozen=True)
class MemberRecords:
    """Every row that concerns one member, as stored."""

    member: Member
    runs: Sequence[FlowRun]
    answers: Sequence[Answer]
    checkins: Sequence[CheckIn]
    drafts: Sequence[Draft]
    committees: Sequence[tuple[CommitteeMember, Committee]]
    tickets: Sequence[Ticket]
    anonymous_tickets: Sequence[Ticket]
    ticket_events: Sequence[TicketEvent]
    outbox: Sequence[OutboxMessage]
    audit: Sequence[AuditEntry]
    caucus: Sequence[tuple[CaucusSeat, CaucusRound]] = ()  # the rounds they were invited to
    # Seats in the champions register (an organisation's lead or deputy), and proposals of them.
    champion_seats: Sequence[Champion] = ()
    champion_proposals: Sequence[Champion] = ()
    # Steps they took as a coordinator on concerns, with each concern's handle.
    steps_taken: Sequence[tuple[TicketEvent, str]] = ()
    commitments: Sequence[Commitment] = ()  # those they own or recorded
    commitment_prompts: Sequence[tuple[CommitmentPrompt, Commitment]] = ()
    commitment_updates: Sequence[tuple[CommitmentUpdate, Commitment]] = ()
    variations: Sequence[tuple[Variation, Commitment]] = ()  # those they proposed
    variation_responses: Sequence[tuple[VariationResponse, Variation, Commitment]] = ()
    objectives: Sequence[Objective] = ()  # those they stated for their organisation
    objective_ratings: Sequence[tuple[ObjectiveRating, Objective]] = ()
    # Proposals put to them, with their vote when it was named.
    decisions: Sequence[tuple[DecisionVoter, Decision]] = ()
    ticket_media: Sequence[TicketMedia] = ()  # sent with their tickets, named and anonymous


async def _all(session: AsyncSession, query: Any) -> Sequence[Any]:
    return list((await session.exec(query)).all())


async def collect_member_records(
    session: AsyncSession, *, member: Member, raiser_tag: str
) -> MemberRecords:
    """Everything stored about `member`; their anonymous tickets are found by `raiser_tag`."""
    member_id = member.id
    named = await _all(
        session, select(Ticket).where(Ticket.member_id == member_id).order_by(col(Ticket.id))
    )
    anonymous = await _all(
        session,
        select(Ticket)
        .join(TicketRoute, col(TicketRoute.ticket_id) == col(Ticket.id))
        .where(TicketRoute.raiser_tag == raiser_tag)
        .order_by(col(Ticket.id)),
    )
    ticket_ids = [t.id for t in (*named, *anonymous)]
    events = await _all(
        session,
        select(TicketEvent)
        .where(col(TicketEvent.ticket_id).in_(ticket_ids))
        .order_by(col(TicketEvent.id)),
    )
    return MemberRecords(
        member=member,
        runs=await _all(
            session, select(FlowRun).where(FlowRun.member_id == member_id).order_by(col(FlowRun.id))
        ),
        answers=await _all(
            session, select(Answer).where(Answer.member_id == member_id).order_by(col(Answer.id))
        ),
        checkins=await _all(
            session, select(CheckIn).where(CheckIn.member_id == member_id).order_by(col(CheckIn.id))
        ),
        drafts=await _all(session, select(Draft).where(Draft.member_id == member_id)),
        committees=await _all(
            session,
            select(CommitteeMember, Committee)
            .join(Committee, col(Committee.id) == col(CommitteeMember.committee_id))
            .where(CommitteeMember.member_id == member_id)
            .order_by(col(Committee.name)),
        ),
        caucus=await invited_rounds(session, member_id=member_id or 0),
        decisions=await named_votes(session, member_id=member_id or 0),
        tickets=named,
        anonymous_tickets=anonymous,
        ticket_events=events,
        ticket_media=await ticket_media.list_media(session, ticket_ids=ticket_ids),
        outbox=await _all(
            session,
            select(OutboxMessage)
            .where(
                or_(
                    col(OutboxMessage.member_id) == member_id,
                    col(OutboxMessage.chat_id) == member.chat_id,
                )
            )
            .order_by(col(OutboxMessage.id)),
        ),
        audit=await _all(
            session,
            select(AuditEntry)
            .where(AuditEntry.actor_member_id == member_id)
            .order_by(col(AuditEntry.id)),
        ),
        champion_seats=await _all(session, select(Champion).where(Champion.member_id == member_id)),
        champion_proposals=await _all(
            session, select(Champion).where(Champion.proposed_member_id == member_id)
        ),
        steps_taken=await _all(
            session,
            select(TicketEvent, Ticket.handle)
            .join(Ticket, col(Ticket.id) == col(TicketEvent.ticket_id))
            .where(TicketEvent.actor_member_id == member_id)
            .order_by(col(TicketEvent.id)),
        ),
        **await _commitment_records(session, member_id=member_id or 0),
        objectives=await _all(
            session,
            select(Objective).where(Objective.member_id == member_id).order_by(col(Objective.id)),
        ),
        objective_ratings=await _all(
            session,
            select(ObjectiveRating, Objective)
            .join(Objective, col(Objective.id) == col(ObjectiveRating.objective_id))
            .where(ObjectiveRating.member_id == member_id)
            .order_by(col(ObjectiveRating.id)),
        ),
    )


async def _commitment_records(session: AsyncSession, *, member_id: int) -> dict[str, Any]:
    """The member's part in the commitments register, each row with its commitment."""
    on = col(Commitment.id)
    return {
        "commitments": await _all(
            session,
            select(Commitment)
            .where(
                or_(
                    col(Commitment.owner_member_id) == member_id,
                    col(Commitment.created_by) == member_id,
                )
            )
            .order_by(on),
        ),
        "commitment_prompts": await _all(
            session,
            select(CommitmentPrompt, Commitment)
            .join(Commitment, on == col(CommitmentPrompt.commitment_id))
            .where(CommitmentPrompt.member_id == member_id)
            .order_by(col(CommitmentPrompt.asked_at)),
        ),
        "commitment_updates": await _all(
            session,
            select(CommitmentUpdate, Commitment)
            .join(Commitment, on == col(CommitmentUpdate.commitment_id))
            .where(CommitmentUpdate.member_id == member_id)
            .order_by(col(CommitmentUpdate.id)),
        ),
        "variations": await _all(
            session,
            select(Variation, Commitment)
            .join(Commitment, on == col(Variation.commitment_id))
            .where(Variation.proposed_by == member_id)
            .order_by(col(Variation.id)),
        ),
        "variation_responses": await _all(
            session,
            select(VariationResponse, Variation, Commitment)
            .join(Variation, col(Variation.id) == col(VariationResponse.variation_id))
            .join(Commitment, on == col(Variation.commitment_id))
            .where(VariationResponse.member_id == member_id)
            .order_by(col(VariationResponse.variation_id)),
        ),
    }


async def erase_member(session: AsyncSession, *, member: Member, raiser_tag: str) -> None:
    """Erase the member and every trace of them; what others need stays, without them.

    Named answers, runs, check-ins, drafts, committee seats and messages to their chat are
    deleted. Their named tickets stay for the partnership's record without their text or their
    name; the routes to their anonymous tickets go, so nothing leads back. Rows where they acted
    for others (broadcasts, schedules, audit entries, answers recorded for someone else) lose
    the link to them.
    """
    member_id = member.id
    assert member_id is not None
    run_ids = select(FlowRun.id).where(FlowRun.member_id == member_id)
    # Answers recorded for people without a phone are theirs, not the facilitator's: kept,
    # cut from the facilitator's run and name.
    await session.exec(
        update(Answer)
        .where(col(Answer.run_id).in_(run_ids), col(Answer.member_id).is_(None))
        .values(run_id=None)
    )
    await session.exec(
        update(Answer).where(col(Answer.recorded_by) == member_id).values(recorded_by=None)
    )
    await session.exec(delete(Answer).where(col(Answer.member_id) == member_id))
    await session.exec(delete(CheckIn).where(col(CheckIn.member_id) == member_id))
    await session.exec(delete(FlowRun).where(col(FlowRun.member_id) == member_id))
    await session.exec(delete(Draft).where(col(Draft.member_id) == member_id))
    await session.exec(delete(CommitteeMember).where(col(CommitteeMember.member_id) == member_id))
    await session.exec(delete(CaucusSeat).where(col(CaucusSeat.member_id) == member_id))
    await session.exec(
        update(CaucusRound).where(col(CaucusRound.opened_by) == member_id).values(opened_by=None)
    )
    await session.exec(
        delete(OutboxMessage).where(
            or_(
                col(OutboxMessage.member_id) == member_id,
                col(OutboxMessage.chat_id) == member.chat_id,
            )
        )
    )
    await _scrub_outbox_mentions(session, member)
    await _scrub_ticket_messages(session, member_id)
    await commitments.forget_member(session, member_id=member_id, erased=ERASED_WORDS)

    named = select(Ticket.id).where(Ticket.member_id == member_id)
    # A voice note is its speaker, a photo may show them: their media go with them, from
    # their anonymous tickets too (found by the tag, before the routes go).
    raised = select(TicketRoute.ticket_id).where(col(TicketRoute.raiser_tag) == raiser_tag)
    await session.exec(
        delete(TicketMedia).where(
            or_(col(TicketMedia.ticket_id).in_(named), col(TicketMedia.ticket_id).in_(raised))
        )
    )
    await session.exec(
        update(TicketEvent)
        .where(col(TicketEvent.ticket_id).in_(named), col(TicketEvent.from_raiser))
        .values(text=None)
    )
    await session.exec(
        update(Ticket).where(col(Ticket.member_id) == member_id).values(member_id=None, text="")
    )
    await session.exec(delete(TicketRoute).where(col(TicketRoute.raiser_tag) == raiser_tag))
    await session.exec(
        update(TicketEvent)
        .where(col(TicketEvent.actor_member_id) == member_id)
        .values(actor_member_id=None)
    )

    await session.exec(
        update(Broadcast).where(col(Broadcast.created_by) == member_id).values(created_by=None)
    )
    await session.exec(
        update(Broadcast)
        .where(col(Broadcast.progress_chat_id) == member.chat_id)
        .values(progress_chat_id=None, progress_message_id=None)
    )
    await session.exec(
        update(Schedule).where(col(Schedule.created_by) == member_id).values(created_by=None)
    )
    await session.exec(
        update(Committee).where(col(Committee.created_by) == member_id).values(created_by=None)
    )
    await _scrub_audit(session, member)
    await session.delete(member)
    await session.flush()


def _forms(text: str) -> list[str]:
    """A text as stored in a message: as typed, and HTML-escaped (with and without quotes)."""
    return list(dict.fromkeys((text, html.escape(text), html.escape(text, quote=False))))


async def _scrub_outbox_mentions(session: AsyncSession, member: Member) -> None:
    """Messages to others that name the member (e.g. a coordinator's notice) lose the name."""
    name = member.display_name.strip()
    if len(name) < 3:
        return
    forms = _forms(name)
    rows = await _all(
        session,
        select(OutboxMessage).where(or_(*(col(OutboxMessage.text).contains(f) for f in forms))),
    )
    for row in rows:
        for form in forms:
            row.text = row.text.replace(form, FORMER_MEMBER_LABEL)
        session.add(row)


async def _scrub_ticket_messages(session: AsyncSession, member_id: int) -> None:
    """Messages about the member's named concerns (to coordinators) lose the member's words:
    the concern's text and their replies, however short, as typed and as escaped."""
    tickets = await _all(session, select(Ticket).where(Ticket.member_id == member_id))
    if not tickets:
        return
    replies = await _all(
        session,
        select(TicketEvent.text).where(
            col(TicketEvent.ticket_id).in_([t.id for t in tickets]),
            col(TicketEvent.from_raiser),
            col(TicketEvent.text).is_not(None),
        ),
    )
    words = sorted({t.text for t in tickets} | set(replies), key=len, reverse=True)
    forms = [form for word in words if word.strip() for form in _forms(word)]
    # Only messages that name one of these tickets: a short reply ("yes") is blanked there,
    # never in unrelated messages.
    rows = await _all(
        session,
        select(OutboxMessage).where(
            or_(*(col(OutboxMessage.text).contains(t.handle) for t in tickets))
        ),
    )
    for row in rows:
        for form in forms:
            row.text = row.text.replace(form, ERASED_WORDS)
        session.add(row)


def _mentions(value: Any, needles: set[str]) -> bool:
    if isinstance(value, dict):
        return any(_mentions(v, needles) for v in value.values())
    if isinstance(value, list):
        return any(_mentions(v, needles) for v in value)
    text = str(value)
    return any(needle in text for needle in needles)


async def _scrub_audit(session: AsyncSession, member: Member) -> None:
    """Entries by or about the member keep only a neutral label."""
    needles = {str(member.telegram_user_id), str(member.chat_id)}
    if len(member.display_name.strip()) >= 3:
        needles.add(member.display_name.strip())
    entries = await _all(session, select(AuditEntry))
    for entry in entries:
        changed = False
        if entry.actor_member_id == member.id or _mentions(entry.actor_label, needles):
            entry.actor_member_id = None
            entry.actor_label = FORMER_MEMBER_LABEL
            changed = True
        detail = dict(entry.detail or {})
        for key, value in list(detail.items()):
            about_member = key.endswith("member_id") and value == member.id
            if about_member or _mentions(value, needles):
                detail[key] = FORMER_MEMBER_LABEL
                changed = True
        if changed:
            entry.detail = detail
            session.add(entry)
