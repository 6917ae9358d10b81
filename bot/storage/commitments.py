"""The commitments register in the database: commitments, check-in answers, who was asked,
the anonymous tallies, and variations with their responses."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import delete, func, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.commitments import OPEN, CommitmentSpec
from bot.storage.commitment_models import (
    Commitment,
    CommitmentPrompt,
    CommitmentTally,
    CommitmentUpdate,
    Variation,
    VariationResponse,
)
from bot.storage.models import Member, MemberStatus, OutboxMessage


async def add_commitment(
    session: AsyncSession,
    *,
    spec: CommitmentSpec,
    owner_member_id: int | None,
    created_by: int | None,
    now: datetime,
) -> Commitment:
    """Record one commitment."""
    row = Commitment(
        owner_org=spec.owner_org,
        owner_member_id=owner_member_id,
        what=spec.what,
        due_on=spec.due_on,
        beneficiary=spec.beneficiary,
        source=spec.source,
        created_by=created_by,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get_commitment(session: AsyncSession, *, commitment_id: int) -> Commitment | None:
    return await session.get(Commitment, commitment_id)


async def list_commitments(
    session: AsyncSession, *, organisation: str | None = None, open_only: bool = False
) -> list[Commitment]:
    """Commitments by owner organisation then due date; one organisation's, or the open ones."""
    query = select(Commitment).order_by(
        func.lower(col(Commitment.owner_org)), col(Commitment.due_on), col(Commitment.id)
    )
    if organisation is not None:
        query = query.where(func.lower(col(Commitment.owner_org)) == organisation.casefold())
    if open_only:
        query = query.where(col(Commitment.status) != "done")
    return list((await session.exec(query)).all())


async def list_organisations(session: AsyncSession) -> list[str]:
    """The organisations active members named, each once (as first written), sorted."""
    query = (
        select(Member.organisation)
        .where(col(Member.status) == MemberStatus.ACTIVE)
        .where(col(Member.organisation).is_not(None))
    )
    found: dict[str, str] = {}
    for name in (await session.exec(query)).all():
        if name and name.strip():
            found.setdefault(name.strip().casefold(), name.strip())
    return sorted(found.values(), key=str.casefold)


async def members_of(
    session: AsyncSession, *, organisations: Sequence[str], active_only: bool = True
) -> list[Member]:
    """Members of any of these organisations (compared without case), by id."""
    names = [o.strip().casefold() for o in organisations if o.strip()]
    if not names:
        return []
    query = (
        select(Member)
        .where(func.lower(func.trim(col(Member.organisation))).in_(names))
        .order_by(col(Member.id))
    )
    if active_only:
        query = query.where(col(Member.status) == MemberStatus.ACTIVE)
    return list((await session.exec(query)).all())


async def record_update(
    session: AsyncSession,
    *,
    commitment: Commitment,
    member_id: int | None,
    stage: str,
    status: str,
    note: str | None,
    now: datetime,
) -> CommitmentUpdate:
    """The owner's check-in answer; the commitment now stands there."""
    assert commitment.id is not None
    row = CommitmentUpdate(
        commitment_id=commitment.id,
        member_id=member_id,
        stage=stage,
        status=status,
        note=note,
        created_at=now,
    )
    commitment.status, commitment.updated_at = status, now
    session.add_all([row, commitment])
    await session.flush()
    return row


async def list_updates(session: AsyncSession, *, commitment_id: int) -> list[CommitmentUpdate]:
    query = (
        select(CommitmentUpdate)
        .where(col(CommitmentUpdate.commitment_id) == commitment_id)
        .order_by(col(CommitmentUpdate.id))
    )
    return list((await session.exec(query)).all())


async def mark_prompted(
    session: AsyncSession,
    *,
    commitment_id: int,
    member_id: int,
    purpose: str,
    due_on: date,
    now: datetime,
) -> bool:
    """Note that a member was asked; False when they already were (for this due date)."""
    row = CommitmentPrompt(
        commitment_id=commitment_id,
        member_id=member_id,
        purpose=purpose,
        due_on=due_on,
        asked_at=now,
    )
    if await session.get(CommitmentPrompt, (commitment_id, member_id, purpose, due_on)):
        return False
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return False
    return True


async def add_rating(
    session: AsyncSession, *, commitment_id: int, delivery: int, spirit: int
) -> None:
    """Add one anonymous rating to the commitment's running sums (no row per rating)."""
    if await session.get(CommitmentTally, commitment_id) is None:
        try:
            async with session.begin_nested():
                session.add(CommitmentTally(commitment_id=commitment_id))
        except IntegrityError:
            pass
    await session.exec(
        update(CommitmentTally)
        .where(col(CommitmentTally.commitment_id) == commitment_id)
        .values(
            raters=col(CommitmentTally.raters) + 1,
            delivery_sum=col(CommitmentTally.delivery_sum) + delivery,
            spirit_sum=col(CommitmentTally.spirit_sum) + spirit,
        )
    )


async def list_tallies(session: AsyncSession) -> dict[int, CommitmentTally]:
    """Every commitment's tally, by commitment id (fresh from the database)."""
    query = select(CommitmentTally).execution_options(populate_existing=True)
    return {t.commitment_id: t for t in (await session.exec(query)).all()}


async def add_variation(
    session: AsyncSession,
    *,
    commitment_id: int,
    proposed_by: int | None,
    kind: str,
    text: str,
    new_due_on: date | None,
    now: datetime,
) -> Variation:
    row = Variation(
        commitment_id=commitment_id,
        proposed_by=proposed_by,
        kind=kind,
        text=text,
        new_due_on=new_due_on,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return row


async def get_variation(session: AsyncSession, *, variation_id: int) -> Variation | None:
    return await session.get(Variation, variation_id)


async def list_variations(
    session: AsyncSession, *, commitment_ids: Sequence[int] | None = None, open_only: bool = False
) -> list[Variation]:
    query = select(Variation).order_by(col(Variation.id))
    if commitment_ids is not None:
        query = query.where(col(Variation.commitment_id).in_(list(commitment_ids)))
    if open_only:
        query = query.where(col(Variation.status) == OPEN)
    return list((await session.exec(query)).all())


async def respond(
    session: AsyncSession, *, variation_id: int, member_id: int, choice: str, now: datetime
) -> None:
    """A partner's response; a later press replaces an earlier one."""
    found = await session.get(VariationResponse, (variation_id, member_id))
    if found is None:
        found = VariationResponse(
            variation_id=variation_id, member_id=member_id, choice=choice, created_at=now
        )
    found.choice, found.created_at = choice, now
    session.add(found)
    await session.flush()


async def count_responses(session: AsyncSession, *, variation_id: int) -> dict[str, int]:
    """How many partners agreed and disagreed."""
    query = (
        select(VariationResponse.choice, func.count())
        .where(col(VariationResponse.variation_id) == variation_id)
        .group_by(col(VariationResponse.choice))
    )
    return {choice: int(n) for choice, n in (await session.exec(query)).all()}


async def decide(
    session: AsyncSession, *, variation: Variation, outcome: str, by: int | None, now: datetime
) -> None:
    """Record a variation's outcome."""
    variation.status, variation.decided_by, variation.decided_at = outcome, by, now
    session.add(variation)
    await session.flush()


async def forget_member(session: AsyncSession, *, member_id: int, erased: str) -> None:
    """`/forget` for the register: the member's check-in notes and proposals go, with their
    words in the messages others were sent about them (replaced by `erased`); their responses
    and who was asked go; commitments they own or recorded stay, without them."""
    updates = list(
        (
            await session.exec(
                select(CommitmentUpdate).where(col(CommitmentUpdate.member_id) == member_id)
            )
        ).all()
    )
    proposals = list(
        (await session.exec(select(Variation).where(col(Variation.proposed_by) == member_id))).all()
    )
    said = [(f"commitment:{u.commitment_id}", u.note) for u in updates if u.note]
    said += [(f"variation:{v.id}", v.text) for v in proposals]
    for source, words in said:
        forms = list(dict.fromkeys((words, html.escape(words), html.escape(words, quote=False))))
        query = select(OutboxMessage).where(col(OutboxMessage.source) == source)
        for message in (await session.exec(query)).all():
            for form in forms:
                message.text = message.text.replace(form, erased)
            session.add(message)
    for gone in (*updates, *proposals):
        await session.delete(gone)
    await session.exec(
        delete(VariationResponse).where(col(VariationResponse.member_id) == member_id)
    )
    await session.exec(delete(CommitmentPrompt).where(col(CommitmentPrompt.member_id) == member_id))
    await session.exec(
        update(Commitment)
        .where(col(Commitment.owner_member_id) == member_id)
        .values(owner_member_id=None)
    )
    await session.exec(
        update(Commitment).where(col(Commitment.created_by) == member_id).values(created_by=None)
    )
    await session.exec(
        update(Variation).where(col(Variation.decided_by) == member_id).values(decided_by=None)
    )
    await session.flush()
