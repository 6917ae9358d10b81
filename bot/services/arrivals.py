"""What the conversation host asks of code outside it about a newcomer: how they came (an
invitation link), and what that code makes of their answers (a committee seat taken)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.engine import Reply, SavedAnswer
from bot.storage.models import Member


class Arrivals(Protocol):
    """How a person came, known by their consent tag until they consent."""

    async def given(self, session: AsyncSession, tag: str) -> Mapping[str, Any]:
        """The answers onboarding is given for them (see a flow's `given`)."""
        ...

    async def joined(self, session: AsyncSession, member: Member, tag: str) -> None:
        """They consented and are now `member`."""
        ...

    async def take_up(
        self, session: AsyncSession, member: Member, answers: Iterable[SavedAnswer]
    ) -> tuple[Reply, ...]:
        """Act on the member's own answers just stored; what to tell them."""
        ...


class NoArrivals:
    """Nobody brought anyone: nothing given, nothing taken up."""

    async def given(self, session: AsyncSession, tag: str) -> Mapping[str, Any]:
        return {}

    async def joined(self, session: AsyncSession, member: Member, tag: str) -> None:
        return None

    async def take_up(
        self, session: AsyncSession, member: Member, answers: Iterable[SavedAnswer]
    ) -> tuple[Reply, ...]:
        return ()
