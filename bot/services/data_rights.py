"""A member's rights over their data: a copy of all of it (/mydata), and erasure (/forget).

Erasure asks for a confirmation first (the guided `bot.domain.guides.forget`), kept as a draft
that lapses after its `CONFIRM_WITHIN`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlmodel import SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.services.ballots import Ballots
from bot.services.sealing import RAISER, Sealer
from bot.storage import audit, keys, repo
from bot.storage import ballots as sealed_store
from bot.storage.commitment_models import Commitment
from bot.storage.data_rights import MemberRecords, collect_member_records, erase_member
from bot.storage.decision_models import Decision
from bot.storage.models import Member, Ticket

# Each column that holds a member (or a keyed tag of one), and the section of /mydata that
# carries its rows. A column left out is listed, with its reason, in the allow-list of
# tests/e2e/test_data_rights.py::test_every_column_that_holds_a_member_is_in_mydata_or_allowed.
EXPORTED_COLUMNS = {
    "member.id": "profile",
    "flowrun.member_id": "runs",
    "answer.member_id": "answers",
    "checkin.member_id": "checkins",
    "draft.member_id": "drafts",
    "committeemember.member_id": "committees",
    "caucus_seat.member_id": "caucus_rounds",
    "decision_voter.member_id": "decisions",
    "ticket.member_id": "concerns",
    "ticketroute.raiser_tag": "anonymous_concerns",
    "ticketevent.actor_member_id": "your_steps_on_concerns",
    "outboxmessage.member_id": "messages_to_you",
    "champion.member_id": "key_person_seats",
    "champion.proposed_member_id": "key_person_proposals",
    "commitment.owner_member_id": "commitments",
    "commitment.created_by": "commitments",
    "commitmentprompt.member_id": "commitment_requests",
    "commitmentupdate.member_id": "commitment_checkins",
    "variation.proposed_by": "variations_proposed",
    "variationresponse.member_id": "variation_responses",
    "objective.member_id": "objectives_stated",
    "objectiverating.member_id": "objective_ratings",
    "auditentry.actor_member_id": "your_recorded_actions",
}


def _dump(row: SQLModel, *, exclude: Iterable[str] = ()) -> dict[str, Any]:
    data: dict[str, Any] = row.model_dump(mode="json", exclude=set(exclude))
    return data


def _ticket(ticket: Ticket, records: MemberRecords, *, anonymous: bool) -> dict[str, Any]:
    data = _dump(ticket, exclude={"member_id"})
    data["events"] = [
        _dump(e, exclude={"ticket_id", "actor_member_id"})
        for e in records.ticket_events
        if e.ticket_id == ticket.id
    ]
    data["media"] = [
        _dump(m, exclude={"id", "ticket_id"})
        for m in records.ticket_media
        if m.ticket_id == ticket.id
    ]
    if anonymous:
        data["anonymous"] = True
    return data


def member_document(records: MemberRecords, *, now: datetime) -> dict[str, Any]:
    """Everything stored about a member, as one JSON-ready document."""
    return {
        "generated_at": now.isoformat(),
        "profile": _dump(records.member),
        # An open run's anonymous answers are sealed in its memory: they are nobody's, not
        # even in the member's own copy.
        "runs": [
            _dump(r, exclude={"member_id"}) | {"answers": Ballots.named(r.answers)}
            for r in records.runs
        ],
        "answers": [
            _dump(a, exclude={"member_id", "recorded_by", "proxy"}) for a in records.answers
        ],
        "checkins": [_dump(c, exclude={"member_id"}) for c in records.checkins],
        "drafts": [_dump(d, exclude={"member_id"}) for d in records.drafts],
        "committees": [
            {"committee": c.name, "is_chair": seat.is_chair, "added_at": seat.added_at.isoformat()}
            for seat, c in records.committees
        ],
        # The rounds they were invited to; what they said there is in no one's name.
        "caucus_rounds": [
            {"round": r.id, "group": r.stakeholder_group, "topic": r.topic}
            | {"answered": seat.answered, "reacted": seat.reacted}
            for seat, r in records.caucus
        ],
        # Proposals put to them; their vote only when it was named (an anonymous one is
        # nobody's, not even in their own copy).
        "decisions": [
            {"decision": d.id, "question": d.question, "anonymous": d.anonymous}
            | {"voted": v.voted, "option": None if d.anonymous else _option(d, v.option)}
            for v, d in records.decisions
        ],
        "concerns": [_ticket(t, records, anonymous=False) for t in records.tickets],
        "anonymous_concerns": [
            _ticket(t, records, anonymous=True) for t in records.anonymous_tickets
        ],
        "messages_to_you": [
            _dump(
                m,
                exclude={
                    "member_id",
                    "reply_markup",
                    "dedupe_key",
                    "lease_until",
                    "lease_owner",
                    "last_error",
                },
            )
            for m in records.outbox
        ],
        "key_person_seats": [
            {"organisation": s.organisation, "role": s.role, "since": s.appointed_at.isoformat()}
            for s in records.champion_seats
        ],
        # Proposals naming them as a key person, without who proposed them.
        "key_person_proposals": [
            {"organisation": s.organisation, "role": s.role} for s in records.champion_proposals
        ],
        "your_steps_on_concerns": [
            {"concern": handle, "kind": e.kind, "text": e.text, "at": e.created_at.isoformat()}
            for e, handle in records.steps_taken
        ],
        **_commitments(records),
        "objectives_stated": [
            _dump(o, exclude={"member_id", "id"}) | {"objective": o.id} for o in records.objectives
        ],
        "objective_ratings": [
            {"objective": o.id, "statement": o.statement, "rating": r.rating}
            | {"at": r.created_at.isoformat()}
            for r, o in records.objective_ratings
        ],
        "your_recorded_actions": [_dump(e, exclude={"actor_member_id"}) for e in records.audit],
    }


def _about(commitment: Commitment) -> dict[str, Any]:
    """A commitment by its number and what, never by the people around it."""
    return {"commitment": commitment.id, "what": commitment.what}


def _commitments(records: MemberRecords) -> dict[str, list[dict[str, Any]]]:
    """The member's part in the commitments register: what they own or recorded, what they were
    asked, their check-ins, proposals and responses (never another member's identity)."""
    return {
        "commitments": [
            _about(c)
            | {"due_on": c.due_on.isoformat(), "status": c.status}
            | {"you_own": c.owner_member_id == records.member.id}
            | {"you_recorded": c.created_by == records.member.id}
            for c in records.commitments
        ],
        # That they were asked (to check in, or to rate): a rating itself is nobody's.
        "commitment_requests": [
            _about(c)
            | {"purpose": p.purpose, "due_on": p.due_on.isoformat()}
            | {"asked_at": p.asked_at.isoformat()}
            for p, c in records.commitment_prompts
        ],  # fmt: skip
        "commitment_checkins": [
            _about(c)
            | {"stage": u.stage, "status": u.status, "note": u.note}
            | {"at": u.created_at.isoformat()}
            for u, c in records.commitment_updates
        ],  # fmt: skip
        "variations_proposed": [
            {"variation": v.id}
            | _about(c)
            | {"kind": v.kind, "text": v.text, "status": v.status}
            | {"new_due_on": v.new_due_on.isoformat() if v.new_due_on else None}
            | {"at": v.created_at.isoformat()}
            for v, c in records.variations
        ],
        "variation_responses": [
            {"variation": v.id} | _about(c) | {"choice": r.choice, "at": r.created_at.isoformat()}
            for r, v, c in records.variation_responses
        ],
    }


async def export_member_data(
    session: AsyncSession, *, member: Member, sealer: Sealer, now: datetime
) -> bytes:
    """The member's data as an indented UTF-8 JSON file."""
    assert member.id is not None
    records = await collect_member_records(
        session, member=member, raiser_tag=sealer.tag(RAISER, member.id)
    )
    document = member_document(records, now=now)
    return json.dumps(document, ensure_ascii=False, indent=2).encode("utf-8")


async def _erase(session: AsyncSession, *, member: Member, sealer: Sealer) -> None:
    """Erase the member, the anonymous concerns they sealed that are not filed yet included
    (each holds their words and, sealed, the way back to them)."""
    assert member.id is not None
    waiting = await sealed_store.list_ballots(session, flow_id=sealed_store.SEALED_CONCERNS)
    for ballot in waiting:
        try:
            raiser = sealer.unseal_json(ballot.sealed).get("raiser")
        except ValueError:
            continue
        if raiser == member.id:
            await sealed_store.take_ballot(session, ballot_id=ballot.id)
    await erase_member(session, member=member, raiser_tag=sealer.tag(RAISER, member.id))


async def forget(session: AsyncSession, *, member: Member, sealer: Sealer, now: datetime) -> None:
    """Erase the member; the audit log notes that a member was forgotten, not who, and the
    erasure log keeps a keyed hash of them, so that restoring an older backup erases them again."""
    assert member.id is not None
    await _erase(session, member=member, sealer=sealer)
    await keys.log_erasure(session, member_tag=sealer.erasure_tag(member.id), now=now)
    await audit.record(
        session,
        actor=None,
        actor_label=audit.FORMER_MEMBER_LABEL,
        action="member.forgotten",
        now=now,
    )


async def forget_again(
    session: AsyncSession, *, sealer: Sealer, erased: Counter[str], now: datetime
) -> int:
    """After a restore: erase again every member of the erasure log entries `erased` (those
    recorded since the backup), and add the entries to this log; returns how many."""
    pending = Counter(erased)
    applied = 0
    for member_id in await keys.member_ids(session):
        tag = sealer.erasure_tag(member_id)
        member = await repo.get_member(session, member_id=member_id)
        if pending[tag] <= 0 or member is None:
            continue
        await _erase(session, member=member, sealer=sealer)
        await audit.record(
            session,
            actor=None,
            actor_label=audit.FORMER_MEMBER_LABEL,
            action="member.forgotten",
            detail={"again": "after a restore"},
            now=now,
        )
        pending[tag] -= 1
        applied += 1
    await keys.add_erasures(session, erased.elements(), now=now)
    return applied


def _option(decision: Decision, option: int | None) -> str | None:
    """A named vote's option as stored (a default option's key, or the option's text)."""
    return None if option is None else decision.options[option]
