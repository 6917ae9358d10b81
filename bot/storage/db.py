"""The async database engine and session factory, for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    async_sessionmaker,
    create_async_engine,
)
from sqlmodel.ext.asyncio.session import AsyncSession

SessionFactory = async_sessionmaker[AsyncSession]
SQLITE_BUSY_TIMEOUT_MS = 15_000


def normalise_url(url: str) -> str:
    """Pick the async driver for a plain `sqlite://` or `postgresql://` URL."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def create_engine(url: str, *, schema: str | None = None, **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; SQLite gets WAL and write-first transactions.

    `schema` (PostgreSQL only) puts every table in that schema instead of `public`.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        if schema:
            kwargs.setdefault("connect_args", {})["server_settings"] = {"search_path": schema}
        kwargs.setdefault("pool_size", 10)
        kwargs.setdefault("max_overflow", 10)
        return create_async_engine(url, pool_pre_ping=True, **kwargs)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    # SQLAlchemy, not the driver, opens transactions: see the "begin" hook below.
    kwargs.setdefault("connect_args", {})["isolation_level"] = None
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # A writer waits for another connection's lock in aiosqlite's thread, never the loop's.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # A deferred transaction that reads, then writes, fails at once with SQLITE_BUSY when
        # another writer got in between; taking the write lock up front makes it wait instead
        # (SQLAlchemy's documented recipe for SQLite transactions).
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def create_session_factory(engine: AsyncEngine) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


class UpdateSessions:
    """Sessions for handling updates, one unit of work (one transaction) each.

    SQLite has one writer at a time, so the units queue for one lock here, which wakes them in
    order where a waiting `BEGIN` would poll for the database's lock. Running
    one at a time, they share one connection and one session: opening a session per update (a
    pool checkout, a fresh identity map, a close) costs more than an answer's statements. Each
    unit still starts clean: its own transaction, an empty identity map and `info`. Elsewhere
    (PostgreSQL) each unit gets a session of its own from the pool, and they run in parallel.
    """

    def __init__(self, factory: SessionFactory) -> None:
        self.factory = factory
        self._engine: AsyncEngine = factory.kw["bind"]
        self.serialised = self._engine.dialect.name == "sqlite"
        self._writer: asyncio.Lock | None = asyncio.Lock() if self.serialised else None
        self._connection: AsyncConnection | None = None
        self._session: AsyncSession | None = None

    @contextlib.asynccontextmanager
    async def unit(self) -> AsyncIterator[AsyncSession]:
        """A session for one unit of work; what it leaves uncommitted is rolled back."""
        if self._writer is None:
            async with self.factory() as session:
                yield session
            return
        async with self._writer:
            session = await self._shared()
            try:
                yield session
            finally:
                try:
                    if session.in_transaction():
                        await session.rollback()
                finally:
                    session.expunge_all()
                    session.info.clear()

    async def _shared(self) -> AsyncSession:
        if self._session is None:
            self._connection = await self._engine.connect()
            self._session = self.factory(bind=self._connection)
        return self._session

    async def close(self) -> None:
        """Give the shared connection back (before the engine is disposed of)."""
        if self._writer is None:
            return
        async with self._writer:
            session, self._session = self._session, None
            connection, self._connection = self._connection, None
            if session is not None:
                await session.close()
            if connection is not None:
                await connection.close()
