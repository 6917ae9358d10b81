"""Committees: created, staffed and archived by coordinators in chat and from the shell.

A committee is an audience for broadcasts and schedules (`Audience.committees`, resolved when
sending) and the place concerns are routed to (see `bot.services.concerns`): those of the
categories it declared it handles, and for the oldest active committee, the rest. Every change is
in the audit log, in the same transaction, by the member who made it or by `cli`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import concerns as rules
from bot.domain.clock import Clock
from bot.i18n import Translator
from bot.services.errors import CodedError
from bot.storage import audit, repo
from bot.storage import committees as store
from bot.storage.models import Committee, Member

NAME_LENGTH = 80


class CommitteeError(CodedError):
    """Invalid input; `code` is the last part of the locale key `committee.error.<code>`."""


@dataclass(frozen=True)
class Seat:
    """A member on a committee."""

    member: Member
    chair: bool


@dataclass(frozen=True)
class CommitteeOverview:
    """A committee and who sits on it."""

    committee: Committee
    seats: tuple[Seat, ...]
    categories: tuple[str, ...] = ()  # the concern categories it handles


class Committees:
    """The partnership's committees."""

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    async def create(
        self,
        session: AsyncSession,
        *,
        name: str,
        purpose: str | None = None,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> Committee:
        """A new committee; its name must be new (ignoring case) and not a number."""
        name = " ".join(name.split())
        if not name or len(name) > NAME_LENGTH or name.isdigit():
            raise CommitteeError("name", max=NAME_LENGTH)
        if await store.find_committee(session, name=name) is not None:
            raise CommitteeError("exists", name=name)
        try:
            async with session.begin_nested():
                committee = await store.create_committee(
                    session,
                    name=name,
                    purpose=(purpose or "").strip() or None,
                    created_by=actor.id if actor else None,
                    now=self.clock.now(),
                )
        except IntegrityError:  # created by someone else in the meantime
            raise CommitteeError("exists", name=name) from None
        await self._audit(session, "committee.created", committee, actor, actor_label)
        return committee

    async def find(self, session: AsyncSession, ref: str) -> Committee:
        """A committee by number or name; archived ones are not found."""
        ref = ref.strip()
        committee = (
            await store.get_committee(session, committee_id=int(ref))
            if ref.isdigit()
            else await store.find_committee(session, name=ref)
        )
        if committee is None or committee.archived_at is not None:
            raise CommitteeError("unknown", ref=ref)
        return committee

    async def staff(
        self,
        session: AsyncSession,
        *,
        ref: str,
        telegram_user_id: int,
        chair: bool = False,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> tuple[Committee, Member]:
        """Put the member with this Telegram id on a committee."""
        committee = await self.find(session, ref)
        member = await self._member(session, telegram_user_id)
        await store.seat(
            session,
            committee_id=_id(committee),
            member_id=_id(member),
            is_chair=chair,
            now=self.clock.now(),
        )
        await self._audit(
            session, "committee.staffed", committee, actor, actor_label, _about(member), chair=chair
        )
        return committee, member

    async def unstaff(
        self,
        session: AsyncSession,
        *,
        ref: str,
        telegram_user_id: int,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> tuple[Committee, Member]:
        """Take the member with this Telegram id off a committee."""
        committee = await self.find(session, ref)
        member = await self._member(session, telegram_user_id)
        if not await store.unseat(session, committee_id=_id(committee), member_id=_id(member)):
            raise CommitteeError("not_seated", name=member.display_name, committee=committee.name)
        await self._audit(
            session, "committee.unstaffed", committee, actor, actor_label, _about(member)
        )
        return committee, member

    async def archive(
        self,
        session: AsyncSession,
        *,
        ref: str,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> Committee:
        """Archive a committee: it keeps its tickets, but is no longer routed to or listed."""
        committee = await self.find(session, ref)
        await store.archive_committee(session, committee=committee, now=self.clock.now())
        await self._audit(session, "committee.archived", committee, actor, actor_label)
        return committee

    async def overview(self, session: AsyncSession) -> list[CommitteeOverview]:
        """Every active committee with its members."""
        found = []
        handled = await store.list_categories(session)
        for committee in await store.list_committees(session):
            seats = await store.list_seats(session, committee_id=_id(committee))
            categories = rules.check_categories(sorted(handled.get(_id(committee), ())))
            found.append(
                CommitteeOverview(committee, tuple(Seat(m, c) for m, c in seats), categories)
            )
        return found

    async def handle(
        self,
        session: AsyncSession,
        *,
        ref: str,
        categories: Sequence[str],
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> tuple[Committee, tuple[str, ...], dict[str, Committee]]:
        """The committee handles exactly these concern categories (none: it stops handling
        any); a category another committee handled moves here. The committee, its categories
        and the categories taken with the committee each came from."""
        committee = await self.find(session, ref)
        try:
            wanted = rules.check_categories(categories)
        except rules.ConcernError:
            raise CommitteeError("category", known=", ".join(rules.CATEGORIES)) from None
        taken = await store.set_categories(
            session, committee_id=_id(committee), categories=wanted, now=self.clock.now()
        )
        moved = {}
        for category, previous in taken.items():
            owner = await store.get_committee(session, committee_id=previous)
            if owner is not None:
                moved[category] = owner
        await self._audit(
            session,
            "committee.categories_set",
            committee,
            actor,
            actor_label,
            categories=list(wanted),
            taken_from={c: owner.id for c, owner in moved.items()},
        )
        return committee, wanted, moved

    async def active(self, session: AsyncSession) -> list[Committee]:
        """Active committees, oldest first (for audience pickers)."""
        return await store.list_committees(session)

    async def _audit(
        self,
        session: AsyncSession,
        action: str,
        committee: Committee,
        actor: Member | None,
        actor_label: str | None,
        about: dict[str, Any] | None = None,
        **detail: Any,
    ) -> None:
        await audit.record(
            session,
            actor=actor,
            actor_label=actor_label,
            action=action,
            detail={"committee": committee.id, "name": committee.name, **(about or {}), **detail},
            now=self.clock.now(),
        )

    async def _member(self, session: AsyncSession, telegram_user_id: int) -> Member:
        member = await repo.get_member_by_telegram_id(session, telegram_user_id=telegram_user_id)
        if member is None:
            raise CommitteeError("unknown_member", id=telegram_user_id)
        return member


def category_names(categories: Sequence[str], t: Translator) -> str:
    """Concern categories as their names, e.g. "Trust, Resources"."""
    return ", ".join(t(f"concern.category.{c}") for c in categories)


def categories_said(
    committee: Committee, categories: Sequence[str], moved: Mapping[str, Committee], t: Translator
) -> list[str]:
    """What a coordinator reads once a committee declared its categories (chat and CLI)."""
    name = html.escape(committee.name)
    if not categories:
        return [t("committee.categories_none", committee=name)]
    lines = [
        t("committee.categories_set", committee=name, categories=category_names(categories, t))
    ]
    for category, owner in moved.items():
        lines.append(
            t(
                "committee.categories_moved",
                category=t(f"concern.category.{category}"),
                committee=html.escape(owner.name),
            )
        )
    return lines


def _about(member: Member) -> dict[str, Any]:
    """Who a change is about, as the audit log keeps it: never the name."""
    return {"target_member_id": member.id, "target": audit.member_label(member)}


def _id(row: Committee | Member) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id
