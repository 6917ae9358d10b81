"""The one audience filter: who a broadcast, a schedule or a digest reaches."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.audiences import Audience
from bot.storage import audiences, committees, migrate, repo
from bot.storage.db import SessionFactory, create_engine, create_session_factory
from bot.storage.models import Member, MemberRole, MemberStatus

NOW = datetime(2026, 1, 5, 9, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str, database_schema: str | None) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url, schema=database_schema)
    await migrate.upgrade(engine)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


async def _member(
    session: AsyncSession, number: int, group: str, language: str, role: str = MemberRole.MEMBER
) -> Member:
    member = await repo.create_member(
        session,
        telegram_user_id=number,
        chat_id=number,
        display_name=f"M{number}",
        language=language,
        role=role,
        now=NOW,
    )
    await repo.update_member(
        session,
        member=member,
        changes={"stakeholder_group": group},
        now=NOW,
    )
    return member


@pytest.mark.parametrize(
    ("audience", "expected"),
    [
        (Audience(), [1, 2, 3, 4]),
        (Audience(groups=("community",)), [1, 2]),
        (Audience(languages=("fr",)), [2, 4]),
        (Audience(groups=("community",), languages=("fr",)), [2]),
        (Audience(committees=(1,)), [3, 4]),
        (Audience(committees=(1,), languages=("en",)), [3]),
    ],
)
async def test_an_audience_is_its_active_members_in_every_part(
    sessions: SessionFactory, audience: Audience, expected: list[int]
) -> None:
    async with sessions() as session:
        await _member(session, 1, "community", "en")
        await _member(session, 2, "community", "fr")
        third = await _member(session, 3, "municipality", "en", MemberRole.COORDINATOR)
        fourth = await _member(session, 4, "municipality", "fr")
        gone = await _member(session, 5, "community", "fr")
        await repo.update_member(
            session, member=gone, changes={"status": MemberStatus.STOPPED}, now=NOW
        )
        committee = await committees.create_committee(
            session, name="Evaluation", purpose=None, created_by=None, now=NOW
        )
        for seated in (third, fourth, gone):
            assert committee.id is not None and seated.id is not None
            await committees.seat(
                session, committee_id=committee.id, member_id=seated.id, is_chair=False, now=NOW
            )
        await session.commit()
    async with sessions() as session:
        members = await audiences.list_audience(session, audience)
        assert [m.telegram_user_id for m in members] == expected
        assert await audiences.count_audience(session, audience) == len(expected)
