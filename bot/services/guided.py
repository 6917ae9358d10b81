"""The host of guided commands: stores drafts per (member, kind), looks up each machine's facts,
carries out its effects, and decides which open draft a typed input goes to (the most recently
touched one). Returns what to show as domain `Say`s; the router renders them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.domain.guided import Data, Effect, Input, Label, Machine, Say, Turn
from bot.storage import repo
from bot.storage.models import Draft, Member, MemberRole


class Host(Protocol):
    """A machine's I/O: the facts its steps read, and the effects they ask for."""

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data: ...

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data: ...


class NoHost:
    """For a machine that needs no facts and has no effects."""

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        return {}

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        return {}


@dataclass(frozen=True)
class Guide:
    """A machine, its host, and how long an untouched draft stays open (None: until closed)."""

    machine: Machine
    host: Host = field(default_factory=NoHost)
    lapse: timedelta | None = None


@dataclass(frozen=True)
class Shown:
    """What the router shows for one input: messages, a toast, whether to redraw the pressed
    message, and the other drafts left open (by kind) when this one started or closed."""

    kind: str
    says: tuple[Say, ...] = ()
    step: str = ""  # the draft's step now, that its buttons carry ("" once closed)
    toast: Label | None = None
    alert: bool = False
    redraw: bool = False
    open_others: tuple[str, ...] = ()


def may_use(machine: Machine, member: Member | None) -> bool:
    """Whether `member` may hold this kind of draft (checked at every input)."""
    if member is None:
        return False
    return machine.role == "member" or member.role in (MemberRole.COORDINATOR, MemberRole.ADMIN)


class Guides:
    """Every guided command, by kind and by command."""

    def __init__(self, guides: Sequence[Guide], *, clock: Clock) -> None:
        self.by_kind = {g.machine.kind: g for g in guides}
        self.clock = clock

    def machine(self, kind: str) -> Machine | None:
        guide = self.by_kind.get(kind)
        return None if guide is None else guide.machine

    @property
    def commands(self) -> dict[str, str]:
        """Command -> kind."""
        return {g.machine.command: k for k, g in self.by_kind.items() if g.machine.command}

    async def open_drafts(self, session: AsyncSession, member: Member | None) -> list[Draft]:
        """The member's open guided drafts, most recently touched first. Lapsed ones go, and so
        do those the member may no longer hold (a demoted coordinator's): what they type then
        goes on to their questionnaire."""
        if member is None or member.id is None:
            return []
        now, found = self.clock.now(), []
        for draft in await repo.list_drafts(session, member_id=member.id):
            guide = self.by_kind.get(draft.kind)
            if guide is None:
                continue
            lapsed = guide.lapse is not None and now - draft.updated_at > guide.lapse
            if lapsed or not may_use(guide.machine, member):
                await repo.delete_draft(session, member_id=member.id, kind=draft.kind)
                continue
            found.append(draft)
        return found

    async def begin(self, session: AsyncSession, member: Member, kind: str, args: str) -> Shown:
        """Start a draft of `kind` (replacing an unfinished one of the same kind only)."""
        guide = self.by_kind[kind]
        facts = await self._facts(session, member, guide, {})
        shown = await self._apply(session, member, guide, {}, guide.machine.start(args, facts))
        return replace(shown, open_others=await self._others(session, member, kind))

    async def typed(self, session: AsyncSession, member: Member, got: Input) -> Shown | None:
        """A typed input for the most recently touched draft; None if none is open."""
        drafts = await self.open_drafts(session, member)
        if not drafts:
            return None
        return await self._step(session, member, self.by_kind[drafts[0].kind], drafts[0], got)

    async def press(
        self, session: AsyncSession, member: Member, kind: str, step: str, got: Input
    ) -> Shown | None:
        """A button of a draft's step; None if that draft is gone or at another step."""
        guide = self.by_kind[kind]
        draft = next((d for d in await self.open_drafts(session, member) if d.kind == kind), None)
        if draft is None or guide.machine.step_of(draft.data) != step:
            return None
        return await self._step(session, member, guide, draft, got)

    async def perform(
        self, session: AsyncSession, member: Member, kind: str, effect: Effect
    ) -> Shown:
        """An effect a button elsewhere asks for, worded by the machine; no draft involved."""
        machine = self.by_kind[kind].machine
        outcome = await self.by_kind[kind].host.perform(session, member, effect)
        return Shown(kind, machine.settle({}, effect, outcome).says)

    async def cancel(self, session: AsyncSession, member: Member) -> Shown | None:
        """/cancel drops the most recently touched draft; None if none is open."""
        drafts = await self.open_drafts(session, member)
        if not drafts:
            return None
        kind = drafts[0].kind
        await self._drop(session, member, kind)
        says = (Say(self.by_kind[kind].machine.cancelled),)
        return Shown(kind, says, open_others=await self._others(session, member, kind))

    async def resume(self, session: AsyncSession, member: Member, kind: str) -> Shown | None:
        """Touch a draft so that typing goes to it again, and ask its question again."""
        guide = self.by_kind[kind]
        draft = next((d for d in await self.open_drafts(session, member) if d.kind == kind), None)
        if draft is None:
            return None
        await self._save(session, member, kind, draft.data)
        facts = await self._facts(session, member, guide, draft.data)
        return Shown(kind, guide.machine.show(draft.data, facts), guide.machine.step_of(draft.data))

    async def _step(
        self, session: AsyncSession, member: Member, guide: Guide, draft: Draft, got: Input
    ) -> Shown:
        """Step the draft; name the others still open if it closed."""
        facts = await self._facts(session, member, guide, draft.data)
        turn = guide.machine.step(draft.data, got, facts)
        shown = await self._apply(session, member, guide, draft.data, turn)
        kind = guide.machine.kind
        if await self._still_open(session, member, kind):
            return shown
        return replace(shown, open_others=await self._others(session, member, kind))

    async def _apply(
        self, session: AsyncSession, member: Member, guide: Guide, data: Data, turn: Turn
    ) -> Shown:
        machine, says = guide.machine, list(turn.says)
        if turn.effect is not None:
            outcome = await guide.host.perform(session, member, turn.effect)
            settled = machine.settle(turn.data or data, turn.effect, outcome)
            turn = replace(settled, says=(*turn.says, *settled.says))
            says = list(turn.says)
        if turn.data is None:
            if member.id is not None:
                await self._drop(session, member, machine.kind)
        else:
            await self._save(session, member, machine.kind, turn.data)
            if turn.show:
                facts = await self._facts(session, member, guide, turn.data)
                says += machine.show(turn.data, facts)
        step = "" if turn.data is None else machine.step_of(turn.data)
        return Shown(
            machine.kind,
            tuple(says),
            step,
            toast=turn.toast,
            alert=turn.alert,
            redraw=turn.redraw,
        )

    async def _facts(
        self, session: AsyncSession, member: Member, guide: Guide, data: Data
    ) -> Mapping[str, Any]:
        own = await guide.host.facts(session, member, data)
        return {"language": member.language, "now": self.clock.now(), **own}

    async def _others(self, session: AsyncSession, member: Member, kind: str) -> tuple[str, ...]:
        return tuple(d.kind for d in await self.open_drafts(session, member) if d.kind != kind)

    async def _still_open(self, session: AsyncSession, member: Member, kind: str) -> bool:
        return member.id is not None and (
            await repo.get_draft(session, member_id=member.id, kind=kind) is not None
        )

    async def _save(self, session: AsyncSession, member: Member, kind: str, data: Data) -> None:
        assert member.id is not None
        await repo.save_draft(
            session, member_id=member.id, kind=kind, data=data, now=self.clock.now()
        )

    async def _drop(self, session: AsyncSession, member: Member, kind: str) -> None:
        assert member.id is not None
        await repo.delete_draft(session, member_id=member.id, kind=kind)
