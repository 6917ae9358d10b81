"""One rule wakes what waits on a transaction: called once it commits, never if it rolls back,
never carried over to the session's next transaction."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import select

from bot.storage.db import SessionFactory, after_commit, create_session_factory, note_queued


async def test_a_call_waits_for_the_commit_and_runs_once(sessions: SessionFactory) -> None:
    calls: list[str] = []

    def woken() -> None:
        calls.append("woken")

    async with sessions() as session:
        after_commit(session, woken)
        after_commit(session, woken)
        assert calls == []
        await session.commit()
        assert calls == ["woken"]
        await session.commit()
    assert calls == ["woken"]


async def test_a_rolled_back_transaction_wakes_nothing(sessions: SessionFactory) -> None:
    calls: list[str] = []
    async with sessions() as session:
        await session.exec(select(1))
        after_commit(session, lambda: calls.append("woken"))
        await session.rollback()
        await session.commit()
    assert calls == []


async def test_queued_rows_wake_the_sender_once_committed(sessions: SessionFactory) -> None:
    engine = sessions.kw["bind"]
    assert isinstance(engine, AsyncEngine)
    woken: list[str] = []
    factory = create_session_factory(engine, after_queueing=lambda: woken.append("sender"))
    async with factory() as session:
        note_queued(session)
        after_commit(session, lambda: woken.append("filing"))
        await session.commit()
        await session.commit()
    assert sorted(woken) == ["filing", "sender"]
