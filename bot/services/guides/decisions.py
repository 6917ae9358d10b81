"""/propose's and /decide's host: the audience picker's facts, the closing moment in the
partnership's zone; putting the proposal, writing the outcome."""

from __future__ import annotations

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.decisions import DecisionError
from bot.domain.guided import Data, Effect
from bot.domain.guides.propose import Draft
from bot.domain.timing import zone
from bot.services.broadcasts import Broadcasts
from bot.services.decisions import Decisions
from bot.services.guides import MOMENT, host
from bot.services.guides.audience import picker_facts
from bot.storage.models import Member


@host("decisions")
class DecisionHost:
    def __init__(self, decisions: Decisions, broadcasts: Broadcasts) -> None:
        # The broadcast service names the groups, languages and zone the picker offers.
        self.decisions, self.choices = decisions, broadcasts

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        draft = Draft.from_json(data)
        picker = await picker_facts(session, draft.audience, self.choices)
        closes = ""
        if draft.closes_at:
            local = datetime.fromisoformat(draft.closes_at).astimezone(
                zone(None, picker["timezone"])
            )
            closes = local.strftime(MOMENT)
        return {**picker, "closes": closes}

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        p = effect.params
        try:
            if effect.name == "decide":
                decision, told = await self.decisions.decide(
                    session, ref=p["decision"], statement=p["statement"], actor=member
                )
                return {"said": "decisions.decided", "params": {"id": decision.id, "count": told}}
            draft = Draft.from_json(p)
            decision, in_group = await self.decisions.propose(
                session,
                question=draft.question,
                closes_at=datetime.fromisoformat(draft.closes_at),
                anonymous=draft.anonymous,
                options=draft.options,
                committee=None if draft.committee is None else str(draft.committee),
                audience=None if draft.committee is not None else draft.audience,
                actor=member,
            )
        except DecisionError as exc:
            return {"said": f"decisions.error.{exc.code}"}
        key = "decisions.proposed_poll" if in_group else "decisions.proposed"
        return {"said": key, "params": {"id": decision.id, "count": decision.asked}}
