"""Outbox queries. PLACEHOLDER written by the lead so imports work: the delivery engine's author
owns this module and replaces it entirely (keep these signatures)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import OutboxMessage


async def enqueue(
    session: AsyncSession,
    *,
    chat_id: int,
    member_id: int | None,
    text: str,
    kind: str = "text",
    reply_markup: dict[str, Any] | None = None,
    media_file_id: str | None = None,
    language: str | None = None,
    source: str = "",
    broadcast_id: int | None = None,
    dedupe_key: str | None = None,
    not_before: datetime | None,
    now: datetime,
) -> list[OutboxMessage]:
    raise NotImplementedError


async def broadcast_counts(session: AsyncSession, *, broadcast_id: int) -> dict[str, int]:
    raise NotImplementedError


async def broadcast_failures(session: AsyncSession, *, broadcast_id: int) -> dict[str, int]:
    raise NotImplementedError
