"""Alerts told once: which trust drops coordinators already heard of."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.models import TrustAlert


async def claim_trust_alert(
    session: AsyncSession, *, group: str, period: str, now: datetime
) -> bool:
    """Record that the drop of `group` in `period` is being told; False when it already was."""
    if await session.get(TrustAlert, (group, period)) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(TrustAlert(stakeholder_group=group, period=period, created_at=now))
            await session.flush()
    except IntegrityError:  # told by another pass in the meantime
        return False
    return True
