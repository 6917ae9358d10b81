"""The handover of a key person's seat: a coordinator names the successor, sees what moves,
and confirms; in that one step the successor takes the seat, the predecessor's committee seats
and open tickets, and receives a briefing (roles their organisation took on, open commitments,
open tickets, committee seats, the latest k-anonymous figures)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import champions as rules
from bot.domain.reports import ROLES_FLOW
from bot.i18n import Translator
from bot.services.champions import (
    SOURCE,
    ChampionError,
    Champions,
    about,
    member_id,
    name_of,
    seat_id,
)
from bot.services.commitments import open_commitments_of
from bot.storage import audit, outbox, repo
from bot.storage import champions as store
from bot.storage import committees as committee_store
from bot.storage.champion_models import Champion
from bot.storage.models import Committee, Member, Ticket
from bot.storage.tickets import add_event

# The roles flow's question on what a member's organisation leads (`flows/roles.yaml`).
LEADS_QUESTION = "leads"


@dataclass(frozen=True)
class Handover:
    """What a handover moves: the seat, from whom to whom, committee seats and open tickets."""

    seat: Champion
    predecessor: Member | None
    successor: Member
    committees: tuple[tuple[Committee, bool], ...]
    tickets: tuple[Ticket, ...]


async def open_commitments(session: AsyncSession, *, org_key: str) -> list[str]:
    """The organisation's open commitments, one line each, for the successor's briefing:
    what, for whom, by when (from the commitments register)."""
    return [
        f"#{c.id} {html.escape(c.what)} → {html.escape(c.beneficiary)} · {c.due_on.isoformat()}"
        for c in await open_commitments_of(session, org_key)
    ]


class Handovers:
    """Plans, words and carries out handovers over the champions register."""

    def __init__(self, champions: Champions) -> None:
        self.champions = champions

    async def plan(self, session: AsyncSession, *, seat_ref: int, successor_id: int) -> Handover:
        """What handing `seat_ref` to the member `successor_id` would move."""
        seat = await store.get_seat(session, seat_id=seat_ref)
        successor = await repo.get_member(session, member_id=successor_id)
        if seat is None:
            raise ChampionError("unknown", ref=seat_ref)
        if successor is None or successor.id == seat.member_id:
            raise ChampionError("successor")
        # A seat is its organisation's: the successor speaks for the same one.
        if rules.org_key(successor.organisation or "") != seat.org_key:
            raise ChampionError("other_organisation", organisation=html.escape(seat.organisation))
        predecessor = None
        if seat.member_id is not None:
            predecessor = await repo.get_member(session, member_id=seat.member_id)
        committees: tuple[tuple[Committee, bool], ...] = ()
        tickets: tuple[Ticket, ...] = ()
        if predecessor is not None:
            held = member_id(predecessor)
            committees = tuple(await store.committee_seats(session, member_id=held))
            handled = await store.tickets_handled(session, member_id=held)
            tickets = tuple(t for t in handled if store.is_open(t))
        return Handover(seat, predecessor, successor, committees, tickets)

    def summary(self, plan: Handover, t: Translator) -> str:
        """What the coordinator confirms."""
        seats = ", ".join(html.escape(c.name) for c, _ in plan.committees)
        return t(
            "champions.handover_summary",
            organisation=html.escape(plan.seat.organisation),
            role=t(f"champions.role.{plan.seat.role}"),
            before=name_of(plan.predecessor) if plan.predecessor else t("champions.vacant"),
            after=name_of(plan.successor),
            seats=seats or t("champions.none"),
            tickets=", ".join(t.handle for t in plan.tickets) or t("champions.none"),
        )

    async def carry_out(
        self, session: AsyncSession, *, plan: Handover, actor: Member, figures: Sequence[str]
    ) -> Champion:
        """The successor takes the seat, the committee seats and the open tickets; they are
        briefed; all in the caller's transaction, audited once."""
        now = self.champions.clock.now()
        successor = member_id(plan.successor)
        seat = await self.champions.appoint(
            session,
            member=plan.successor,
            role=plan.seat.role,
            actor=actor,
            action="champion.handover",
        )
        if plan.predecessor is not None:
            before = member_id(plan.predecessor)
            for committee, chair in plan.committees:
                assert committee.id is not None
                await committee_store.seat(
                    session,
                    committee_id=committee.id,
                    member_id=successor,
                    is_chair=chair,
                    now=now,
                )
                await committee_store.unseat(session, committee_id=committee.id, member_id=before)
        for ticket in plan.tickets:
            assert ticket.id is not None
            await add_event(
                session,
                ticket_id=ticket.id,
                kind=store.HANDOVER_EVENT,
                actor_member_id=successor,
                now=now,
            )
        await audit.record(
            session,
            actor=actor,
            action="champion.handover_moved",
            detail={
                "seat": seat_id(seat),
                "committees": [c.id for c, _ in plan.committees],
                "tickets": [t.handle for t in plan.tickets],
                "previous_member_id": None if plan.predecessor is None else plan.predecessor.id,
                **about(plan.successor),
            },
            now=now,
        )
        t = self.champions.words(plan.successor.language)
        await outbox.enqueue(
            session,
            chat_id=plan.successor.chat_id,
            member_id=successor,
            text=await self.briefing(session, plan, t, figures),
            language=plan.successor.language,
            source=SOURCE,
            now=now,
        )
        return seat

    async def briefing(
        self, session: AsyncSession, plan: Handover, t: Translator, figures: Sequence[str]
    ) -> str:
        """The successor's briefing, in their language."""
        none = t("champions.none")
        areas = await store.areas_led(
            session, org_key=plan.seat.org_key, flow_id=ROLES_FLOW, question=LEADS_QUESTION
        )
        commitments = await open_commitments(session, org_key=plan.seat.org_key)
        seats = [
            html.escape(c.name) + (t("champions.chair_mark") if chair else "")
            for c, chair in plan.committees
        ]
        tickets = [
            t(
                "champions.briefing_ticket",
                handle=ticket.handle,
                category=t(f"concern.category.{ticket.category}"),
                status=t(f"ticket.status.{ticket.status}"),
            )
            for ticket in plan.tickets
        ]
        return "\n".join(
            [
                t(
                    "champions.briefing",
                    organisation=html.escape(plan.seat.organisation),
                    role=t(f"champions.role.{plan.seat.role}"),
                ),
                t(
                    "champions.briefing_roles",
                    areas=", ".join(t(f"roles.brings.{a}") for a in areas) or none,
                ),
                t("champions.briefing_commitments", commitments="; ".join(commitments) or none),
                t("champions.briefing_tickets", tickets="; ".join(tickets) or none),
                t("champions.briefing_seats", seats=", ".join(seats) or none),
                t("champions.briefing_figures"),
                *(html.escape(line) for line in figures),
            ]
        )
