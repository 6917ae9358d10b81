"""The hosts of the commitments' guided conversations: recording a commitment (coordinators)
and proposing a variation (any partner concerned)."""

from __future__ import annotations

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.commitments import CommitmentError, CommitmentSpec
from bot.domain.guided import Data, Effect
from bot.services.commitments import Commitments, describe
from bot.storage import commitments as store
from bot.storage.models import Member


class CommitmentHost:
    """/new_commitment: the organisations and the owner's people to pick from; recording."""

    def __init__(self, commitments: Commitments) -> None:
        self.commitments = commitments

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        owner = data.get("owner")
        people = await store.members_of(session, organisations=(owner,)) if owner else []
        return {
            "organisations": tuple(await store.list_organisations(session)),
            "people": tuple((p.id, p.display_name or str(p.id)) for p in people),
            "today": self.commitments.today(),
        }

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        p = effect.params
        spec = CommitmentSpec(
            owner_org=str(p["owner"]),
            what=str(p["what"]),
            due_on=date.fromisoformat(str(p["due"])),
            beneficiary=str(p["beneficiary"]),
            source=str(p.get("source") or ""),
        )
        person = p.get("person")
        try:
            row = await self.commitments.create(
                session, spec=spec, actor=member, owner_member_id=int(person) if person else None
            )
        except CommitmentError as exc:
            return {"error": (exc.key, dict(exc.params))}
        return {"id": row.id}


class VariationHost:
    """A variation: the commitment it is about; logging and announcing it."""

    def __init__(self, commitments: Commitments) -> None:
        self.commitments = commitments

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        found = None
        if data.get("commitment"):
            found = await store.get_commitment(session, commitment_id=int(data["commitment"]))
        t = self.commitments.content.catalogs.translator(member.language)
        return {
            "commitment": None if found is None else describe(found, t),
            "today": self.commitments.today(),
        }

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        p = effect.params
        variation = await self.commitments.propose(
            session,
            member=member,
            commitment_id=int(p["commitment"]),
            kind=str(p["kind"]),
            text=str(p["text"]),
            new_due_on=date.fromisoformat(str(p["due"])) if p.get("due") else None,
        )
        return {"id": None if variation is None else variation.id}
