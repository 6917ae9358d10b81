"""Leader election on PostgreSQL, in process: one leader at a time, takeover when it goes."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cluster.leader import Leadership
from bot.storage.db import create_engine

POLL_S = 0.1


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        pytest.skip("TEST_DATABASE_URL is not set: leader election needs PostgreSQL")
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


class Log:
    """Records each candidate's elections and depositions, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def candidate(self, engine: AsyncEngine, name: str, namespace: str) -> Leadership:
        async def elected() -> None:
            self.events.append(f"{name} leads")

        async def deposed() -> None:
            self.events.append(f"{name} stops")

        return Leadership(
            engine,
            namespace=namespace,
            poll_interval=POLL_S,
            on_elected=elected,
            on_deposed=deposed,
        )


async def until(condition: object, timeout: float = 10.0) -> None:
    assert callable(condition)
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_one_leader_then_the_other_when_it_stops(engine: AsyncEngine) -> None:
    log = Log()
    namespace = f"t_{uuid.uuid4().hex[:8]}"
    first = log.candidate(engine, "first", namespace)
    second = log.candidate(engine, "second", namespace)
    await first.start()
    await second.start()
    try:
        assert first.is_leader and not second.is_leader
        await asyncio.sleep(3 * POLL_S)  # the follower keeps trying, and keeps failing
        assert not second.is_leader
        await first.stop()  # stops leading, then releases the lock
        await until(lambda: second.is_leader)
        assert log.events == ["first leads", "first stops", "second leads"]
    finally:
        await second.stop()
        await first.stop()


async def test_a_leader_whose_session_dies_is_replaced(engine: AsyncEngine) -> None:
    log = Log()
    namespace = f"t_{uuid.uuid4().hex[:8]}"
    first = log.candidate(engine, "first", namespace)
    second = log.candidate(engine, "second", namespace)
    await first.start()
    await second.start()
    try:
        assert first._connection is not None
        # What a SIGKILL does to the leader's session: PostgreSQL ends it, freeing the lock.
        raw = await first._connection.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.close()
        await until(lambda: second.is_leader)
        await until(lambda: not first.is_leader)  # it noticed, and stepped down
        assert log.events.count("second leads") == 1
    finally:
        await second.stop()
        await first.stop()


async def test_namespaces_do_not_contend(engine: AsyncEngine) -> None:
    log = Log()
    one = log.candidate(engine, "one", f"t_{uuid.uuid4().hex[:8]}")
    other = log.candidate(engine, "other", f"t_{uuid.uuid4().hex[:8]}")
    await one.start()
    await other.start()
    try:
        assert one.is_leader and other.is_leader
    finally:
        await one.stop()
        await other.stop()


def test_sqlite_always_leads(tmp_path: Path) -> None:
    async def main() -> bool:
        engine = create_engine(f"sqlite:///{tmp_path / 'one.db'}")
        log = Log()
        alone = log.candidate(engine, "alone", "public")
        await alone.start()
        try:
            return alone.is_leader
        finally:
            await alone.stop()
            await engine.dispose()

    assert asyncio.run(main())
