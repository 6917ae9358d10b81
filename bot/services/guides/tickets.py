"""The tickets' hosts: coordinators answering, declining and moving a ticket; a raiser
replying."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import concerns as rules
from bot.domain.guided import Data, Effect
from bot.domain.guides.reply import SEALED
from bot.i18n import Catalogs
from bot.services.concerns import Concerns, actions_keyboard
from bot.services.decisions import Decisions
from bot.services.guides import host
from bot.services.sealing import Sealer
from bot.storage.models import Member, Ticket


@host("tickets")
class TicketHost:
    """Answering a ticket: its handle; the answer or the decline, and what became of it."""

    def __init__(
        self, concerns: Concerns, catalogs: Catalogs, decisions: Decisions | None = None
    ) -> None:
        self.concerns, self.catalogs, self.decisions = concerns, catalogs, decisions

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
        if self.decisions is not None:
            # An answer or a reason for declining naming a decision (#D<id>) tells what was
            # decided, and when: the raiser reads it, and "you said, we did" quotes a reason.
            t = self.catalogs.translator(member.language)
            text = await self.decisions.link(session, text, t)
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


@host("ticket_reply")
class ReplyHost:
    """A raiser's reply: the ticket, opened from its seal and theirs only; relaying the reply
    (sealed for filing when anonymous, `Concerns.reply`)."""

    def __init__(self, concerns: Concerns, sealer: Sealer) -> None:
        self.concerns, self.sealer = concerns, sealer

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        ticket = await self._theirs(session, member, self.sealer.unseal(str(data.get(SEALED, ""))))
        return {
            "handle": None if ticket is None else ticket.handle,
            "anonymous": ticket is not None and ticket.anonymous,
        }

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        if effect.name == "open":
            ticket = await self._theirs(session, member, int(effect.params["ticket_id"]))
            return {} if ticket is None else {"sealed": self.sealer.seal(ticket.id or 0)}
        ticket_id = self.sealer.unseal(str(effect.params[SEALED]))
        ticket = await self._theirs(session, member, ticket_id)
        if ticket is None:
            return {"sent": False}
        await self.concerns.reply(session, member=member, ticket=ticket, text=effect.params["text"])
        # Said in the raiser's transaction: an anonymous ticket's handle is not beside them.
        return {"sent": True, "handle": None if ticket.anonymous else ticket.handle}

    async def _theirs(
        self, session: AsyncSession, member: Member, ticket_id: int | None
    ) -> Ticket | None:
        ticket = None if ticket_id is None else await self.concerns.get(session, ticket_id)
        if ticket is None or not await self.concerns.is_raiser(
            session, member=member, ticket=ticket
        ):
            return None
        return ticket
