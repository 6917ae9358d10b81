"""The tickets' host: answering, declining and moving a ticket (coordinators)."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import concerns as rules
from bot.domain.guided import Data, Effect
from bot.i18n import Catalogs
from bot.services.concerns import Concerns, actions_keyboard
from bot.services.guides import host
from bot.storage.models import Member


@host("tickets")
class TicketHost:
    """Answering a ticket: its handle; the answer or the decline, and what became of it."""

    def __init__(self, concerns: Concerns, catalogs: Catalogs) -> None:
        self.concerns, self.catalogs = concerns, catalogs

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        ticket = await self.concerns.get(session, int(data.get("ticket_id", 0)))
        return {"handle": None if ticket is None else ticket.handle}

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        ticket_id = int(effect.params["ticket_id"])
        if effect.name == "move":
            return await self.move(session, member, ticket_id, str(effect.params["status"]), None)
        ticket = await self.concerns.get(session, ticket_id)
        if ticket is None:
            return {"said": "ticket.cancelled"}
        text, handle = str(effect.params["text"]), ticket.handle
        if effect.name == "decline":
            return await self.move(session, member, ticket.id or 0, rules.DECLINED, text)
        if await self.concerns.answer(session, coordinator=member, ticket=ticket, text=text):
            return {"said": "ticket.answer_sent", "params": {"handle": handle}}
        # Nobody will read it: say so, and show the ticket again so that it can be closed.
        return {
            "said": "ticket.raiser_gone",
            "params": {"handle": handle},
            **await self._card(session, member, ticket.id or 0),
        }

    async def move(
        self, session: AsyncSession, member: Member, ticket_id: int, status: str, reason: str | None
    ) -> Data:
        """Move the ticket on; what to say, and its card while it stays open."""
        ticket = await self.concerns.get(session, ticket_id)
        if ticket is None:
            return {"said": "ticket.cancelled"}
        try:
            await self.concerns.move(
                session, coordinator=member, ticket=ticket, status=status, reason=reason
            )
        except rules.ConcernError as exc:
            return {"said": f"ticket.error.{exc.code}", "params": {"handle": ticket.handle}}
        t = self.catalogs.translator(member.language)
        said = {
            "said": "ticket.moved",
            "params": {"handle": ticket.handle, "status": t(f"ticket.status.{status}")},
        }
        if status in rules.CLOSED:
            return said
        return {**said, **await self._card(session, member, ticket_id)}

    async def _card(self, session: AsyncSession, member: Member, ticket_id: int) -> Data:
        ticket = await self.concerns.get(session, ticket_id)
        if ticket is None:
            return {}
        t = self.catalogs.translator(member.language)
        return {
            "card": await self.concerns.card(session, ticket, t),
            "keyboard": actions_keyboard(ticket, t),
        }
