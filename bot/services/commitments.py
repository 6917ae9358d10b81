"""The commitments register: recording commitments (chat, CLI, CSV), the board every member
reads (`/commitments`), and the variations and disputes log.

Delivery check-ins and the counter-parties' ratings are `bot.services.commitment_checkins`';
the coordinators' report is `bot.services.commitment_report`'s.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.domain import commitments as rules
from bot.domain.clock import Clock
from bot.domain.commitments import CommitmentError, CommitmentSpec
from bot.i18n import Translator
from bot.storage import audit, outbox, repo
from bot.storage import commitments as store
from bot.storage.commitment_models import Commitment, Variation
from bot.storage.committees import list_coordinators
from bot.storage.models import Member, MemberRole

COORDINATING = (MemberRole.COORDINATOR, MemberRole.ADMIN)


@dataclass(frozen=True)
class OpenCommitment:
    """An open commitment, as another feature reads it (a champion's handover briefing)."""

    id: int
    what: str
    due_on: date
    beneficiary: str
    status: str
    source: str
    owner_member_id: int | None


async def open_commitments_of(session: AsyncSession, organisation: str) -> list[OpenCommitment]:
    """The organisation's commitments not yet done, by due date (names compare without case)."""
    rows = await store.list_commitments(session, organisation=organisation, open_only=True)
    return [
        OpenCommitment(
            _id(c), c.what, c.due_on, c.beneficiary, c.status, c.source, c.owner_member_id
        )
        for c in sorted(rows, key=lambda c: (c.due_on, _id(c)))
    ]


def is_coordinator(member: Member | None) -> bool:
    return member is not None and member.role in COORDINATING


def describe(c: Commitment, t: Translator) -> str:
    """One commitment in a line: who, what, for whom, by when, where it stands."""
    status = t(f"commitments.status.{c.status}")
    text = t(
        "commitments.line",
        id=c.id,
        what=html.escape(c.what),
        beneficiary=html.escape(c.beneficiary),
        due=c.due_on.isoformat(),
        status=status,
    )
    if c.source:
        text += "\n  " + t("commitments.line_source", source=html.escape(c.source))
    return text


class Commitments:
    """Records commitments, shows them, and keeps the variations log."""

    def __init__(self, *, clock: Clock, content: Content, min_group: int = 5) -> None:
        self.clock, self.content = clock, content
        self.min_group = min_group  # k: the fewest raters whose means are shown

    def today(self) -> date:
        return self.clock.now().date()

    async def create(
        self,
        session: AsyncSession,
        *,
        spec: CommitmentSpec,
        actor: Member | None,
        owner_member_id: int | None = None,
    ) -> Commitment:
        """Record a commitment (checked); its owner person by member id, or by the spec's
        Telegram user id. Audited."""
        spec = rules.checked(spec, today=self.today())
        if owner_member_id is None and spec.person is not None:
            person = await repo.get_member_by_telegram_id(session, telegram_user_id=spec.person)
            if person is None:
                raise CommitmentError("commitments.error.person", value=spec.person)
            owner_member_id = person.id
        now = self.clock.now()
        row = await store.add_commitment(
            session,
            spec=spec,
            owner_member_id=owner_member_id,
            created_by=None if actor is None else actor.id,
            now=now,
        )
        await audit.record(
            session,
            actor=actor,
            actor_label=None if actor is not None else audit.CLI_LABEL,
            action="commitment.created",
            detail={"commitment": row.id, "owner": row.owner_org, "due": row.due_on.isoformat()},
            now=now,
        )
        return row

    async def import_csv(
        self, session: AsyncSession, text: str, *, actor: Member | None
    ) -> tuple[list[Commitment], list[rules.CsvProblem]]:
        """Every line of a CSV, or none when any line is wrong (the problems say which)."""
        specs, problems = rules.parse_csv(text, today=self.today())
        if problems:
            return [], problems
        made: list[Commitment] = []
        for number, spec in enumerate(specs, start=2):
            try:
                async with session.begin_nested():
                    made.append(await self.create(session, spec=spec, actor=actor))
            except CommitmentError as exc:
                problems.append(rules.CsvProblem(number, exc.key, dict(exc.params)))
        if problems:
            await session.rollback()
            return [], problems
        return made, []

    async def board(self, session: AsyncSession, t: Translator) -> str:
        """What each partner committed to and where it stands, open variations marked."""
        rows = await store.list_commitments(session)
        if not rows:
            return t("commitments.none")
        open_variations = {
            v.commitment_id for v in await store.list_variations(session, open_only=True)
        }
        lines, owner = [t("commitments.board_title")], None
        for c in rows:
            if owner is None or c.owner_org.casefold() != owner.casefold():
                owner = c.owner_org
                lines.append(f"\n<b>{html.escape(owner)}</b>")
            line = describe(c, t)
            if c.id in open_variations:
                line += "\n  " + t("commitments.line_varied")
            lines.append(line)
        return "\n".join(lines)

    async def concerning(self, session: AsyncSession, member: Member) -> list[Commitment]:
        """The commitments a member may propose a change to: their organisation's, or those
        for it; every one for a coordinator."""
        rows = await store.list_commitments(session)
        if is_coordinator(member):
            return rows
        return [c for c in rows if rules.concerned(c.owner_org, c.beneficiary, member.organisation)]

    async def propose(
        self,
        session: AsyncSession,
        *,
        member: Member,
        commitment_id: int,
        kind: str,
        text: str,
        new_due_on: date | None,
    ) -> Variation | None:
        """Log a variation or dispute and show it to the partners concerned (to respond) and
        to the coordinators (to decide); None if the member is not a party to it."""
        c = await store.get_commitment(session, commitment_id=commitment_id)
        if c is None or kind not in rules.VARIATION_KINDS:
            return None
        party = rules.concerned(c.owner_org, c.beneficiary, member.organisation)
        if not (party or is_coordinator(member)):
            return None
        now = self.clock.now()
        variation = await store.add_variation(
            session,
            commitment_id=commitment_id,
            proposed_by=member.id,
            kind=kind,
            text=text[: rules.MAX_NOTE],
            new_due_on=new_due_on,
            now=now,
        )
        partners = await store.members_of(session, organisations=(c.owner_org, c.beneficiary))
        coordinators = await list_coordinators(session)
        party_ids = {p.id for p in partners}
        for reader in _unique([*partners, *coordinators]):
            if reader.id == member.id:
                continue
            choices: tuple[str, ...] = ()
            if reader.id in party_ids:
                choices += rules.RESPONSES
            if is_coordinator(reader):
                choices += rules.OUTCOMES
            await self._tell(
                session,
                reader,
                self._proposal_text(c, variation, member, reader),
                choices=choices,
                variation=variation,
                key=f"proposed:{reader.id}",
            )
        return variation

    def _proposal_text(self, c: Commitment, v: Variation, by: Member, reader: Member) -> str:
        t = self.content.catalogs.translator(reader.language)
        text = t(
            f"commitments.variation.proposed.{v.kind}",
            organisation=html.escape(by.organisation or "–"),
            commitment=describe(c, t),
            text=html.escape(v.text),
        )
        if v.new_due_on is not None:
            text += "\n" + t("commitments.variation.new_due", due=v.new_due_on.isoformat())
        return text

    async def respond(
        self, session: AsyncSession, *, member: Member, variation_id: int, choice: str
    ) -> str:
        """A partner's response to an open variation; the key of the toast to show."""
        v = await store.get_variation(session, variation_id=variation_id)
        if v is None or v.status != rules.OPEN or choice not in rules.RESPONSES:
            return "commitments.variation.closed"
        c = await store.get_commitment(session, commitment_id=v.commitment_id)
        if c is None or not rules.concerned(c.owner_org, c.beneficiary, member.organisation):
            return "commitments.variation.not_party"
        assert member.id is not None
        await store.respond(
            session,
            variation_id=variation_id,
            member_id=member.id,
            choice=choice,
            now=self.clock.now(),
        )
        return "commitments.variation.responded"

    async def decide(
        self, session: AsyncSession, *, coordinator: Member, variation_id: int, outcome: str
    ) -> str:
        """A coordinator settles a variation: the outcome is recorded, an accepted new due date
        applied, the partners concerned told. Audited. The key of the toast to show."""
        v = await store.get_variation(session, variation_id=variation_id)
        if v is None or v.status != rules.OPEN or outcome not in rules.OUTCOMES:
            return "commitments.variation.closed"
        c = await store.get_commitment(session, commitment_id=v.commitment_id)
        if c is None:
            return "commitments.variation.closed"
        now = self.clock.now()
        await store.decide(session, variation=v, outcome=outcome, by=coordinator.id, now=now)
        if outcome == rules.ACCEPTED and v.new_due_on is not None:
            c.due_on, c.updated_at = v.new_due_on, now
            session.add(c)
        await audit.record(
            session,
            actor=coordinator,
            action="commitment.variation_decided",
            detail={"commitment": c.id, "variation": v.id, "outcome": outcome},
            now=now,
        )
        counts = await store.count_responses(session, variation_id=_id(v))
        partners = await store.members_of(session, organisations=(c.owner_org, c.beneficiary))
        for reader in partners:
            t = self.content.catalogs.translator(reader.language)
            text = t(
                f"commitments.variation.outcome.{outcome}",
                commitment=describe(c, t),
                text=html.escape(v.text),
                agree=counts.get("agree", 0),
                disagree=counts.get("disagree", 0),
            )
            await self._tell(session, reader, text, variation=v, key=f"outcome:{reader.id}")
        return f"commitments.variation.decided.{outcome}"

    async def _tell(
        self,
        session: AsyncSession,
        reader: Member,
        text: str,
        *,
        variation: Variation,
        key: str,
        choices: Sequence[str] = (),
    ) -> None:
        t = self.content.catalogs.translator(reader.language)
        markup = None
        if choices:
            row = [
                {
                    "text": t(f"commitments.variation.button.{choice}"),
                    "callback_data": rules.variation_button(_id(variation), choice),
                }
                for choice in choices
            ]
            markup = {"inline_keyboard": [row[i : i + 2] for i in range(0, len(row), 2)]}
        await outbox.enqueue(
            session,
            chat_id=reader.chat_id,
            member_id=reader.id,
            text=text,
            reply_markup=markup,
            language=t.locale,
            source=f"variation:{variation.id}",
            dedupe_key=f"variation:{variation.id}:{key}",
            now=self.clock.now(),
        )


def _unique(members: Sequence[Member]) -> list[Member]:
    seen: dict[int | None, Member] = {}
    for m in members:
        seen.setdefault(m.id, m)
    return list(seen.values())


def _id(row: Commitment | Variation) -> int:
    assert row.id is not None
    return row.id
