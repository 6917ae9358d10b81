"""Caucus rounds: a stakeholder group's own round before the joint forum.

A coordinator opens a round for one group, naming the committee (or joint forum) it will
brief; the group's members, alone, are invited to bring issues and opportunities through the
`caucus` flow (handed over here when it ends: `finish_flow`). The coordinator then shares the
results with that group only, who react (agree, disagree, add a point); closing the round
sends the committee a brief. The committee's closed rounds go side by side in a joint brief.

Every figure is k-anonymous (`bot.domain.caucus.summarise`); words are quoted only where their
author consented, and only when at least k people took part. Every coordinator action is in
the audit log; every message to someone other than the person acting goes through the outbox
in the same transaction.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.domain import caucus as rules
from bot.domain.audiences import Audience
from bot.domain.caucus import CaucusError, Summary
from bot.domain.clock import Clock
from bot.domain.engine import Reply
from bot.domain.guided import Effect, label
from bot.i18n import Translator
from bot.services.caucus_wording import brief_text, joint_text, results_text
from bot.services.committees import CommitteeError, Committees
from bot.services.sealing import Sealer
from bot.storage import audit, outbox
from bot.storage import caucus as store
from bot.storage.audiences import list_audience
from bot.storage.caucus_models import CaucusRound, CaucusStatus
from bot.storage.models import Committee, Member
from bot.storage.outbox_rows import Queued, enqueue_many

PREFIX = "cc"  # cc:<action>:<round id>, the group's buttons (bot.telegram.callbacks.CaucusAction)
FLOW = "caucus"


def button(text: str, action: str, round_id: int) -> dict[str, str]:
    return {"text": text, "callback_data": f"{PREFIX}:{action}:{round_id}"}


@dataclass(frozen=True)
class RoundLine:
    """A round as coordinators list it: no content, only how many answered."""

    round: CaucusRound
    committee: str
    invited: int
    answered: int


class Caucus:
    """Caucus rounds, their invitations, results, reactions and briefs."""

    def __init__(
        self,
        *,
        clock: Clock,
        content: Content,
        sealer: Sealer,
        committees: Committees,
        min_group: int,
    ) -> None:
        self.clock, self.content, self.sealer = clock, content, sealer
        self.committees, self.k = committees, min_group

    @property
    def groups(self) -> tuple[str, ...]:
        """The stakeholder groups a round may be opened for."""
        return tuple(self.content.flows.options_for("stakeholder_group"))

    def translator(self, language: str) -> Translator:
        return self.content.catalogs.translator(language)

    # -- coordinators -----------------------------------------------------------------------

    async def open(
        self,
        session: AsyncSession,
        *,
        group: str,
        committee: str,
        topic: str,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> tuple[CaucusRound, int]:
        """Open a round for `group` briefing `committee` (number or name); invite the group.
        Returns the round and how many members were invited."""
        if group not in self.groups:
            raise CaucusError("group", group=group)
        topic = rules.clean_topic(topic)
        forum = await self._committee(session, committee)
        now = self.clock.now()
        found, members = await store.create_round(
            session,
            group=group,
            committee_id=_id(forum),
            topic=topic,
            opened_by=actor.id if actor else None,
            now=now,
        )
        invited = []
        for member in members:
            t = self.translator(member.language)
            invited.append(
                Queued(
                    chat_id=member.chat_id,
                    member_id=member.id,
                    text=t("caucus.invite", **self._params(found, forum, t)),
                    reply_markup={
                        "inline_keyboard": [[button(t("caucus.button.join"), "join", _id(found))]]
                    },
                    language=member.language,
                    source="caucus",
                    dedupe_key=f"caucus:{found.id}:invite:{member.id}",
                )
            )
        await enqueue_many(session, invited, now=now)
        await self._audit(session, "caucus.opened", found, actor, actor_label, invited=len(members))
        return found, len(members)

    async def share(
        self,
        session: AsyncSession,
        *,
        ref: str | int,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> tuple[CaucusRound, int]:
        """Show the group, and only the group, its results, with buttons to react."""
        found = await self.get(session, ref)
        rules.may_share(found.status)
        forum = await self._forum(session, found)
        summary = await self.summary(session, found)
        now = self.clock.now()
        await store.set_status(session, round_=found, status=CaucusStatus.SHARED, now=now)
        members = await store.seated_members(session, round_id=_id(found))
        shown = []
        for member in members:
            t = self.translator(member.language)
            keyboard = {
                "inline_keyboard": [
                    [
                        button(t("caucus.button.agree"), rules.AGREE, _id(found)),
                        button(t("caucus.button.disagree"), rules.DISAGREE, _id(found)),
                    ],
                    [button(t("caucus.button.add"), rules.ADD, _id(found))],
                ]
            }
            text = results_text(summary, t, self._params(found, forum, t))
            shown.append(
                Queued(
                    chat_id=member.chat_id,
                    member_id=member.id,
                    text=text,
                    reply_markup=keyboard,
                    language=member.language,
                    source="caucus",
                    dedupe_key=f"caucus:{found.id}:results:{member.id}",
                )
            )
        await enqueue_many(session, shown, now=now)
        await self._audit(session, "caucus.shared", found, actor, actor_label, shown=len(members))
        return found, len(members)

    async def close(
        self,
        session: AsyncSession,
        *,
        ref: str | int,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> tuple[CaucusRound, Committee, int]:
        """Close the round and send its brief to the committee's members."""
        found = await self.get(session, ref)
        rules.may_close(found.status)
        forum = await self._forum(session, found)
        summary = await self.summary(session, found)
        invited, _ = await store.count_seats(session, round_id=_id(found))
        await store.set_status(
            session, round_=found, status=CaucusStatus.CLOSED, now=self.clock.now()
        )

        def text(t: Translator) -> str:
            return brief_text(summary, t, {**self._params(found, forum, t), "invited": invited})

        sent = await self._to_committee(session, forum, text, f"caucus:{found.id}:brief")
        await self._audit(session, "caucus.closed", found, actor, actor_label, briefed=sent)
        return found, forum, sent

    async def joint(
        self,
        session: AsyncSession,
        *,
        committee: str,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> tuple[Committee, list[CaucusRound], int]:
        """The committee's closed rounds not yet in a joint brief, side by side, to its
        members; returns the committee, the rounds and how many members it went to."""
        forum = await self._committee(session, committee)
        rounds = await store.awaiting_joint(session, committee_id=_id(forum))
        if not rounds:
            raise CaucusError("no_joint", committee=forum.name)
        parts = [(r, await self.summary(session, r)) for r in rounds]
        now = self.clock.now()

        def text(t: Translator) -> str:
            return joint_text(
                [(s, self._params(r, forum, t)) for r, s in parts], t, committee=forum.name
            )

        ids = [_id(r) for r in rounds]
        key = f"caucus:joint:{'-'.join(map(str, ids))}"
        sent = await self._to_committee(session, forum, text, key)
        await store.mark_joint(session, round_ids=ids, now=now)
        await audit.record(
            session,
            actor=actor,
            actor_label=actor_label,
            action="caucus.joint",
            detail={"committee": forum.id, "rounds": ids, "briefed": sent},
            now=now,
        )
        return forum, rounds, sent

    async def overview(self, session: AsyncSession) -> list[RoundLine]:
        """Every round, by number, with how many of its group answered."""
        found = []
        for r in await store.list_rounds(session):
            invited, answered = await store.count_seats(session, round_id=_id(r))
            forum = await self._forum(session, r)
            found.append(RoundLine(r, forum.name, invited, answered))
        return found

    async def get(self, session: AsyncSession, ref: str | int) -> CaucusRound:
        """A round by number."""
        text = str(ref).strip().lstrip("#")
        found = await store.get_round(session, round_id=int(text)) if text.isdigit() else None
        if found is None:
            raise CaucusError("unknown_round", ref=str(ref))
        return found

    async def summary(self, session: AsyncSession, found: CaucusRound) -> Summary:
        """What may be shown of a round's answers and reactions."""
        entries = await store.list_entries(session, round_id=_id(found))
        reactions = await store.count_reactions(session, round_id=_id(found))
        return rules.summarise(entries, k=self.k, reactions=reactions)

    # -- the group --------------------------------------------------------------------------

    async def may_take_part(self, session: AsyncSession, member: Member, round_id: int) -> str:
        """The key refusing `member` a place in the round, or "" when they may answer."""
        found = await store.get_round(session, round_id=round_id)
        if found is None or found.status == CaucusStatus.CLOSED:
            return "caucus.error.gone"
        if await store.get_seat(session, round_id=round_id, member_id=_id(member)) is None:
            return "caucus.error.not_seated"
        return ""

    async def finish_flow(
        self, session: AsyncSession, member: Member, answers: Mapping[str, Any]
    ) -> tuple[Reply, ...]:
        """The `caucus` flow's answers, kept as an entry in no one's name (the finisher)."""
        round_id = int(str(answers.get(rules.ROUND) or 0))
        refusal = await self.may_take_part(session, member, round_id) if round_id else ""
        if not round_id or refusal:
            return (Reply(key=refusal or "caucus.error.gone"),)
        found = await self.get(session, round_id)
        tag = self.sealer.tag(f"caucus{round_id}", _id(member))
        try:
            entry = rules.entry_from_answers(
                answers, respondent=tag, added=found.status == CaucusStatus.SHARED
            )
        except CaucusError:
            return (Reply(key="caucus.error.gone"),)
        await store.add_entry(session, round_id=round_id, entry=entry)
        seat = await store.get_seat(session, round_id=round_id, member_id=_id(member))
        if seat is not None and not seat.answered:
            seat.answered = True
            await store.save_seat(session, seat=seat)
        t = self.translator(member.language)
        forum = await self._forum(session, found)
        params = self._params(found, forum, t)
        return (
            Reply(
                key="caucus.thanks", params={k: params[k] for k in ("group", "topic", "committee")}
            ),
        )

    async def react(
        self, session: AsyncSession, member: Member, round_id: int, reaction: str
    ) -> str:
        """Record a member's agree or disagree, once, in no one's name; the key to answer."""
        found = await store.get_round(session, round_id=round_id)
        seat = await store.get_seat(session, round_id=round_id, member_id=_id(member))
        if found is None or seat is None:
            return "caucus.error.not_seated"
        if found.status != CaucusStatus.SHARED or reaction not in rules.REACTIONS:
            return "caucus.error.not_shared"
        if seat.reacted:
            return "caucus.error.reacted"
        seat.reacted = True
        await store.save_seat(session, seat=seat)
        await store.add_reaction(session, round_id=round_id, reaction=reaction)
        return "caucus.reacted"

    # -- internals --------------------------------------------------------------------------

    def _params(self, found: CaucusRound, forum: Committee, t: Translator) -> dict[str, Any]:
        return {
            "id": found.id,
            "group": t(f"group.{found.stakeholder_group}"),
            "topic": html.escape(found.topic),
            "committee": html.escape(forum.name),
        }

    async def _committee(self, session: AsyncSession, ref: str) -> Committee:
        try:
            return await self.committees.find(session, ref)
        except CommitteeError:
            raise CaucusError("committee", ref=ref) from None

    async def _forum(self, session: AsyncSession, found: CaucusRound) -> Committee:
        forum = await session.get(Committee, found.committee_id)
        assert forum is not None
        return forum

    async def _to_committee(
        self,
        session: AsyncSession,
        forum: Committee,
        text: Callable[[Translator], str],
        key: str,
    ) -> int:
        """One message to each active member of the committee; how many."""
        members = await list_audience(session, Audience(committees=(_id(forum),)))
        for member in members:
            t = self.translator(member.language)
            await outbox.enqueue(
                session,
                chat_id=member.chat_id,
                member_id=member.id,
                text=text(t),
                language=member.language,
                source="caucus",
                dedupe_key=f"{key}:{member.id}",
                now=self.clock.now(),
            )
        return len(members)

    async def _audit(
        self,
        session: AsyncSession,
        action: str,
        found: CaucusRound,
        actor: Member | None,
        actor_label: str | None,
        **detail: Any,
    ) -> None:
        await audit.record(
            session,
            actor=actor,
            actor_label=actor_label,
            action=action,
            detail={
                "round": found.id,
                "group": found.stakeholder_group,
                "committee": found.committee_id,
                **detail,
            },
            now=self.clock.now(),
        )


def _id(row: CaucusRound | Committee | Member) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id


class CaucusHost:
    """/caucus: the groups, committees and rounds to choose from; opening, sharing, closing
    and the joint brief, each worded back as a key and its parameters."""

    def __init__(self, caucus: Caucus) -> None:
        self.caucus = caucus

    async def facts(
        self, session: AsyncSession, member: Member, data: Mapping[str, Any]
    ) -> Mapping[str, Any]:
        c = self.caucus
        rounds = await store.list_rounds(session, statuses=(CaucusStatus.OPEN, CaucusStatus.SHARED))
        joint = []
        for committee in await c.committees.active(session):
            if await store.awaiting_joint(session, committee_id=_id(committee)):
                joint.append((_id(committee), committee.name))
        invited = 0
        if data.get("step") == "confirm" and data.get("group"):
            invited = len(await list_audience(session, Audience(groups=(str(data["group"]),))))
        elif data.get("step") == "confirm" and data.get("round"):
            invited, _ = await store.count_seats(session, round_id=int(data["round"]))
        return {
            "groups": c.groups,
            "committees": [(_id(f), f.name) for f in await c.committees.active(session)],
            "rounds": [
                {"id": r.id, "group": r.stakeholder_group, "status": r.status} for r in rounds
            ],
            "joint": joint,
            "invited": invited,
        }

    async def perform(
        self, session: AsyncSession, member: Member, effect: Effect
    ) -> Mapping[str, Any]:
        c, p = self.caucus, effect.params
        try:
            if effect.name == "open":
                found, count = await c.open(
                    session,
                    group=p["group"],
                    committee=str(p["committee"]),
                    topic=p["topic"],
                    actor=member,
                )
                return _said("caucus.opened", found, count=count)
            if effect.name == "share":
                found, count = await c.share(session, ref=p["round"], actor=member)
                return _said("caucus.shared", found, count=count)
            if effect.name == "close":
                found, forum, count = await c.close(session, ref=p["round"], actor=member)
                return _said("caucus.closed", found, committee=forum.name, count=count)
            forum, rounds, count = await c.joint(
                session, committee=str(p["committee"]), actor=member
            )
            return {
                "said": "caucus.joint_sent",
                "params": {"committee": forum.name, "rounds": len(rounds), "count": count},
            }
        except CaucusError as exc:
            return {
                "said": f"caucus.error.{exc.code}",
                "params": {k: str(v) for k, v in exc.params.items()},
            }


def _said(key: str, found: CaucusRound, **params: Any) -> dict[str, Any]:
    """A coordinator's outcome about a round, as a key and its parameters (group as a key)."""
    return {
        "said": key,
        "params": {
            "id": found.id,
            "group": label(f"group.{found.stakeholder_group}"),
            "topic": found.topic,
            **params,
        },
    }
