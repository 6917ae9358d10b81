"""Invitations: links that carry a stakeholder group or a committee seat into onboarding.

A coordinator (in chat or from the shell) makes a link; a person opening it is remembered
against their consent question only (a keyed hash, see `bot.storage.keys`) until they consent,
then on the member, and the link counts them. Onboarding is given the link's group, shown first
for the member to confirm, and its committee, whose seat the member may take; a member who
opens a committee link later is offered the seat too (`seat_for_member`, `take_seat`).
"""

from __future__ import annotations

import html
import io
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import segno
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.domain import invites as rules
from bot.domain.clock import Clock
from bot.domain.engine import Reply, SavedAnswer
from bot.domain.invites import InviteState, Limits, Nominee
from bot.i18n import Translator
from bot.services.committees import CommitteeError, Committees
from bot.services.errors import CodedError
from bot.storage import audit
from bot.storage import committees as seats
from bot.storage import invites as store
from bot.storage.models import Committee, Invite, Member

LABEL_LENGTH = 200
NO_LIMITS = Limits()
QR_SCALE = 8  # pixels per module: a phone reads it from a printed A4 poster across a stall


class InviteError(CodedError):
    """Invalid input; `code` is the last part of the locale key `invite.error.<code>`."""


@dataclass(frozen=True)
class SeatOffer:
    """A committee seat a link offers to someone who is already a member."""

    invite_id: int
    committee: str


@dataclass(frozen=True)
class InviteLine:
    """A link as coordinators see it: what it carries, whether it admits, who joined."""

    invite: Invite
    committee: str | None
    state: InviteState
    joined: int


def describe(line: InviteLine, t: Translator) -> dict[str, str]:
    """What a link carries and its limits, worded for the `invite.created` and `invite.line`
    keys (HTML-escaped; the link itself is added by the caller, who knows the bot's name)."""
    invite, committee = line.invite, line.committee
    targets = []
    if invite.stakeholder_group is not None:
        group = t(f"group.{invite.stakeholder_group}")
        targets.append(t("invite.target.group", group=html.escape(group)))
    if invite.committee_id is not None:
        name = committee or f"#{invite.committee_id}"
        targets.append(t("invite.target.committee", committee=html.escape(name)))
    if invite.label:
        targets.append(html.escape(invite.label))
    limits = ""
    if invite.expires_at is not None:
        limits += t("invite.limit.until", date=invite.expires_at.strftime("%Y-%m-%d %H:%M UTC"))
    if invite.max_uses is not None:
        limits += t("invite.limit.uses", count=invite.max_uses)
    return {"id": str(invite.id), "target": ", ".join(targets), "limits": limits}


def qr_png(url: str) -> bytes:
    """A QR code of `url` as a PNG (black on white, with the quiet zone scanners need)."""
    out = io.BytesIO()
    segno.make(url, error="m").save(out, kind="png", scale=QR_SCALE)
    return out.getvalue()


class Invitations:
    """Make, list and revoke links; admit those who open one."""

    def __init__(
        self,
        *,
        clock: Clock,
        committees: Committees,
        content: Content,
    ) -> None:
        self.clock = clock
        self.committees = committees
        self.content = content

    @property
    def groups(self) -> tuple[str, ...]:
        """The stakeholder groups onboarding offers now (read through the content holder)."""
        return self.content.groups

    async def create(
        self,
        session: AsyncSession,
        *,
        group: str | None = None,
        committee: str | None = None,
        label: str | None = None,
        limits: Limits = NO_LIMITS,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> InviteLine:
        """A new link for a stakeholder group, a committee, or both."""
        if group is not None and group not in self.groups:
            raise InviteError("group", group=group, known=", ".join(self.groups))
        seat: Committee | None = None
        if committee is not None:
            try:
                seat = await self.committees.find(session, committee)
            except CommitteeError:
                raise InviteError("committee", ref=committee) from None
        if group is None and seat is None:
            raise InviteError("nothing")
        label = " ".join((label or "").split())[:LABEL_LENGTH] or None
        now = self.clock.now()
        invite = await store.create_invite(
            session,
            token=secrets.token_urlsafe(rules.TOKEN_BYTES),
            stakeholder_group=group,
            committee_id=None if seat is None else seat.id,
            label=label,
            created_by=None if actor is None else actor.id,
            expires_at=limits.expiry(now),
            max_uses=limits.uses,
            now=now,
        )
        detail = {"invite": invite.id, "group": group, "committee": invite.committee_id}
        await audit.record(
            session,
            actor=actor,
            actor_label=actor_label,
            action="invite.created",
            detail=detail,
            now=now,
        )
        return InviteLine(invite, None if seat is None else seat.name, InviteState.OPEN, 0)

    async def invite_nominees(
        self, session: AsyncSession, nominees: Sequence[Nominee], *, actor_label: str | None
    ) -> list[InviteLine]:
        """A personal link (for one person) per nominee, all or none: an error names the row
        (`params["row"]`) and the caller rolls back. The names stay out of the database."""
        made = []
        for nominee in nominees:
            try:
                made.append(
                    await self.create(
                        session,
                        group=nominee.group,
                        committee=nominee.committee,
                        limits=Limits(uses=1),
                        actor_label=actor_label,
                    )
                )
            except InviteError as exc:
                raise InviteError(exc.code, row=nominee.row, **exc.params) from None
        return made

    async def overview(self, session: AsyncSession) -> list[InviteLine]:
        """Every link, newest first, with the members who joined through it."""
        names = {c.id: c.name for c in await self.committees.active(session)}
        now = self.clock.now()
        return [
            InviteLine(
                invite,
                names.get(invite.committee_id) if invite.committee_id else None,
                _state(invite, now),
                joined,
            )
            for invite, joined in await store.list_invites(session)
        ]

    async def revoke(
        self,
        session: AsyncSession,
        *,
        invite_id: int,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> Invite:
        """Stop a link from admitting anyone; those who joined through it stay."""
        invite = await store.get_invite(session, invite_id=invite_id)
        if invite is None:
            raise InviteError("unknown", id=invite_id)
        if invite.revoked_at is None:
            now = self.clock.now()
            await store.revoke_invite(session, invite=invite, now=now)
            await audit.record(
                session,
                actor=actor,
                actor_label=actor_label,
                action="invite.revoked",
                detail={"invite": invite_id},
                now=now,
            )
        return invite

    async def opened(self, session: AsyncSession, *, token: str, tag: str | None) -> InviteState:
        """Someone opened the bot with `token`: if it admits them and they are not a member
        yet (`tag`: their consent tag), remember it against their consent question (asked
        just before)."""
        invite = await store.find_invite(session, token=token) if rules.is_token(token) else None
        if invite is None:
            return InviteState.UNKNOWN
        found = _state(invite, self.clock.now())
        if found is InviteState.OPEN and tag is not None and invite.id is not None:
            await store.remember_for_consent(session, tag=tag, invite_id=invite.id)
        return found

    async def given(self, session: AsyncSession, tag: str) -> Mapping[str, Any]:
        """What onboarding is given for the person with this consent tag: the group and the
        committee of the link they opened, if it still admits them."""
        invite = await self._admitting(session, tag)
        if invite is None:
            return {}
        given: dict[str, Any] = {}
        if invite.stakeholder_group in self.groups:
            given[rules.INVITED_GROUP] = invite.stakeholder_group
        if invite.committee_id is not None:
            given[rules.INVITED_COMMITTEE] = str(invite.committee_id)
        return given

    async def joined(self, session: AsyncSession, member: Member, tag: str) -> None:
        """The person consented: the link they opened (still admitting) counts them and is
        kept on the member."""
        invite = await self._admitting(session, tag)
        if invite is None or invite.id is None:
            return
        await store.count_use(session, invite_id=invite.id)
        member.invite_id = invite.id
        session.add(member)
        await session.flush()

    async def take_up(
        self, session: AsyncSession, member: Member, answers: Iterable[SavedAnswer]
    ) -> tuple[Reply, ...]:
        """The member's answer to the committee seat their link offered: "yes" seats them."""
        value = next((a.value for a in answers if a.key == rules.COMMITTEE_SEAT), None)
        invite = None
        if member.invite_id is not None:
            invite = await store.get_invite(session, invite_id=member.invite_id)
        if value != "yes" or invite is None or invite.committee_id is None:
            return ()
        try:
            committee, _ = await self.committees.staff(
                session,
                ref=str(invite.committee_id),
                telegram_user_id=member.telegram_user_id,
                actor=member,
            )
        except CommitteeError:  # archived since the link was made
            return (Reply(key="invite.seat.gone"),)
        return (Reply(key="invite.seat.taken", params={"committee": committee.name}),)

    async def seat_for_member(
        self, session: AsyncSession, *, token: str, member: Member
    ) -> SeatOffer | None:
        """A member opened a link: the committee seat it offers them, if the link admits them
        and they do not sit there yet (they confirm it with `take_seat`)."""
        invite = await self._seat_link(session, token=token, member=member)
        if invite is None or invite.id is None or invite.committee_id is None:
            return None
        try:
            committee = await self.committees.find(session, str(invite.committee_id))
        except CommitteeError:  # archived since the link was made
            return None
        return SeatOffer(invite.id, committee.name)

    async def take_seat(
        self, session: AsyncSession, *, invite_id: int, member: Member
    ) -> Reply | None:
        """The member confirmed the seat a link offered them: seated (audited as on
        onboarding) and counted on the link, unless it closed meanwhile or they sit there
        already (None: nothing to say again)."""
        invite = await store.get_invite(session, invite_id=invite_id)
        if invite is None or invite.committee_id is None:
            return None
        if await self._seat_link(session, token=invite.token, member=member) is None:
            seated = member.id is not None and await seats.is_seated(
                session, committee_id=invite.committee_id, member_id=member.id
            )
            return None if seated else Reply(key="invite.seat.closed")
        try:
            committee, _ = await self.committees.staff(
                session,
                ref=str(invite.committee_id),
                telegram_user_id=member.telegram_user_id,
                actor=member,
            )
        except CommitteeError:
            return Reply(key="invite.seat.gone")
        if member.invite_id != invite.id:  # joining through it, they were counted already
            await store.count_use(session, invite_id=invite_id)
        return Reply(key="invite.seat.taken", params={"committee": committee.name})

    async def _seat_link(
        self, session: AsyncSession, *, token: str, member: Member
    ) -> Invite | None:
        """The committee link with this token, if it can still seat the member."""
        invite = await store.find_invite(session, token=token) if rules.is_token(token) else None
        if invite is None or invite.committee_id is None or member.id is None:
            return None
        joined_by_it = member.invite_id == invite.id
        if _state(invite, self.clock.now()) is not InviteState.OPEN and not joined_by_it:
            return None
        seated = await seats.is_seated(
            session, committee_id=invite.committee_id, member_id=member.id
        )
        return None if seated else invite

    async def _admitting(self, session: AsyncSession, tag: str) -> Invite | None:
        invite_id = await store.invite_for_consent(session, tag=tag)
        invite = None if invite_id is None else await store.get_invite(session, invite_id=invite_id)
        if invite is None or _state(invite, self.clock.now()) is not InviteState.OPEN:
            return None
        return invite


def _state(invite: Invite, now: Any) -> InviteState:
    return rules.state(
        now=now,
        expires_at=invite.expires_at,
        max_uses=invite.max_uses,
        uses=invite.uses,
        revoked_at=invite.revoked_at,
    )
