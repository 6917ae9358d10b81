"""Decisions' queries: proposals, who was asked, votes (named on the voter's row, anonymous
apart with a keyed tag, filed by the leader), the polls the bot sent and the decision log."""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.decision_models import (
    Decision,
    DecisionStatus,
    DecisionVote,
    DecisionVoter,
    SentPoll,
)
from bot.storage.models import Member, MemberStatus, OutboxMessage


async def add_decision(
    session: AsyncSession, *, decision: Decision, members: Sequence[Member]
) -> Decision:
    """Store a proposal and a voter row for each member it is put to."""
    decision.asked = len(members)
    session.add(decision)
    await session.flush()
    assert decision.id is not None
    session.add_all(DecisionVoter(decision_id=decision.id, member_id=m.id or 0) for m in members)
    await session.flush()
    return decision


async def get_decision(session: AsyncSession, *, decision_id: int) -> Decision | None:
    return await session.get(Decision, decision_id)


async def list_decisions(
    session: AsyncSession, *, statuses: Sequence[str] | None = None
) -> list[Decision]:
    """Decisions by number, optionally only those in `statuses`."""
    query = select(Decision).order_by(col(Decision.id))
    if statuses is not None:
        query = query.where(col(Decision.status).in_(list(statuses)))
    return list((await session.exec(query)).all())


async def due_to_close(session: AsyncSession, *, now: datetime) -> list[Decision]:
    query = (
        select(Decision)
        .where(col(Decision.status) == DecisionStatus.OPEN, col(Decision.closes_at) <= now)
        .order_by(col(Decision.id))
    )
    return list((await session.exec(query)).all())


async def save(session: AsyncSession, row: Decision | DecisionVoter) -> None:
    session.add(row)
    await session.flush()


async def get_voter(
    session: AsyncSession, *, decision_id: int, member_id: int
) -> DecisionVoter | None:
    return await session.get(DecisionVoter, (decision_id, member_id))


async def asked_members(session: AsyncSession, *, decision_id: int) -> list[Member]:
    """Everyone the proposal was put to, still active, by id."""
    query = (
        select(Member)
        .join(DecisionVoter, col(DecisionVoter.member_id) == col(Member.id))
        .where(col(DecisionVoter.decision_id) == decision_id)
        .where(col(Member.status) == MemberStatus.ACTIVE)
        .order_by(col(Member.id))
    )
    return list((await session.exec(query)).all())


async def to_remind(session: AsyncSession, *, decision_id: int) -> list[Member]:
    """Active members asked who have neither voted nor been reminded."""
    query = (
        select(Member)
        .join(DecisionVoter, col(DecisionVoter.member_id) == col(Member.id))
        .where(col(DecisionVoter.decision_id) == decision_id)
        .where(col(DecisionVoter.voted).is_(False), col(DecisionVoter.reminded).is_(False))
        .where(col(Member.status) == MemberStatus.ACTIVE)
        .order_by(col(Member.id))
    )
    return list((await session.exec(query)).all())


async def mark_reminded(session: AsyncSession, *, decision_id: int, member_id: int) -> None:
    await session.exec(
        update(DecisionVoter)
        .where(col(DecisionVoter.decision_id) == decision_id)
        .where(col(DecisionVoter.member_id) == member_id)
        .values(reminded=True)
    )


async def anonymous_votes(session: AsyncSession, *, decision_id: int) -> dict[str, tuple[int, int]]:
    """A decision's filed anonymous votes: voter tag -> (revision, option)."""
    query = select(DecisionVote).where(col(DecisionVote.decision_id) == decision_id)
    return {v.voter_tag: (v.revision, v.option) for v in (await session.exec(query)).all()}


async def vote_revision(session: AsyncSession, *, decision_id: int, voter: str) -> int | None:
    """The revision of the voter's filed anonymous vote, if one is filed."""
    query = select(DecisionVote.revision).where(
        col(DecisionVote.decision_id) == decision_id, col(DecisionVote.voter_tag) == voter
    )
    return (await session.exec(query)).first()


async def file_vote(
    session: AsyncSession, *, decision_id: int, voter: str, option: int, revision: int
) -> None:
    """An anonymous vote, filed by the leader: it replaces the voter's filed vote (same tag)
    only when it is a later one."""
    query = select(DecisionVote).where(
        col(DecisionVote.decision_id) == decision_id, col(DecisionVote.voter_tag) == voter
    )
    vote = (await session.exec(query)).first()
    if vote is None:
        vote = DecisionVote(
            id=secrets.token_hex(16), decision_id=decision_id, voter_tag=voter, option=option
        )
    elif vote.revision >= revision:
        return
    vote.option, vote.revision = option, revision
    session.add(vote)
    await session.flush()


async def count_votes(session: AsyncSession, *, decision: Decision) -> dict[int, int]:
    """A named decision's votes per option index, from the voter rows."""
    assert decision.id is not None
    named = (
        select(DecisionVoter.option)
        .where(col(DecisionVoter.decision_id) == decision.id)
        .where(col(DecisionVoter.option).is_not(None))
    )
    return dict(Counter(int(o) for o in (await session.exec(named)).all() if o is not None))


async def note_polls(
    session: AsyncSession, *, sent: Sequence[tuple[OutboxMessage, int, str]]
) -> None:
    """Polls Telegram accepted: (outbox row, message id, poll id)."""
    for row, message_id, poll_id in sent:
        if await session.get(SentPoll, poll_id) is None:
            session.add(
                SentPoll(
                    poll_id=poll_id,
                    outbox_id=row.id or 0,
                    chat_id=row.chat_id,
                    message_id=message_id,
                )
            )
    await session.flush()


async def poll_of(session: AsyncSession, *, decision: Decision) -> SentPoll | None:
    """The native poll a decision was put as, once Telegram accepted it."""
    if decision.poll_outbox_id is None:
        return None
    query = select(SentPoll).where(col(SentPoll.outbox_id) == decision.poll_outbox_id)
    return (await session.exec(query)).first()


async def decision_of_poll(session: AsyncSession, *, poll_id: str) -> Decision | None:
    query = (
        select(Decision)
        .join(SentPoll, col(SentPoll.outbox_id) == col(Decision.poll_outbox_id))
        .where(col(SentPoll.poll_id) == poll_id)
    )
    return (await session.exec(query)).first()


async def named_votes(
    session: AsyncSession, *, member_id: int
) -> list[tuple[DecisionVoter, Decision]]:
    """A member's voter rows and their decisions (for /mydata), by number."""
    query = (
        select(DecisionVoter, Decision)
        .where(col(DecisionVoter.decision_id) == col(Decision.id))
        .where(col(DecisionVoter.member_id) == member_id)
        .order_by(col(Decision.id))
    )
    return [(v, d) for v, d in (await session.exec(query)).all()]
