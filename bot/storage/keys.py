"""What the database keeps about the anonymity key: its fingerprint, the erasure log, the
consent questions shown, and the rows a key rotation re-seals."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import SQLModel, col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.db import flushed
from bot.storage.models import (
    Ballot,
    ConsentPrompt,
    Draft,
    Erasure,
    FlowRun,
    KeyRing,
    Member,
    OutboxMessage,
    TicketRoute,
)


async def get_keyring(session: AsyncSession) -> KeyRing | None:
    """The key ring, or None before the first start."""
    return await session.get(KeyRing, 1)


async def create_keyring(
    session: AsyncSession, *, fingerprint: str, erasure_key: str, now: datetime
) -> KeyRing:
    """Record the key the database is set up with; flushed, the caller commits."""
    ring = KeyRing(fingerprint=fingerprint, erasure_key=erasure_key, created_at=now)
    return await flushed(session, ring)


# Every column that holds a token sealed with the anonymity key: a rotation re-seals them all.
SEALED_COLUMNS: tuple[tuple[type[SQLModel], str], ...] = (
    (TicketRoute, "sealed"),
    (Ballot, "sealed"),
    (OutboxMessage, "route"),
)


async def reseal(
    session: AsyncSession,
    *,
    ring: KeyRing,
    fingerprint: str,
    erasure_key: str,
    token: Callable[[str], str],
    raiser_tag: Callable[[TicketRoute], str],
    memory_key: str,
    draft_key: str,
    now: datetime,
) -> int:
    """Re-seal every sealed column with `token`, re-tag every route (after re-sealing) and
    record the new key ring; returns the rows changed. The caller commits."""
    changed = 0
    for model, column in SEALED_COLUMNS:
        for row in (await session.exec(select(model))).all():
            value = getattr(row, column)
            if value is not None:
                setattr(row, column, token(value))
                session.add(row)
                changed += 1
    # Open runs keep their anonymous answers sealed under `memory_key` of their memory.
    for run in (await session.exec(select(FlowRun))).all():
        if isinstance(run.answers, dict) and isinstance(run.answers.get(memory_key), str):
            run.answers = {**run.answers, memory_key: token(run.answers[memory_key])}
            session.add(run)
            changed += 1
    # A raiser about to reply keeps the ticket sealed under `draft_key` of their draft.
    for draft in (await session.exec(select(Draft))).all():
        if isinstance(draft.data, dict) and isinstance(draft.data.get(draft_key), str):
            draft.data = {**draft.data, draft_key: token(draft.data[draft_key])}
            session.add(draft)
            changed += 1
    for route in (await session.exec(select(TicketRoute))).all():
        route.raiser_tag = raiser_tag(route)
        session.add(route)
    ring.fingerprint, ring.erasure_key, ring.rotated_at = fingerprint, erasure_key, now
    session.add(ring)
    # A consent question shown under the old key cannot be recognised any more: ask again.
    await session.exec(delete(ConsentPrompt))
    await session.flush()
    return changed


async def log_erasure(session: AsyncSession, *, member_tag: str, now: datetime) -> None:
    """Note that the member with this tag was erased (a restore erases them again)."""
    session.add(Erasure(member_tag=member_tag, erased_at=now))


async def erasure_tags(session: AsyncSession) -> Counter[str]:
    """The erasure log: how often each member tag was erased (SQLite may reuse an id)."""
    return Counter((await session.exec(select(Erasure.member_tag))).all())


async def add_erasures(session: AsyncSession, tags: Iterable[str], *, now: datetime) -> None:
    """Carry erasures over into this database's log."""
    session.add_all(Erasure(member_tag=t, erased_at=now) for t in sorted(tags))


async def member_ids(session: AsyncSession) -> list[int]:
    """Every member id (a restore looks for the erased among them)."""
    return [i for i in (await session.exec(select(Member.id))).all() if i is not None]


async def consent_shown(session: AsyncSession, *, tag: str, now: datetime) -> None:
    """Remember that the consent question was shown to the person with this tag."""
    prompt = await session.get(ConsentPrompt, tag)
    if prompt is None:
        prompt = ConsentPrompt(tag=tag, shown_at=now)
    prompt.shown_at = now
    prompt.misses = 0
    session.add(prompt)


async def consent_misses(session: AsyncSession, *, tag: str, since: datetime) -> int | None:
    """How many answers in a row to the consent question shown to this person after `since`
    were not understood; None when it was not shown since."""
    prompt = await session.get(ConsentPrompt, tag)
    return prompt.misses if prompt is not None and prompt.shown_at >= since else None


async def consent_missed(session: AsyncSession, *, tag: str, misses: int) -> None:
    """Count another answer to the consent question that was not understood."""
    prompt = await session.get(ConsentPrompt, tag)
    if prompt is not None:
        prompt.misses = misses
        session.add(prompt)


async def consent_answered(session: AsyncSession, *, tag: str) -> None:
    """The question was answered (or the person left): nothing of it is kept."""
    await session.exec(delete(ConsentPrompt).where(col(ConsentPrompt.tag) == tag))


async def prune_consent_prompts(session: AsyncSession, *, before: datetime) -> int:
    """Forget consent questions shown before `before` and never answered."""
    result = await session.exec(delete(ConsentPrompt).where(col(ConsentPrompt.shown_at) < before))
    return int(result.rowcount or 0)
