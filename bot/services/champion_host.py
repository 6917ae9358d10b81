"""/champions' host: the facts its steps read (the register, seats, members found, the handover
to confirm) and its effects (name, remove, hand over, propose, confirm), worded by the machine
(`bot.domain.guides.champions`)."""

from __future__ import annotations

import html
from collections.abc import Callable

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.guided import Data, Effect, label
from bot.services.champion_handover import Handovers
from bot.services.champions import ChampionError, Champions, name_of
from bot.services.reports import Reports
from bot.storage import champions as store
from bot.storage.db import SessionFactory
from bot.storage.models import Member, MemberRole

COORDINATING = (MemberRole.COORDINATOR, MemberRole.ADMIN)
# The figures a successor's briefing carries: the trust report's table (k-anonymous, released).
BRIEFING_REPORT = "trust"


class ChampionsHost:
    """The register for coordinators; proposals for leads."""

    def __init__(
        self,
        champions: Champions,
        *,
        reports: Reports | None = None,
        reads: SessionFactory | None = None,
    ) -> None:
        self.champions, self.handovers = champions, Handovers(champions)
        self.reports, self.reads = reports, reads

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        coordinator = member.role in COORDINATING
        lead = await self.champions.lead_seat(session, member)
        found: dict[str, object] = {
            "coordinator": coordinator,
            "lead_of": None if lead is None else lead.organisation,
        }
        if not coordinator:
            return found  # a lead sees nobody's activity
        t = self.champions.words(member.language)
        step = data.get("step")
        views = await self.champions.seats(session)
        if step in (None, "home"):
            found["register"] = await self.champions.register_text(session, t)
            found["proposals"] = [
                (
                    v.seat.id,
                    f"{v.seat.organisation} · {t(f'champions.role.{v.seat.role}')}: "
                    f"{v.proposed.display_name if v.proposed else ''}",
                )
                for v in views
                if v.proposed is not None
            ]
        if step == "seat":
            found["seats"] = [
                (
                    v.seat.id,
                    f"{v.seat.organisation} · {t(f'champions.role.{v.seat.role}')}: "
                    f"{v.holder.display_name if v.holder else t('champions.vacant')}",
                )
                for v in views
            ]
        if step == "pick":
            # A successor is found among the members of the seat's organisation only.
            seat = None
            if data.get("purpose") == "handover":
                seat = await store.get_seat(session, seat_id=int(data.get("seat", 0)))
            members = await store.find_members(
                session,
                text=str(data.get("query", "")),
                org_key=None if seat is None else seat.org_key,
            )
            found["matches"] = [
                (m.id, f"{m.display_name} · {m.organisation or '–'}"[:60]) for m in members
            ]
        if step == "confirm":
            plan = await self.handovers.plan(
                session, seat_ref=int(data["seat"]), successor_id=int(data["successor"])
            )
            found["summary"] = self.handovers.summary(plan, t)
        return found

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        try:
            return await self._perform(session, member, effect)
        except ChampionError as exc:
            return {"said": f"champions.error.{exc.code}", "params": exc.params}

    async def _perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        p, c = effect.params, self.champions
        if effect.name == "propose":
            chosen = await c.propose(session, lead=member, role=str(p["role"]), text=str(p["text"]))
            return {"said": "champions.proposed", "params": {"name": name_of(chosen)}}
        if member.role not in COORDINATING:
            raise ChampionError("not_allowed")
        if effect.name == "set":
            chosen = await self._member(session, int(p["member"]))
            seat = await c.appoint(session, member=chosen, role=str(p["role"]), actor=member)
            return self._done("champions.set_done", seat.organisation, seat.role, chosen)
        if effect.name == "remove":
            seat = await c.remove(session, seat_id=int(p["seat"]), actor=member)
            return self._done("champions.removed", seat.organisation, seat.role, None)
        if effect.name in ("accept", "decline"):
            seat, chosen = await c.settle_proposal(
                session, seat_id=int(p["seat"]), accept=effect.name == "accept", actor=member
            )
            key = "champions.accepted" if effect.name == "accept" else "champions.declined"
            return self._done(key, seat.organisation, seat.role, chosen)
        plan = await self.handovers.plan(
            session, seat_ref=int(p["seat"]), successor_id=int(p["successor"])
        )
        t = c.words(plan.successor.language)
        seat = await self.handovers.carry_out(
            session, plan=plan, actor=member, figures=await self._figures(t)
        )
        return self._done("champions.handed_over", seat.organisation, seat.role, plan.successor)

    async def _member(self, session: AsyncSession, member_id: int) -> Member:
        found = await self.champions.member_by_id(session, member_id)
        if found is None:
            raise ChampionError("successor")
        return found

    @staticmethod
    def _done(key: str, organisation: str, role: str, member: Member | None) -> Data:
        return {
            "said": key,
            "params": {
                "organisation": html.escape(organisation),
                "role": label(f"champions.role.{role}"),
                "name": name_of(member),
            },
        }

    async def _figures(self, t: Callable[..., str]) -> list[str]:
        """The latest released figures, as the trust report's table (k-anonymous)."""
        if self.reports is None or self.reads is None:
            return []
        parts = await self.reports.build(self.reads, kinds=(BRIEFING_REPORT,), since=None, words=t)
        return [line for part in parts for line in part.lines]
