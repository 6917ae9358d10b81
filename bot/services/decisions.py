"""Decisions: a coordinator's proposal, its votes, one reminder, closing and the outcome.

A proposal goes to a committee or an audience of members. A committee bound to a group
(`bot.storage.groups`) gets a native poll in its decisions topic (found, or replaced when
deleted or closed, by the sender, as for every group post): named proposals as polls
whose votes arrive as `poll_answer` (kept per member), anonymous ones as anonymous polls whose
only data is the totals of `poll` updates. Everyone else is asked in private, with a button
per option, and may change their vote until it closes. An anonymous vote is kept apart from
the member (`bot.storage.decision_models`): the voter's transaction marks only that they voted
and seals a ballot (the decision, their keyed tag, the option and a revision), which the leader
files in a transaction of its own (`bot.services.filing`), the latest revision winning; closing
files those still waiting first, and totals shown while open count them (read, not written).

Each scheduler pass (`run_due`) reminds, once, those who have not voted (never in their quiet
hours nor over a conversation they are in: the next pass tries again), and closes what is
due, stopping its poll and asking the coordinator for the outcome statement (`decide`), which
then goes to everyone asked and the group, and into the decision log (`/decisions`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.delivery.transport import with_options
from bot.domain import decisions as rules
from bot.domain.audiences import Audience
from bot.domain.clock import Clock
from bot.domain.decisions import DecisionError
from bot.domain.due import DueRule
from bot.domain.timing import zone
from bot.i18n import Translator
from bot.services.committees import CommitteeError, Committees
from bot.services.decision_wording import (
    link_text,
    log_line,
    option_labels,
    outcome_text,
    proposal_text,
    result_text,
    tally_of,
    tally_text,
)
from bot.services.filing import Sealed, SealedFiling
from bot.services.sealing import Sealer
from bot.storage import audit, outbox, repo
from bot.storage import decisions as store
from bot.storage.audiences import list_audience
from bot.storage.ballots import SEALED_VOTES
from bot.storage.committees import list_coordinators
from bot.storage.decision_models import Decision, DecisionStatus
from bot.storage.group_models import CommitteeGroup, GroupPurpose
from bot.storage.groups import group_of_committee, group_source
from bot.storage.models import Committee, Member, MemberStatus
from bot.storage.outbox_rows import Queued, enqueue_many

MOMENT = "%Y-%m-%d %H:%M"
SOURCE = "decision"
# Group posts name their purpose: the sender finds (or replaces) the decisions topic.
GROUP_POST = group_source(GroupPurpose.DECISIONS)


class Decisions:
    """Proposals, votes, reminders, closing, outcomes and the decision log."""

    def __init__(
        self,
        *,
        clock: Clock,
        content: Content,
        sealer: Sealer,
        committees: Committees,
        rule: DueRule,
        min_group: int,
        filing: SealedFiling | None = None,
    ) -> None:
        self.clock, self.content, self.sealer = clock, content, sealer
        self.committees, self.rule, self.k = committees, rule, min_group
        self.filing = filing or SealedFiling(clock=clock, sealer=sealer)
        self.filing.files(SEALED_VOTES, self._file_vote)

    def translator(self, language: str | None) -> Translator:
        return self.content.catalogs.translator(language)

    # -- coordinators -----------------------------------------------------------------------

    async def propose(
        self,
        session: AsyncSession,
        *,
        question: str,
        closes_at: datetime,
        anonymous: bool,
        options: Sequence[str] = (),
        committee: str | None = None,
        audience: Audience | None = None,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> tuple[Decision, bool]:
        """Put a proposal to a committee (number or name) or an audience; custom `options`
        or the default four. Returns it and whether it went to a group as a poll."""
        now = self.clock.now()
        if closes_at <= now:
            raise DecisionError("closes_past")
        forum = await self._committee(session, committee) if committee else None
        chosen = Audience(committees=(forum.id or 0,)) if forum else (audience or Audience())
        members = await list_audience(session, chosen)
        if not members:
            raise DecisionError("nobody")
        decision = Decision(
            question=rules.clean_question(question),
            options=list(options) if options else list(rules.DEFAULT_OPTIONS),
            custom=bool(options),
            anonymous=anonymous,
            committee_id=forum.id if forum else None,
            audience=None if forum else chosen.to_json(),
            opened_by=actor.id if actor else None,
            opened_at=now,
            closes_at=closes_at,
            remind_at=rules.remind_at(now, closes_at),
        )
        await store.add_decision(session, decision=decision, members=members)
        group = await group_of_committee(session, committee_id=forum.id or 0) if forum else None
        if group is not None:
            await self._poll(session, decision, group)
        else:
            asking = [self._ask(decision, m, "decisions.ask") for m in members]
            await enqueue_many(session, asking, now=now)
        await self._audit(session, "decision.proposed", decision, actor, actor_label)
        return decision, group is not None

    async def decide(
        self,
        session: AsyncSession,
        *,
        ref: str | int,
        statement: str,
        actor: Member | None = None,
        actor_label: str | None = None,
    ) -> tuple[Decision, int]:
        """The coordinator's outcome statement: the outcome goes to everyone asked and the
        group, and into the log. Returns the decision and how many members were told."""
        decision = await self.get(session, ref)
        if decision.status == DecisionStatus.OPEN:
            raise DecisionError("still_open")
        if decision.status == DecisionStatus.DECIDED:
            raise DecisionError("decided")
        statement = " ".join(statement.split())
        if not statement:
            raise DecisionError("statement_blank")
        now = self.clock.now()
        decision.statement, decision.decided_at = statement, now
        decision.decided_by = actor.id if actor else None
        decision.status = DecisionStatus.DECIDED
        await store.save(session, decision)
        counts = self.frozen(decision)
        members = await store.asked_members(session, decision_id=_id(decision))

        def outcome(t: Translator) -> str:
            return outcome_text(decision, counts, t, k=self.k)

        await self._tell(session, decision, members, outcome, "outcome")
        group = await self._group(session, decision)
        if group is not None:
            t = self.translator(None)
            await outbox.enqueue(
                session,
                chat_id=group.chat_id,
                member_id=None,
                text=outcome_text(decision, counts, t, k=self.k),
                source=GROUP_POST,
                dedupe_key=f"decision:{decision.id}:outcome:group",
                now=now,
            )
        await self._audit(session, "decision.decided", decision, actor, actor_label)
        return decision, len(members)

    async def close(self, session: AsyncSession, decision: Decision) -> None:
        """Stop taking votes: the totals are frozen, the poll stopped, and whoever proposed it
        (else every coordinator) is asked for the outcome statement."""
        if decision.status != DecisionStatus.OPEN:
            raise DecisionError("not_open")
        now = self.clock.now()
        if decision.anonymous and decision.poll_outbox_id is None:
            await self.filing.file_sealed(session, kinds=(SEALED_VOTES,))
        counts = await self.counts(session, decision)
        decision.totals = {str(i): n for i, n in counts.items()}
        decision.result = rules.result(
            decision.options, tally_of(decision, counts), custom=decision.custom
        )
        decision.status, decision.closed_at = DecisionStatus.CLOSED, now
        await store.save(session, decision)
        poll = await store.poll_of(session, decision=decision)
        if poll is not None:
            await outbox.enqueue(
                session,
                chat_id=poll.chat_id,
                member_id=None,
                text="",
                kind="stop_poll",
                reply_markup=with_options(None, message_id=poll.message_id),
                source=f"{SOURCE}:{decision.id}",
                dedupe_key=f"decision:{decision.id}:stop",
                now=now,
            )
        opener = await session.get(Member, decision.opened_by) if decision.opened_by else None
        if opener is None or opener.status != MemberStatus.ACTIVE:
            told = await list_coordinators(session)
        else:
            told = [opener]

        def closed(t: Translator) -> str:
            result = result_text(decision, decision.result or "none", t)
            tally = tally_text(decision, counts, t, k=self.k)
            return t("decisions.closed", id=decision.id, result=result, tally=tally)

        def write(t: Translator) -> dict[str, Any]:
            data = rules.decide_button(_id(decision))
            return {"inline_keyboard": [[{"text": t("decisions.write"), "callback_data": data}]]}

        await self._tell(session, decision, told, closed, "closed", buttons=write)

    async def get(self, session: AsyncSession, ref: str | int) -> Decision:
        text = str(ref).strip().lstrip("#").lstrip("Dd")
        found = await store.get_decision(session, decision_id=int(text)) if text.isdigit() else None
        if found is None:
            raise DecisionError("unknown")
        return found

    async def counts(self, session: AsyncSession, decision: Decision) -> dict[int, int]:
        """Votes per option now: Telegram's totals for an anonymous poll, else ours (while
        open, anonymous ones still waiting to be filed included)."""
        if decision.anonymous and decision.poll_outbox_id is not None:
            return {int(i): n for i, n in (decision.poll_totals or {}).items()}
        if not decision.anonymous:
            return await store.count_votes(session, decision=decision)
        # Waiting ballots read first: one the leader files meanwhile is then found filed.
        open_ = decision.status == DecisionStatus.OPEN
        waiting = await self._waiting(session, _id(decision)) if open_ else []
        filed = await store.anonymous_votes(session, decision_id=_id(decision))
        return rules.counts_of(rules.latest_votes(filed, waiting))

    @staticmethod
    def frozen(decision: Decision) -> dict[int, int]:
        return {int(i): n for i, n in (decision.totals or {}).items()}

    async def log(self, session: AsyncSession, t: Translator) -> str:
        """/decisions: the decided ones (date, question, result, statement), then those open
        (their totals as the k rule lets them be seen) and those awaiting a statement."""
        lines = []
        for d in await store.list_decisions(session):
            if d.status == DecisionStatus.DECIDED:
                lines.append(log_line(d, t))
            else:
                counts = await self.counts(session, d) if d.status == "open" else self.frozen(d)
                lines.append(
                    t(
                        f"decisions.log.{d.status}",
                        id=d.id,
                        question=d.question,
                        closes=d.closes_at.strftime(MOMENT),
                        tally=tally_text(d, counts, t, k=self.k),
                    )
                )
        if not lines:
            return t("decisions.log.empty")
        return "\n\n".join([t("decisions.log.title"), *lines])

    async def link(self, session: AsyncSession, text: str, t: Translator) -> str:
        """A coordinator's text naming decisions (`#D<id>`), with each decided one told as
        "decided on <day>: …" after it."""
        found = [await store.get_decision(session, decision_id=i) for i in rules.referenced(text)]
        said = [link_text(d, t) for d in found if d and d.status == DecisionStatus.DECIDED]
        return "\n".join([text, *said])

    # -- members ----------------------------------------------------------------------------

    async def vote(
        self, session: AsyncSession, member: Member, decision_id: int, option: int
    ) -> str:
        """A button vote (changed as often as the member likes until it closes); the key to
        answer with. Raises DecisionError when the vote cannot count."""
        decision = await store.get_decision(session, decision_id=decision_id)
        voter = await store.get_voter(session, decision_id=decision_id, member_id=_id(member))
        if decision is None or voter is None:
            raise DecisionError("not_asked")
        if decision.status != DecisionStatus.OPEN:
            raise DecisionError("closed")
        if not 0 <= option < len(decision.options):
            raise DecisionError("not_asked")
        changed = voter.voted
        voter.voted = True
        if decision.anonymous:
            tag = self.sealer.tag(f"decision{decision_id}", _id(member))
            latest = await self._latest_revision(session, decision_id, tag)
            if changed and latest is None:
                raise DecisionError("kept")  # its tag predates a key rotation
            value = {"decision": decision_id, "voter": tag, "option": option}
            value["revision"] = (latest or 0) + 1
            await self.filing.seal(session, SEALED_VOTES, value)
        else:
            voter.option = option
        await store.save(session, voter)
        return "decisions.vote_changed" if changed else "decisions.voted"

    async def _waiting(
        self, session: AsyncSession, decision_id: int
    ) -> list[tuple[str, rules.Cast]]:
        """The decision's sealed votes waiting to be filed: (voter tag, (revision, option))."""
        return [
            (str(v["voter"]), (int(v["revision"]), int(v["option"])))
            for _, v in await self.filing.waiting(session, SEALED_VOTES)
            if v["decision"] == decision_id
        ]

    async def _latest_revision(
        self, session: AsyncSession, decision_id: int, tag: str
    ) -> int | None:
        """The voter's latest anonymous vote's revision, waiting or filed (the waiting ones
        read first: one filed meanwhile is then found filed)."""
        revisions = [
            r for voter, (r, _) in await self._waiting(session, decision_id) if voter == tag
        ]
        filed = await store.vote_revision(session, decision_id=decision_id, voter=tag)
        return max([*revisions, *([] if filed is None else [filed])], default=None)

    async def _file_vote(self, session: AsyncSession, sealed: Sealed) -> None:
        """The leader files a sealed anonymous vote (dropped once the decision is closed: its
        totals are frozen, and closing filed what was waiting)."""
        decision = await store.get_decision(session, decision_id=int(sealed["decision"]))
        if decision is None or decision.status != DecisionStatus.OPEN:
            return
        await store.file_vote(
            session,
            decision_id=_id(decision),
            voter=str(sealed["voter"]),
            option=int(sealed["option"]),
            revision=int(sealed["revision"]),
        )

    def option_label(self, decision: Decision, option: int, t: Translator) -> str:
        return option_labels(decision, t)[option]

    async def poll_answer(
        self, session: AsyncSession, *, poll_id: str, member: Member | None, options: Sequence[int]
    ) -> bool:
        """A named poll's vote (none: taken back), for a member it was put to."""
        decision = await store.decision_of_poll(session, poll_id=poll_id)
        if decision is None or member is None or decision.anonymous:
            return False
        if decision.status != DecisionStatus.OPEN:
            return False
        voter = await store.get_voter(session, decision_id=_id(decision), member_id=_id(member))
        if voter is None:
            return False
        voter.voted = bool(options)
        voter.option = options[0] if options else None
        await store.save(session, voter)
        return True

    async def poll_totals(
        self, session: AsyncSession, *, poll_id: str, counts: Sequence[int]
    ) -> bool:
        """An anonymous poll's totals as Telegram sent them (all it lets the bot know)."""
        decision = await store.decision_of_poll(session, poll_id=poll_id)
        if decision is None or not decision.anonymous or decision.status != DecisionStatus.OPEN:
            return False
        decision.poll_totals = {str(i): n for i, n in enumerate(counts) if n}
        await store.save(session, decision)
        return True

    # -- the scheduler ----------------------------------------------------------------------

    async def run_due(self, session: AsyncSession, now: datetime) -> int:
        """Remind who has not voted (once), then close what is due; how many were reminded."""
        reminded = 0
        for decision in await store.list_decisions(session, statuses=(DecisionStatus.OPEN,)):
            if decision.closes_at <= now:
                await self.close(session, decision)
            elif decision.remind_at <= now and not (decision.anonymous and decision.poll_outbox_id):
                # An anonymous poll tells nobody who voted: no one can be reminded alone.
                reminded += await self._remind(session, decision, now)
        return reminded

    async def _remind(self, session: AsyncSession, decision: Decision, now: datetime) -> int:
        in_group = decision.poll_outbox_id is not None
        key = "decisions.reminder_group" if in_group else "decisions.reminder"
        reminders = []
        for member in await store.to_remind(session, decision_id=_id(decision)):
            if self.rule.quiet(now, member.time_zone):
                continue
            if await repo.get_running_run(session, member_id=_id(member)) is not None:
                continue
            reminders.append(self._ask(decision, member, key, buttons=not in_group))
            await store.mark_reminded(session, decision_id=_id(decision), member_id=_id(member))
        await enqueue_many(session, reminders, now=now)
        return len(reminders)

    # -- internals --------------------------------------------------------------------------

    async def _tell(
        self,
        session: AsyncSession,
        decision: Decision,
        members: Sequence[Member],
        text: Callable[[Translator], str],
        what: str,
        buttons: Callable[[Translator], dict[str, Any]] | None = None,
    ) -> None:
        """One message to each member, in their language."""
        told = []
        for member in members:
            t = self.translator(member.language)
            told.append(
                Queued(
                    chat_id=member.chat_id,
                    member_id=member.id,
                    text=text(t),
                    reply_markup=None if buttons is None else buttons(t),
                    language=member.language,
                    source=f"{SOURCE}:{decision.id}",
                    dedupe_key=f"decision:{decision.id}:{what}:{member.id}",
                )
            )
        await enqueue_many(session, told, now=self.clock.now())

    def _ask(self, decision: Decision, member: Member, key: str, *, buttons: bool = True) -> Queued:
        """The proposal (or its reminder) for one member, in their language and time zone."""
        t = self.translator(member.language)
        local = decision.closes_at.astimezone(
            zone(member.time_zone, self.rule.partnership_timezone)
        )
        text = proposal_text(decision, t, local.strftime(MOMENT))
        if key != "decisions.ask":
            text = t(key, id=decision.id) + "\n\n" + text
        markup = None
        if buttons:
            markup = {
                "inline_keyboard": [
                    [{"text": label, "callback_data": rules.vote_button(_id(decision), i)}]
                    for i, label in enumerate(option_labels(decision, t))
                ]
            }
        return Queued(
            chat_id=member.chat_id,
            member_id=member.id,
            text=text,
            reply_markup=markup,
            language=member.language,
            source=f"{SOURCE}:{decision.id}",
            dedupe_key=f"decision:{decision.id}:{key.rsplit('.', 1)[-1]}:{member.id}",
        )

    async def _poll(self, session: AsyncSession, decision: Decision, group: CommitteeGroup) -> None:
        """The proposal as a native poll in the group's decisions topic."""
        t = self.translator(None)
        rows = await outbox.enqueue(
            session,
            chat_id=group.chat_id,
            member_id=None,
            text=f"#{decision.id} {decision.question}"[: rules.MAX_QUESTION],
            kind="poll",
            reply_markup=with_options(
                None,
                poll={"options": option_labels(decision, t), "is_anonymous": decision.anonymous},
            ),
            source=GROUP_POST,
            dedupe_key=f"decision:{decision.id}:poll",
            now=self.clock.now(),
        )
        decision.poll_outbox_id = rows[0].id
        await store.save(session, decision)

    async def _group(self, session: AsyncSession, decision: Decision) -> CommitteeGroup | None:
        if decision.committee_id is None:
            return None
        return await group_of_committee(session, committee_id=decision.committee_id)

    async def _committee(self, session: AsyncSession, ref: str) -> Committee:
        try:
            return await self.committees.find(session, ref)
        except CommitteeError:
            raise DecisionError("committee") from None

    async def _audit(
        self,
        session: AsyncSession,
        action: str,
        decision: Decision,
        actor: Member | None,
        actor_label: str | None,
    ) -> None:
        await audit.record(
            session,
            actor=actor,
            actor_label=actor_label,
            action=action,
            detail={
                "decision": decision.id,
                "committee": decision.committee_id,
                "anonymous": decision.anonymous,
                "asked": decision.asked,
            },
            now=self.clock.now(),
        )


def _id(row: Decision | Member) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id
