"""Champions: the register of each organisation's key people (its lead and a deputy), their
activity, and the alerts coordinators get about them.

Coordinators keep the register (`/champions`, `partnerbot champions`); an organisation's lead
may propose a member of it, which a coordinator confirms. What a key person did is shown to
coordinators only. Coordinators are told, through the outbox, when a key person goes quiet,
stops, is demoted, leaves or is erased; the handover to a successor is
`bot.services.champion_handover`. Every change is audited in its own transaction.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.domain import champions as rules
from bot.domain.clock import Clock
from bot.i18n import Translator
from bot.services.errors import CodedError
from bot.storage import audit, outbox, repo
from bot.storage import champions as store
from bot.storage.champion_models import Champion
from bot.storage.committees import list_coordinators
from bot.storage.models import Member

SOURCE = "champions"
DAY = "%Y-%m-%d"


class ChampionError(CodedError):
    """Invalid input; `code` is the last part of the locale key `champions.error.<code>`."""


@dataclass(frozen=True)
class SeatView:
    """A seat with its holder and the member a lead proposed for it."""

    seat: Champion
    holder: Member | None
    proposed: Member | None


def seat_id(seat: Champion) -> int:
    assert seat.id is not None, "seat was not flushed"
    return seat.id


def member_id(member: Member) -> int:
    assert member.id is not None, "member was not flushed"
    return member.id


def name_of(member: Member | None) -> str:
    """A member's name for coordinators, escaped for HTML."""
    if member is None:
        return "?"
    return html.escape(member.display_name or str(member.telegram_user_id))


def about(member: Member) -> dict[str, object]:
    """Who an audit entry is about: the member id and label, never the name."""
    return {"target_member_id": member.id, "target": audit.member_label(member)}


class Champions:
    """The register, its activity figures and its alerts."""

    def __init__(self, *, clock: Clock, content: Content, quiet_after: timedelta) -> None:
        self.clock, self.content, self.quiet_after = clock, content, quiet_after

    def words(self, locale: str) -> Translator:
        return self.content.catalogs.translator(locale)

    # -- the register --------------------------------------------------------------------------

    async def seats(self, session: AsyncSession) -> list[SeatView]:
        """Every seat with its holder and proposal."""
        found = []
        for seat in await store.list_seats(session):
            holder = await self.member_by_id(session, seat.member_id)
            proposed = await self.member_by_id(session, seat.proposed_member_id)
            found.append(SeatView(seat, holder, proposed))
        return found

    async def member_by_id(self, session: AsyncSession, member_id: int | None) -> Member | None:
        """A member by database id (None for None)."""
        return None if member_id is None else await repo.get_member(session, member_id=member_id)

    async def appoint(
        self,
        session: AsyncSession,
        *,
        member: Member,
        role: str,
        actor: Member | None,
        actor_label: str | None = None,
        action: str = "champion.set",
    ) -> Champion:
        """Give `member` their organisation's seat of `role` (replacing its holder, if any)."""
        if role not in rules.ROLES:
            raise ChampionError("role")
        organisation = " ".join((member.organisation or "").split())
        if not organisation:
            raise ChampionError("no_organisation", name=name_of(member))
        now, key = self.clock.now(), rules.org_key(organisation)
        seat = await store.find_seat(session, org_key=key, role=role)
        previous = None if seat is None else seat.member_id
        if seat is None:
            seat = Champion(
                organisation=organisation, org_key=key, role=role, appointed_at=now, updated_at=now
            )
        seat.member_id, seat.appointed_at, seat.updated_at = member.id, now, now
        seat.proposed_member_id = seat.proposed_by = seat.proposed_at = None
        seat.quiet_alerted_at = None
        await store.save_seat(session, seat)
        # One person, one seat: a deputy made lead leaves the deputy's seat vacant.
        for other in await store.seats_held(session, member_id=member_id(member)):
            if other.id != seat.id:
                other.member_id, other.updated_at = None, now
                await store.save_seat(session, other)
        detail = {"seat": seat.id, "organisation": organisation, "role": role, **about(member)}
        if previous is not None and previous != member.id:
            detail["previous_member_id"] = previous
        await audit.record(
            session, actor=actor, actor_label=actor_label, action=action, detail=detail, now=now
        )
        return seat

    async def remove(
        self,
        session: AsyncSession,
        *,
        seat_id: int,
        actor: Member | None,
        actor_label: str | None = None,
    ) -> Champion:
        """Take a seat out of the register."""
        seat = await store.get_seat(session, seat_id=seat_id)
        if seat is None:
            raise ChampionError("unknown", ref=seat_id)
        detail = {
            "seat": seat_id,
            "organisation": seat.organisation,
            "role": seat.role,
            "target_member_id": seat.member_id,
        }
        await store.delete_seat(session, seat_id=seat_id)
        await audit.record(
            session,
            actor=actor,
            actor_label=actor_label,
            action="champion.removed",
            detail=detail,
            now=self.clock.now(),
        )
        return seat

    async def lead_seat(self, session: AsyncSession, member: Member | None) -> Champion | None:
        """The lead's seat `member` holds, if any (a lead may propose)."""
        if member is None or member.id is None:
            return None
        held = await store.seats_held(session, member_id=member.id)
        return next((s for s in held if s.role == rules.LEAD), None)

    async def propose(self, session: AsyncSession, *, lead: Member, role: str, text: str) -> Member:
        """A lead proposes a member of their organisation (typed by full name or Telegram id)
        for a seat of it; coordinators are told and confirm in /champions."""
        own = await self.lead_seat(session, lead)
        if own is None or role not in rules.ROLES:
            raise ChampionError("not_lead")
        found = await store.find_members(session, text=text, org_key=own.org_key, exact=True)
        if len(found) != 1 or found[0].id == lead.id:
            raise ChampionError("no_match", text=html.escape(text.strip()))
        chosen, now = found[0], self.clock.now()
        seat = await store.find_seat(session, org_key=own.org_key, role=role)
        if seat is None:
            seat = Champion(
                organisation=own.organisation,
                org_key=own.org_key,
                role=role,
                appointed_at=now,
                updated_at=now,
            )
        seat.proposed_member_id, seat.proposed_by, seat.proposed_at = chosen.id, lead.id, now
        seat.updated_at = now
        await store.save_seat(session, seat)
        await audit.record(
            session,
            actor=lead,
            action="champion.proposed",
            detail={
                "seat": seat.id,
                "organisation": seat.organisation,
                "role": role,
                **about(chosen),
            },
            now=now,
        )
        await self.tell_coordinators(
            session,
            rules.PROPOSED,
            seat,
            name=name_of(chosen),
            lead=name_of(lead),
        )
        return chosen

    async def settle_proposal(
        self, session: AsyncSession, *, seat_id: int, accept: bool, actor: Member
    ) -> tuple[Champion, Member]:
        """A coordinator confirms (the proposed member takes the seat) or turns down a lead's
        proposal."""
        seat = await store.get_seat(session, seat_id=seat_id)
        proposed = (
            None if seat is None else await self.member_by_id(session, seat.proposed_member_id)
        )
        if seat is None or proposed is None:
            raise ChampionError("no_proposal")
        if accept:
            seat = await self.appoint(
                session,
                member=proposed,
                role=seat.role,
                actor=actor,
                action="champion.proposal_accepted",
            )
            return seat, proposed
        seat.proposed_member_id = seat.proposed_by = seat.proposed_at = None
        seat.updated_at = self.clock.now()
        await store.save_seat(session, seat)
        await audit.record(
            session,
            actor=actor,
            action="champion.proposal_declined",
            detail={"seat": seat.id, "organisation": seat.organisation, **about(proposed)},
            now=self.clock.now(),
        )
        return seat, proposed

    # -- what coordinators read ----------------------------------------------------------------

    async def register_text(self, session: AsyncSession, t: Translator) -> str:
        """The register with each key person's activity: for coordinators only."""
        views = await self.seats(session)
        if not views:
            return t("champions.register_empty")
        lines, organisation = [t("champions.register_header")], None
        for view in views:
            if view.seat.org_key != organisation:
                organisation = view.seat.org_key
                lines.append(f"\n<b>{html.escape(view.seat.organisation)}</b>")
            lines.append(await self.seat_line(session, view, t))
        return "\n".join(lines)

    async def seat_line(self, session: AsyncSession, view: SeatView, t: Translator) -> str:
        """One seat: its holder and what they did, and a waiting proposal."""
        role = t(f"champions.role.{view.seat.role}")
        if view.holder is None:
            line = t("champions.line_vacant", id=view.seat.id, role=role)
        else:
            a = await store.activity(session, member_id=member_id(view.holder))
            line = t(
                "champions.line",
                id=view.seat.id,
                role=role,
                name=name_of(view.holder),
                activity=self.describe(a, t),
            )
        if view.proposed is not None:
            line += "\n" + t("champions.line_proposed", name=name_of(view.proposed))
        return line

    def describe(self, a: rules.Activity, t: Translator) -> str:
        """A key person's activity in words."""
        never = t("champions.never")
        tickets = t("champions.tickets_none")
        if a.tickets_handled:
            speed = "–" if a.median_hours is None else t("champions.hours", hours=a.median_hours)
            tickets = t(
                "champions.tickets", tickets=a.tickets_handled, open=a.open_tickets, speed=speed
            )
        return t(
            "champions.activity",
            last=never if a.last_answer is None else f"{a.last_answer:{DAY}}",
            answered=a.checkins_answered,
            sent=a.checkins_sent,
            tickets=tickets,
            seats=html.escape(", ".join(a.seats)) or t("champions.none"),
        )

    # -- alerts ------------------------------------------------------------------------------

    async def tell_coordinators(
        self,
        session: AsyncSession,
        reason: str,
        seat: Champion,
        *,
        dedupe: str | None = None,
        **params: object,
    ) -> int:
        """Queue `champions.alert.<reason>` about a seat to every active coordinator."""
        now, told = self.clock.now(), 0
        for coordinator in await list_coordinators(session):
            t = self.words(coordinator.language)
            text = t(
                f"champions.alert.{reason}",
                organisation=html.escape(seat.organisation),
                role=t(f"champions.role.{seat.role}"),
                **params,
            )
            rows = await outbox.enqueue(
                session,
                chat_id=coordinator.chat_id,
                member_id=coordinator.id,
                text=text,
                language=coordinator.language,
                source=SOURCE,
                dedupe_key=None if dedupe is None else f"{dedupe}:{coordinator.id}",
                now=now,
            )
            told += len(rows)
        return told

    async def departed(self, session: AsyncSession, member: Member, reason: str) -> int:
        """Tell coordinators that a key person stopped, was demoted, left or is being erased
        (called before the erasure: the seat is left vacant and the alert names nobody)."""
        if member.id is None:
            return 0
        told = 0
        for seat in await store.seats_held(session, member_id=member.id):
            if reason == rules.ERASED:
                seat.member_id, seat.updated_at = None, self.clock.now()
                await store.save_seat(session, seat)
                told += await self.tell_coordinators(session, reason, seat)
            else:
                told += await self.tell_coordinators(session, reason, seat, name=name_of(member))
        return told

    async def alert_quiet(self, session: AsyncSession) -> int:
        """Tell coordinators of each key person quiet for `quiet_after`, once per silence."""
        now, told = self.clock.now(), 0
        for seat in await store.list_seats(session):
            holder = await self.member_by_id(session, seat.member_id)
            if holder is None:
                continue
            a = await store.activity(session, member_id=member_id(holder))
            since = rules.quiet_since(
                a.last_active, seat.appointed_at, now=now, quiet_after=self.quiet_after
            )
            if not rules.should_alert_quiet(since, seat.quiet_alerted_at):
                continue
            assert since is not None
            seat.quiet_alerted_at = now
            await store.save_seat(session, seat)
            told += await self.tell_coordinators(
                session,
                rules.QUIET,
                seat,
                dedupe=f"champion-quiet:{seat.id}:{since:%Y%m%d%H%M}",
                name=name_of(holder),
                days=(now - since).days,
            )
        return told
