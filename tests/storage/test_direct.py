"""Hot-path writes (`bot.storage.direct`): the session's transaction, its conversions, its errors.

On SQLite they run on the session's own connection, past SQLAlchemy's execution layers; on
PostgreSQL through the session. Either way they must behave as a statement run through the
session would.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Column, Integer, MetaData, Table, event, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from bot.storage import direct, migrate, repo
from bot.storage.db import SessionFactory, create_engine, create_session_factory
from bot.storage.models import Answer, FlowRun, Member, MemberRole, MemberStatus, ProcessedUpdate

NOW = datetime(2026, 11, 25, 9, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str, database_schema: str | None) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url, schema=database_schema)
    await migrate.upgrade(engine)
    try:
        yield create_session_factory(engine)
    finally:
        await engine.dispose()


def _member(telegram_user_id: int) -> Member:
    return Member(
        telegram_user_id=telegram_user_id,
        chat_id=telegram_user_id,
        display_name="Amina",
        language="en",
        role=MemberRole.MEMBER,
        status=MemberStatus.ACTIVE,
        consent_at=NOW,
        joined_at=NOW,
        updated_at=NOW,
    )


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


async def test_a_rolled_back_session_leaves_no_direct_write(sessions: SessionFactory) -> None:
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


async def test_pending_orm_changes_are_written_first(sessions: SessionFactory) -> None:
    async with sessions() as session:
        member = _member(8)
        session.add(member)  # pending: the answer below refers to it
        await session.flush()
        member.display_name = "Amina K."  # dirty, not flushed
        table = Answer.__table__  # type: ignore[attr-defined]
        await direct.write(
            session,
            insert(table),
            {"member_id": member.id, "flow_id": "f", "question_key": "q", "kind": "text",
             "value_text": "hello", "skipped": False, "anonymous": False, "quotable": False,
             "proxy": False, "created_at": NOW},
        )  # fmt: skip
        changed = await direct.write(
            session,
            update(Member.__table__).where(Member.__table__.c.display_name == "Amina K."),  # type: ignore[attr-defined]
            {"language": "fr"},
        )
        assert changed == 1
        await session.commit()
    async with sessions() as session:
        stored = (await session.exec(select(Member))).one()
        assert (stored.display_name, stored.language) == ("Amina K.", "fr")
        assert (await session.exec(select(Answer.value_text))).all() == ["hello"]


async def test_a_constraint_failure_raises_sqlalchemys_error(sessions: SessionFactory) -> None:
    async with sessions() as session:
        table = Answer.__table__  # type: ignore[attr-defined]
        with pytest.raises(IntegrityError):
            await direct.write(
                session,
                insert(table),
                {"member_id": 999_999, "flow_id": "f", "question_key": "q", "kind": "text",
                 "skipped": False, "anonymous": False, "quotable": False, "proxy": False,
                 "created_at": NOW},
            )  # fmt: skip


async def test_on_sqlite_the_hot_writes_skip_sqlalchemys_execution(
    sessions: SessionFactory,
) -> None:
    async with sessions() as session:
        engine = session.get_bind()
        if engine.dialect.name != "sqlite":
            pytest.skip("the direct path is SQLite's")
        executed: list[str] = []
        event.listen(engine, "before_cursor_execute", lambda *args: executed.append(args[2]))
        member = await repo.create_member(
            session, telegram_user_id=9, chat_id=9, display_name="Amina", language="en", now=NOW
        )
        await repo.update_member(session, member=member, changes={"language": "fr"}, now=NOW)
        await repo.claim_update(session, update_id=1, now=NOW)
        await session.commit()
        assert not [sql for sql in executed if not sql.startswith("BEGIN")]
    async with sessions() as session:
        assert (await session.exec(select(Member.language))).all() == ["fr"]


async def test_a_python_side_default_takes_the_ordinary_path(sessions: SessionFactory) -> None:
    metadata = MetaData()
    table = Table(
        "direct_default", metadata,
        Column("id", Integer, primary_key=True), Column("n", Integer, default=lambda: 5),
    )  # fmt: skip
    async with sessions() as session:
        connection = await session.connection()
        await connection.run_sync(metadata.create_all)
        assert await direct.write(session, insert(table), {"id": 1}) == 1
        assert (await session.exec(select(table.c.n))).all() == [5]
