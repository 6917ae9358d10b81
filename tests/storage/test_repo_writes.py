"""Hot-path writes (prebuilt statements in `bot.storage.repo`): the session's transaction and
the column types' conversions, as the ORM reads them back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.storage import repo
from bot.storage.db import SessionFactory
from bot.storage.models import FlowRun, ProcessedUpdate

NOW = datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)


async def test_writes_convert_values_as_the_orm_reads_them(sessions: SessionFactory) -> None:
    async with sessions() as session:
        member = await repo.create_member(
            session, telegram_user_id=7, chat_id=7, display_name="Amina", language="en", now=NOW
        )
        assert member.id is not None
        run = await repo.create_run(
            session, member_id=member.id, flow_id="onboarding", flow_version=1, node_id="lang",
            answers={}, selected=(), now=NOW,
        )  # fmt: skip
        later = NOW + timedelta(minutes=5)
        await repo.save_run_state(
            session, run=run, node_id=None, answers={"group": "community", "n": 3},
            selected=["a", "b"], now=later,
        )  # fmt: skip
        await session.commit()
    async with sessions() as session:
        stored = (await session.exec(select(FlowRun))).one()
    assert stored.id == run.id
    assert stored.answers == {"group": "community", "n": 3}
    assert stored.selected == ["a", "b"]
    assert stored.status == "done"
    assert stored.started_at == NOW and stored.finished_at == later
    assert stored.started_at.tzinfo is not None


async def test_a_rolled_back_session_leaves_no_claim(sessions: SessionFactory) -> None:
    async with sessions() as session:
        assert await repo.claim_update(session, update_id=41, now=NOW)
        await session.rollback()
        # a new transaction in the same session, on whichever connection it gets
        assert await repo.claim_update(session, update_id=42, now=NOW)
        await session.commit()
    async with sessions() as session:
        ids = (await session.exec(select(ProcessedUpdate.update_id))).all()
        assert list(ids) == [42]
        assert await repo.claim_update(session, update_id=42, now=NOW) is False
        assert await repo.claim_update(session, update_id=43, now=NOW) is True
