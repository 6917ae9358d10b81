"""/broadcast's host: the audience picker's choices and size, the partnership's zone; sending."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.broadcasts import Draft as BroadcastDraft
from bot.domain.guided import Data, Effect
from bot.services.broadcasts import Broadcasts
from bot.services.guides import MOMENT, host
from bot.services.guides.audience import picker_facts
from bot.storage.models import BroadcastStatus, Member


@host("broadcast")
class BroadcastHost:
    """/broadcast: the audience picker's choices and size, the partnership's zone; sending."""

    def __init__(self, broadcasts: Broadcasts) -> None:
        self.broadcasts = broadcasts

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        draft, b = BroadcastDraft.from_json(data), self.broadcasts
        send_at = None if draft.send_at is None else b.scheduled_for(draft.send_at)
        picker = await picker_facts(session, draft.audience, b)
        return {**picker, "send_at": None if send_at is None else send_at.strftime(MOMENT)}

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        draft = BroadcastDraft.from_json(effect.params)
        broadcast = await self.broadcasts.confirm(session, coordinator=member, draft=draft)
        when = None
        if broadcast.status == BroadcastStatus.SCHEDULED:
            when = self.broadcasts.scheduled_for(broadcast.send_at).strftime(MOMENT)
        return {"id": broadcast.id, "total": broadcast.total, "when": when}
