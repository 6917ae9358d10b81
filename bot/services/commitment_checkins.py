"""Delivery check-ins of commitments and the counter-parties' anonymous ratings.

Each pass of the scheduler (`run_due`) asks the owner of every commitment not yet done how
delivery goes, some days before the due date and on it (`bot.domain.commitments.stages_due`),
through the `commitment_checkin` flow; on the due date, or as soon as the owner reports it done,
the members of the partner it is for rate delivery and spirit through the anonymous
`commitment_rating` flow. A member is asked once per commitment, purpose and due date (a varied
due date asks again), never in their quiet hours (`DueRule.quiet`, as other check-ins) nor over
a conversation they are in (the next pass asks). Both flows hand their answers to the finishers
here: a check-in answer becomes the commitment's status; a rating is added to the commitment's
running sums and kept nowhere else.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.domain import commitments as rules
from bot.domain import engine
from bot.domain.clock import Clock
from bot.domain.due import DueRule
from bot.domain.engine import Reply
from bot.services.commitments import describe
from bot.services.conversations import Message
from bot.services.rendering import render
from bot.storage import commitments as store
from bot.storage import outbox, repo
from bot.storage.commitment_models import Commitment
from bot.storage.committees import list_coordinators
from bot.storage.models import Member

log = logging.getLogger(__name__)
CHECKIN_FLOW, RATING_FLOW = "commitment_checkin", "commitment_rating"
# The answers the code gives the flows before they start (their `given:`).
GIVEN_COMMITMENT, GIVEN_STAGE = "commitment", "stage"
WORRYING = ("at_risk", "blocked")


class CommitmentCheckins:
    """Asks owners and counter-parties; takes their answers over when the flows end."""

    def __init__(
        self,
        *,
        clock: Clock,
        content: Content,
        rule: DueRule,
        lead: timedelta = timedelta(days=3),
        at: time = time(10, 0),
    ) -> None:
        self.clock, self.content, self.rule = clock, content, rule
        self.lead, self.at = lead, at

    async def run_due(self, session: AsyncSession, now: datetime) -> int:
        """Ask whoever is due a check-in or a rating now; how many were asked."""
        asked = 0
        for c in await store.list_commitments(session):
            stages = () if c.status == "done" else self._stages(c, now)
            for stage in stages:
                for owner in await self._owners(session, c):
                    asked += await self._ask(session, owner, c, stage, now)
            if c.status == "done" or rules.DUE in stages or self._past_due(c, now):
                asked += await self.ask_raters(session, c, now)
        return asked

    def _stages(self, c: Commitment, now: datetime) -> tuple[str, ...]:
        return rules.stages_due(
            c.due_on, now=now, lead=self.lead, at=self.at, tz=self.rule.partnership
        )

    def _past_due(self, c: Commitment, now: datetime) -> bool:
        moments = rules.checkin_moments(
            c.due_on, lead=self.lead, at=self.at, tz=self.rule.partnership
        )
        return moments[rules.DUE] <= now

    async def _owners(self, session: AsyncSession, c: Commitment) -> list[Member]:
        """The person named, or every active member of the owner organisation."""
        if c.owner_member_id is not None:
            person = await repo.get_member(session, member_id=c.owner_member_id)
            return [] if person is None or person.status != "active" else [person]
        return await store.members_of(session, organisations=(c.owner_org,))

    async def ask_raters(self, session: AsyncSession, c: Commitment, now: datetime) -> int:
        """Ask the members of the partner the commitment is for (none of the owner's) to
        rate it; how many were asked."""
        owners = {m.id for m in await store.members_of(session, organisations=(c.owner_org,))}
        raters = await store.members_of(session, organisations=(c.beneficiary,))
        asked = 0
        for rater in raters:
            if rater.id not in owners:
                asked += await self._ask(session, rater, c, rules.RATE, now)
        return asked

    async def _ask(
        self, session: AsyncSession, member: Member, c: Commitment, purpose: str, now: datetime
    ) -> int:
        """Open the flow for one member and queue its first question, unless they were asked
        already, it is their quiet hours or they are in a conversation; 1 if asked."""
        flow_id = RATING_FLOW if purpose == rules.RATE else CHECKIN_FLOW
        flow = self.content.flows.get(flow_id)
        if flow is None or member.id is None or self.rule.quiet(now, member.time_zone):
            return 0
        if await repo.get_running_run(session, member_id=member.id) is not None:
            return 0
        commitment_id = _id(c)
        if not await store.mark_prompted(
            session,
            commitment_id=commitment_id,
            member_id=member.id,
            purpose=purpose,
            due_on=c.due_on,
            now=now,
        ):
            return 0
        step = engine.start(flow)
        given = {GIVEN_COMMITMENT: str(commitment_id), GIVEN_STAGE: purpose}
        run = await repo.create_run(
            session,
            member_id=member.id,
            flow_id=flow.id,
            flow_version=flow.version,
            node_id=step.state.node_id,
            answers={**step.state.answers, **given},
            selected=(),
            now=now,
        )
        t = self.content.catalogs.translator(member.language)
        parts = [
            t(
                f"commitments.ask.{purpose}",
                commitment=describe(c, t),
                owner=html.escape(c.owner_org),
            )
        ]
        keyboard = None
        for reply in step.replies:
            rendered = render(Message(reply, run.id or 0), t, {"name": member.display_name})
            parts.append(rendered.text)
            keyboard = rendered.keyboard or keyboard
        await outbox.enqueue(
            session,
            chat_id=member.chat_id,
            member_id=member.id,
            text="\n\n".join(parts),
            reply_markup=keyboard,
            language=t.locale,
            source=f"commitment:{commitment_id}",
            dedupe_key=f"commitment:{commitment_id}:{purpose}:{c.due_on}:{member.id}",
            asks_run=run.id,
            now=now,
        )
        return 1

    async def finish_checkin(
        self, session: AsyncSession, member: Member, answers: Mapping[str, Any]
    ) -> tuple[Reply, ...]:
        """The owner's answer: the commitment now stands there; at risk or blocked, the
        coordinators are told; done, the partner it is for is asked to rate it."""
        c = await _commitment(session, answers)
        status = str(answers.get("status", ""))
        if c is None or status not in rules.DELIVERY_STATES:
            return (Reply(key="commitments.gone"),)
        now = self.clock.now()
        note = str(answers["note"])[: rules.MAX_NOTE] if answers.get("note") else None
        stage = str(answers.get(GIVEN_STAGE, rules.DUE))
        await store.record_update(
            session,
            commitment=c,
            member_id=member.id,
            stage=stage,
            status=status,
            note=note,
            now=now,
        )
        if status in WORRYING:
            await self._alert(session, c, member, status, note, now)
        if status == "done":
            await self.ask_raters(session, c, now)
        return ()

    async def _alert(
        self,
        session: AsyncSession,
        c: Commitment,
        member: Member,
        status: str,
        note: str | None,
        now: datetime,
    ) -> None:
        for coordinator in await list_coordinators(session):
            t = self.content.catalogs.translator(coordinator.language)
            text = t(
                "commitments.alert",
                status=t(f"commitments.status.{status}"),
                commitment=describe(c, t),
                note=html.escape(note or "–"),
                name=html.escape(member.display_name),
            )
            await outbox.enqueue(
                session,
                chat_id=coordinator.chat_id,
                member_id=coordinator.id,
                text=text,
                language=t.locale,
                source=f"commitment:{c.id}",
                now=now,
            )

    async def finish_rating(
        self, session: AsyncSession, member: Member, answers: Mapping[str, Any]
    ) -> tuple[Reply, ...]:
        """A counter-party's ratings, added to the commitment's running sums (nothing else is
        kept: the run goes too)."""
        c = await _commitment(session, answers)
        low, high = rules.RATING_SCALE
        try:
            delivery, spirit = int(answers["delivery"]), int(answers["spirit"])
        except (KeyError, TypeError, ValueError):
            return (Reply(key="commitments.gone"),)
        if c is None or not (low <= delivery <= high and low <= spirit <= high):
            return (Reply(key="commitments.gone"),)
        await store.add_rating(session, commitment_id=_id(c), delivery=delivery, spirit=spirit)
        return ()


async def _commitment(session: AsyncSession, answers: Mapping[str, Any]) -> Commitment | None:
    raw = str(answers.get(GIVEN_COMMITMENT, ""))
    if not raw.isdigit():
        return None
    return await store.get_commitment(session, commitment_id=int(raw))


def _id(c: Commitment) -> int:
    assert c.id is not None
    return c.id
