"""Concerns as tickets: raised through the `concerns` flow, answered and moved by coordinators.

An anonymous concern keeps no link to its raiser that a coordinator, a report or an export can
follow: the ticket has no member, and the way back is a route sealed with the anonymity key,
opened only here to relay an answer or a step. Nor can a reader of the database pair it with
its raiser by transaction: the raiser's transaction stores the concern sealed, with nothing of
the raiser in clear, and the leader files it as a ticket in a transaction of its own
(`bot.services.filing`), at once after that commit or at its next pass. The raiser finds
their own tickets through a keyed tag. Messages to someone other than the person acting go
through the outbox, in the same transaction as the change.

Media sent with a concern (voice notes, photos, documents, places) are kept as Telegram file ids
in `ticket_media`, and reach the coordinators sent again by file id (sendVoice, sendPhoto,
sendDocument, sendLocation) through the outbox when the ticket is filed. Not `copyMessage`: it
copies from the raiser's chat by chat and message id, so the ticket would have to keep the
raiser's chat id, which for an anonymous concern is the very link it must not keep.
"""

from __future__ import annotations

import hmac
import html
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import concerns as rules
from bot.domain.clock import Clock
from bot.domain.engine import Reply
from bot.domain.media import LOCATION, MediaItem, place_text
from bot.i18n import Catalogs, Translator
from bot.services.committee_groups import GroupPosts
from bot.services.filing import SealedFiling
from bot.services.sealing import Sealer
from bot.storage import audit, outbox, repo, ticket_media
from bot.storage import ballots as sealed_store
from bot.storage import committees as committee_store
from bot.storage import tickets as store
from bot.storage.group_models import GroupPurpose
from bot.storage.models import Member, MemberStatus, Ticket

log = logging.getLogger(__name__)
COORDINATOR_PREFIX = "tk"  # tk:<action>:<ticket id>, coordinators' buttons
RAISER_PREFIX = "tr"  # tr:reply:<ticket id>, the raiser's button
ACTIONS = {
    rules.DISCUSSED: "discussed",
    rules.AGREED: "agreed",
    rules.DONE: "done",
    rules.DECLINED: "decline",
}
Keyboard = dict[str, Any]


def coordinator_button(text: str, action: str, ticket_id: int) -> dict[str, str]:
    return {"text": text, "callback_data": f"{COORDINATOR_PREFIX}:{action}:{ticket_id}"}


def reply_keyboard(ticket: Ticket, t: Translator) -> Keyboard:
    """The raiser's Reply button under a relayed message."""
    data = f"{RAISER_PREFIX}:reply:{ticket.id}"
    return {"inline_keyboard": [[{"text": t("ticket.button.reply"), "callback_data": data}]]}


def actions_keyboard(ticket: Ticket, t: Translator) -> Keyboard:
    """Answer, and the steps still open to the ticket."""
    assert ticket.id is not None
    rows = [[coordinator_button(t("ticket.button.answer"), "answer", ticket.id)]]
    steps = [
        s for s in (rules.DISCUSSED, rules.AGREED, rules.DONE) if rules.can_move(ticket.status, s)
    ]
    if steps:
        rows.append(
            [coordinator_button(t(f"ticket.button.{s}"), ACTIONS[s], ticket.id) for s in steps]
        )
    if rules.can_move(ticket.status, rules.DECLINED):
        rows.append([coordinator_button(t("ticket.button.decline"), "decline", ticket.id)])
    return {"inline_keyboard": rows}


def describe(ticket: Ticket, t: Translator) -> dict[str, str]:
    """A ticket's fields as wording, ready for a message (HTML-escaped)."""
    return {
        "handle": ticket.handle,
        "category": t(f"concern.category.{ticket.category}"),
        "about": t(f"concern.about.{ticket.about}"),
        "urgency": t(f"concern.urgency.{ticket.urgency}"),
        "status": t(f"ticket.status.{ticket.status}"),
        "text": html.escape(ticket.text),
    }


class Concerns:
    """Tickets: raising, routing, answering, moving, and relaying both ways."""

    def __init__(
        self,
        *,
        clock: Clock,
        catalogs: Catalogs,
        sealer: Sealer,
        filing: SealedFiling | None = None,
        draw: Callable[[], int] = lambda: secrets.randbits(rules.HANDLE_BITS),
        posts: GroupPosts | None = None,
    ) -> None:
        self.clock = clock
        # The committee's group gets each new ticket's card, without who raised it.
        self.posts = posts
        self.catalogs = catalogs
        self.sealer = sealer
        self.draw = draw
        self.filing = filing or SealedFiling(clock=clock, sealer=sealer)
        self.filing.files(sealed_store.SEALED_CONCERNS, self._file_sealed_concern)
        self.filing.files(sealed_store.SEALED_REPLIES, self._file_sealed_reply)

    # -- raising ----------------------------------------------------------------------------

    async def finish_flow(
        self, session: AsyncSession, member: Member, answers: Mapping[str, Any]
    ) -> tuple[Reply, ...]:
        """The end of the concerns flow: the answers become a ticket (an anonymous one once
        the leader files it); what to tell the raiser."""
        concern = rules.Concern.from_answers(answers)
        if concern.anonymous:
            handle = await self.seal_concern(session, member=member, answers=answers)
            return (
                Reply(key="concern.received_anonymous", params={"handle": handle}, sealed=True),
            )
        ticket = await self.raise_concern(session, member=member, concern=concern)
        return (Reply(key="concern.received", params={"handle": ticket.handle}),)

    async def seal_concern(
        self, session: AsyncSession, *, member: Member, answers: Mapping[str, Any]
    ) -> str:
        """Store an anonymous concern sealed, to be filed apart from the raiser's transaction;
        the handle its ticket will have."""
        handle = await self._new_handle(session)
        value = {"answers": dict(answers), "raiser": _id(member), "handle": handle}
        await self.filing.seal(session, sealed_store.SEALED_CONCERNS, value)
        return handle

    async def _file_sealed_concern(self, session: AsyncSession, sealed: Mapping[str, Any]) -> None:
        handle = str(sealed["handle"])
        if await store.handle_taken(session, handle=handle):
            handle = await self._new_handle(session)
        await self._file(
            session,
            concern=rules.Concern.from_answers(sealed["answers"]),
            raiser_id=int(sealed["raiser"]),
            handle=handle,
        )

    async def _file_sealed_reply(self, session: AsyncSession, sealed: Mapping[str, Any]) -> None:
        ticket = await store.get_ticket(session, ticket_id=int(sealed["ticket"]))
        if ticket is not None:
            await self._relay_reply(session, ticket, str(sealed["text"]))

    async def raise_concern(
        self, session: AsyncSession, *, member: Member, concern: rules.Concern
    ) -> Ticket:
        """Record a concern and send it to the responsible committee's coordinators (an
        anonymous one goes through `seal_concern` and `SealedFiling` instead)."""
        return await self._file(
            session,
            concern=concern,
            raiser_id=_id(member),
            handle=await self._new_handle(session),
            raiser=member,
        )

    async def _file(
        self,
        session: AsyncSession,
        *,
        concern: rules.Concern,
        raiser_id: int,
        handle: str,
        raiser: Member | None = None,
    ) -> Ticket:
        now = self.clock.now()
        committees = await committee_store.list_committees(session)
        handled = await committee_store.list_categories(session)
        views = [
            rules.CommitteeView(id=c.id or 0, categories=handled.get(c.id or 0, frozenset()))
            for c in committees
        ]
        committee_id = rules.route(views, concern.category)
        ticket = await store.create_ticket(
            session,
            handle=handle,
            category=concern.category,
            about=concern.about,
            urgency=concern.urgency,
            text=concern.text,
            member_id=None if concern.anonymous else raiser_id,
            committee_id=committee_id,
            now=now,
        )
        assert ticket.id is not None
        if concern.anonymous:
            await store.create_route(
                session,
                ticket_id=ticket.id,
                sealed=self.sealer.seal(raiser_id),
                raiser_tag=self.sealer.tag("raiser", raiser_id),
            )
        await store.add_event(
            session, ticket_id=ticket.id, kind="status", status=rules.RECEIVED, now=now
        )
        await ticket_media.add_media(session, ticket_id=ticket.id, items=concern.media)
        await self._to_coordinators(
            session, ticket, "ticket.new", raiser=raiser, media=concern.media
        )
        if self.posts is not None and ticket.committee_id is not None:
            # Named or anonymous, the group's card is the same: it never names the raiser.
            await self.posts.post(
                session,
                purpose=GroupPurpose.TICKETS,
                text_for=lambda t: t("group.ticket.card", **describe(ticket, t)),
                committee_id=ticket.committee_id,
                now=now,
            )
        return ticket

    async def _new_handle(self, session: AsyncSession) -> str:
        while True:
            handle = rules.handle_from(self.draw())
            if not await store.handle_taken(session, handle=handle):
                return handle

    # -- coordinators -----------------------------------------------------------------------

    async def get(self, session: AsyncSession, ticket_id: int) -> Ticket | None:
        return await store.get_ticket(session, ticket_id=ticket_id)

    async def open_tickets(self, session: AsyncSession) -> list[Ticket]:
        """Tickets not yet done or declined, oldest first."""
        return await store.list_tickets(session, statuses=sorted(rules.OPEN))

    async def card(self, session: AsyncSession, ticket: Ticket, t: Translator) -> str:
        """The ticket as coordinators see it: never who raised an anonymous one."""
        return t(
            "ticket.card",
            raiser=await self._raiser_label(session, ticket, t),
            **describe(ticket, t),
        )

    async def answer(
        self, session: AsyncSession, *, coordinator: Member, ticket: Ticket, text: str
    ) -> bool:
        """A coordinator's answer, relayed to the raiser (with a Reply button); False when the
        raiser erased their data, so nobody will read it."""
        assert ticket.id is not None
        now = self.clock.now()
        await store.add_event(
            session,
            ticket_id=ticket.id,
            kind="answer",
            text=text,
            actor_member_id=coordinator.id,
            now=now,
        )
        await store.touch(session, ticket=ticket, now=now)
        return await self._to_raiser(
            session, ticket, "ticket.to_raiser.answer", answer=html.escape(text)
        )

    async def move(
        self,
        session: AsyncSession,
        *,
        coordinator: Member,
        ticket: Ticket,
        status: str,
        reason: str | None = None,
    ) -> None:
        """Move a ticket one step on; the raiser is told. Raises ConcernError if it cannot be."""
        assert ticket.id is not None
        rules.check_move(ticket.status, status, reason)
        now = self.clock.now()
        reason = (reason or "").strip() or None
        await store.set_status(session, ticket=ticket, status=status, reason=reason, now=now)
        await store.add_event(
            session,
            ticket_id=ticket.id,
            kind="status",
            status=status,
            text=reason,
            actor_member_id=coordinator.id,
            now=now,
        )
        await self._to_raiser(
            session, ticket, f"ticket.to_raiser.{status}", reason=html.escape(reason or "")
        )

    async def escalate_overdue(self, session: AsyncSession, *, after: timedelta) -> int:
        """Send every urgent ticket nobody answered or moved on for `after` to every
        coordinator, once each, audited (never naming an anonymous raiser); how many."""
        now = self.clock.now()
        escalated = 0
        hours = f"{after.total_seconds() / 3600:g}"
        for ticket in await store.list_unanswered(
            session, urgency=rules.URGENT, raised_by=now - after
        ):
            due = rules.overdue(
                urgency=ticket.urgency, created_at=ticket.created_at, now=now, after=after
            )
            if not due or not await store.mark_escalated(session, ticket=ticket, now=now):
                continue
            await self._to_coordinators(
                session, ticket, "ticket.escalated", everyone=True, hours=hours
            )
            await audit.record(
                session,
                actor=None,
                actor_label=audit.SYSTEM_LABEL,
                action="ticket.escalated",
                detail={
                    "ticket": ticket.id,
                    "handle": ticket.handle,
                    "committee": ticket.committee_id,
                    "after_hours": after.total_seconds() / 3600,
                },
                now=now,
            )
            escalated += 1
        return escalated

    # -- raisers ----------------------------------------------------------------------------

    async def raised_by(self, session: AsyncSession, *, member: Member) -> list[Ticket]:
        """A member's own tickets, anonymous ones included, newest first."""
        return await store.list_raised(
            session, member_id=_id(member), raiser_tag=self.sealer.tag("raiser", _id(member))
        )

    async def is_raiser(self, session: AsyncSession, *, member: Member, ticket: Ticket) -> bool:
        """Whether `member` raised `ticket` (for an anonymous one, by the keyed tag)."""
        if not ticket.anonymous:
            return ticket.member_id is not None and ticket.member_id == member.id
        route = await store.get_route(session, ticket_id=_id(ticket))
        tag = self.sealer.tag("raiser", _id(member))
        return route is not None and hmac.compare_digest(route.raiser_tag, tag)

    async def reply(
        self, session: AsyncSession, *, member: Member, ticket: Ticket, text: str
    ) -> None:
        """The raiser's reply, relayed to the coordinators without who wrote it. An anonymous
        raiser's is stored sealed, and the leader writes it on the ticket in a transaction of
        its own (`SealedFiling.file_sealed`), as it files their concern."""
        if not ticket.anonymous:
            await self._relay_reply(session, ticket, text)
            return
        value = {"ticket": _id(ticket), "text": text}
        await self.filing.seal(session, sealed_store.SEALED_REPLIES, value)

    async def _relay_reply(self, session: AsyncSession, ticket: Ticket, text: str) -> None:
        assert ticket.id is not None
        now = self.clock.now()
        await store.add_event(
            session, ticket_id=ticket.id, kind="reply", text=text, from_raiser=True, now=now
        )
        await store.touch(session, ticket=ticket, now=now)
        await self._to_coordinators(session, ticket, "ticket.raiser_reply", reply=html.escape(text))

    # -- delivery ---------------------------------------------------------------------------

    async def _raiser_label(self, session: AsyncSession, ticket: Ticket, t: Translator) -> str:
        if ticket.anonymous or ticket.member_id is None:
            return t("ticket.anonymous")
        member = await repo.get_member(session, member_id=ticket.member_id)
        return html.escape(member.display_name if member and member.display_name else "?")

    async def _to_coordinators(
        self,
        session: AsyncSession,
        ticket: Ticket,
        key: str,
        *,
        raiser: Member | None = None,
        everyone: bool = False,
        media: tuple[MediaItem, ...] = (),
        **params: str,
    ) -> None:
        now = self.clock.now()
        recipients = await committee_store.list_coordinators(
            session, committee_id=None if everyone else ticket.committee_id
        )
        if not recipients:
            recipients = await committee_store.list_coordinators(session)
        for coordinator in recipients:
            t = self.catalogs.translator(coordinator.language)
            if ticket.anonymous or raiser is None:
                label = await self._raiser_label(session, ticket, t)
            else:
                label = html.escape(raiser.display_name or "?")
            text = t(key, raiser=label, **describe(ticket, t), **params)
            await outbox.enqueue(
                session,
                chat_id=coordinator.chat_id,
                member_id=coordinator.id,
                text=text,
                reply_markup=actions_keyboard(ticket, t),
                language=coordinator.language,
                source="ticket",
                now=now,
            )
            if media:
                await self._media_to(session, coordinator, ticket, media, t)

    async def _media_to(
        self,
        session: AsyncSession,
        coordinator: Member,
        ticket: Ticket,
        media: tuple[MediaItem, ...],
        t: Translator,
    ) -> None:
        """A ticket's media for one coordinator, after a line naming the ticket: each sent
        again by its file id (a place by its coordinates), captioned with the handle."""
        heading = t("ticket.media", handle=ticket.handle, count=str(len(media)))
        sends: list[tuple[str, str, str | None]] = [("text", heading, None)]
        for item in media:
            if item.kind == LOCATION:
                sends.append((item.kind, "", place_text(item.latitude, item.longitude)))
            else:
                sends.append((item.kind, ticket.handle, item.file_id))
        for kind, text, file_id in sends:
            await outbox.enqueue(
                session,
                chat_id=coordinator.chat_id,
                member_id=coordinator.id,
                kind=kind,
                text=text,
                media_file_id=file_id,
                language=coordinator.language,
                source="ticket",
                now=self.clock.now(),
            )

    async def _to_raiser(
        self, session: AsyncSession, ticket: Ticket, key: str, **params: str
    ) -> bool:
        """Tell the raiser; False when there is no raiser any more (their data was erased)."""
        raiser_id = ticket.member_id
        if ticket.anonymous:
            route = await store.get_route(session, ticket_id=_id(ticket))
            raiser_id = None if route is None else self.sealer.unseal(route.sealed)
        raiser = None if raiser_id is None else await repo.get_member(session, member_id=raiser_id)
        if raiser is None:
            return False
        if raiser.status != MemberStatus.ACTIVE:
            # Stopped or blocked: /concerns shows them where their tickets stand.
            return True
        t = self.catalogs.translator(raiser.language)
        await outbox.enqueue(
            session,
            # An anonymous raiser's messages are not filed under them: their chat is sealed and
            # their rows are deleted once delivered (or given up), see outbox.ANONYMOUS_RELAY.
            chat_id=outbox.relay_lane(_id(ticket)) if ticket.anonymous else raiser.chat_id,
            route=self.sealer.seal_route(raiser.chat_id) if ticket.anonymous else None,
            member_id=None if ticket.anonymous else raiser.id,
            text=t(key, **describe(ticket, t), **params),
            reply_markup=reply_keyboard(ticket, t),
            language=raiser.language,
            source=outbox.ANONYMOUS_RELAY if ticket.anonymous else "ticket",
            now=self.clock.now(),
        )
        return True


def _id(row: Member | Ticket) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id
