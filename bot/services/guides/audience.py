"""The audience picker's facts, one piece for the broadcast and schedule hosts (the step is
`bot.domain.guides.audience`)."""

from __future__ import annotations

from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.audiences import Audience
from bot.domain.guided import Data
from bot.storage import audiences
from bot.storage import committees as committee_store


class Choices(Protocol):
    """A service offering an audience (broadcasts, check-ins)."""

    @property
    def groups(self) -> tuple[str, ...]: ...

    @property
    def locales(self) -> tuple[str, ...]: ...

    @property
    def partnership_timezone(self) -> str: ...


async def picker_facts(session: AsyncSession, audience: Audience, choices: Choices) -> Data:
    """The choices (`groups`, `locales`, active `committees` as (id, name) oldest first), how
    many members the draft's audience holds now, and the partnership's `timezone`."""
    committees = await committee_store.list_committees(session)
    return {
        "groups": choices.groups,
        "locales": choices.locales,
        "committees": [(c.id or 0, c.name) for c in committees],
        "audience_size": await audiences.count_audience(session, audience),
        "timezone": choices.partnership_timezone,
    }
