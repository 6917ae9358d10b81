"""The audit log: who broadcast, exported, changed roles, schedules or committees, and when."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import AuditEntry, Member

CLI_LABEL = "cli"
SYSTEM_LABEL = "system"
FORMER_MEMBER_LABEL = "former member"


def member_label(member: Member) -> str:
    """The label an entry keeps for its actor: the role and Telegram id, never the name."""
    return f"{member.role} {member.telegram_user_id}"


def describe(entry: AuditEntry) -> str:
    """One entry as one line of plain text: when (UTC), who, what."""
    detail = ", ".join(f"{k}={v}" for k, v in (entry.detail or {}).items() if v is not None)
    line = f"{entry.at:%Y-%m-%d %H:%M} · {entry.actor_label} · {entry.action}"
    return f"{line} ({detail})" if detail else line


async def record(
    session: AsyncSession,
    *,
    actor: Member | None,
    actor_label: str | None = None,
    action: str,
    detail: Mapping[str, Any] | None = None,
    now: datetime,
) -> AuditEntry:
    """Add one entry in the session's transaction; the label defaults to the actor's."""
    if actor_label is None:
        actor_label = member_label(actor) if actor is not None else SYSTEM_LABEL
    entry = AuditEntry(
        at=now,
        actor_member_id=actor.id if actor is not None else None,
        actor_label=actor_label[:120],
        action=action[:40],
        detail=dict(detail or {}),
    )
    session.add(entry)
    await session.flush()
    return entry


async def list_entries(
    session: AsyncSession,
    *,
    since: datetime | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> Sequence[AuditEntry]:
    """Entries newest first, optionally only those at or after `since`."""
    query = select(AuditEntry)
    if since is not None:
        query = query.where(col(AuditEntry.at) >= since)
    query = query.order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc()).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return (await session.exec(query)).all()


async def count_entries(session: AsyncSession, *, since: datetime | None = None) -> int:
    """How many entries there are (at or after `since`)."""
    query = select(func.count()).select_from(AuditEntry)
    if since is not None:
        query = query.where(col(AuditEntry.at) >= since)
    return int((await session.exec(query)).one())
