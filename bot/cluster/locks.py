"""PostgreSQL advisory locks shared by all instances of one deployment, and a liveness ping.

Keys are derived from a namespace (the database schema) so that deployments, and tests, that
share one PostgreSQL database in different schemas never contend for each other's locks.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession


def advisory_key(*parts: object) -> int:
    """A signed 64-bit advisory-lock key for `parts`, stable across processes and versions."""
    name = ":".join(str(part) for part in ("partnerbot", *parts))
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def lock_chat(session: AsyncSession, *, namespace: str, chat_id: int) -> None:
    """Hold one chat's lock until the session's transaction ends (PostgreSQL only).

    Two instances handling two updates of one member queue here, so the second reads the
    conversation state the first committed.
    """
    connection = await session.connection()
    key = advisory_key(namespace, "chat", chat_id)
    await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


async def ping(engine: AsyncEngine) -> None:
    """One round trip to the database; raises when it does not answer."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


@contextlib.asynccontextmanager
async def startup_lock(engine: AsyncEngine, *, namespace: str) -> AsyncIterator[None]:
    """Instances starting together take turns at migrating and seeding (PostgreSQL only)."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = advisory_key(namespace, "startup")
    connection = await engine.connect()
    try:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        await connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            yield
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
    finally:
        await connection.close()
