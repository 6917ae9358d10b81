"""The async database engine and session factory, for SQLite (WAL) and PostgreSQL."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlmodel import Session
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings

Row = TypeVar("Row")

SessionFactory = async_sessionmaker[AsyncSession]
SQLITE_BUSY_TIMEOUT_MS = 15_000
log = logging.getLogger(__name__)


def normalise_url(url: str) -> str:
    """Pick the async driver for a plain `sqlite://` or `postgresql://` URL."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


class DatabaseUnreachableError(RuntimeError):
    """The database did not answer at start-up."""


# SQLSTATE classes that mean "try again": connection exceptions (08), transaction rollbacks
# such as serialization failures and deadlocks (40), insufficient resources (53), operator
# intervention: a statement timeout, a server shutting down or starting (57).
TRANSIENT_SQLSTATE_CLASSES = frozenset({"08", "40", "53", "57"})
# SQLite's words for another connection holding the lock past the busy timeout.
SQLITE_BUSY_WORDS = ("database is locked", "database is busy", "database table is locked")


def is_transient(exc: BaseException) -> bool:
    """Whether `exc` says the database could not be used for now (a lost or refused
    connection, a timeout, a lock held elsewhere), so that trying again later may succeed;
    false for what would fail the same way again (a bug, a constraint, a missing table)."""
    if isinstance(exc, DatabaseUnreachableError | OSError | TimeoutError | sa_exc.TimeoutError):
        return True
    if not isinstance(exc, sa_exc.DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa_exc.InterfaceError):
        return True
    sqlstate = getattr(exc.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate[:2] in TRANSIENT_SQLSTATE_CLASSES
    message = str(exc.orig).lower()
    return isinstance(exc, sa_exc.OperationalError) and any(w in message for w in SQLITE_BUSY_WORDS)


def describe_error(exc: BaseException) -> str:
    """The error in one short line (database errors carry their statement on further lines)."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text[:200]


def engine_for(settings: Settings) -> AsyncEngine:
    """The engine the settings describe (URL, schema, PostgreSQL's timeouts and pool)."""
    return create_engine(
        settings.database_url,
        schema=settings.database_schema,
        connect_timeout_s=settings.database_connect_timeout_s,
        statement_timeout_s=settings.database_statement_timeout_s,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )


def create_engine(
    url: str,
    *,
    schema: str | None = None,
    connect_timeout_s: float = 10.0,
    statement_timeout_s: float = 30.0,
    pool_size: int = 10,
    max_overflow: int = 10,
    **kwargs: Any,
) -> AsyncEngine:
    """An engine for `url`; on SQLite, WAL and write-first transactions on one connection.

    SQLite has one writer at a time. The engine's pool holds one connection, so the bot's
    transactions queue for it in order (an asyncio wait, woken when the holder commits) rather
    than polling for the file's lock in SQLite's busy handler; the connection is held from a
    transaction's first statement to its commit only. Long reads go through `create_reader`.
    On PostgreSQL, `schema` puts every table in that schema instead of `public`; the pool
    opens at most `pool_size + max_overflow` connections.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        server = {"statement_timeout": str(round(statement_timeout_s * 1000))}
        if schema:
            server["search_path"] = schema
        kwargs.setdefault("connect_args", {}).update(
            server_settings=server,
            # asyncpg's, handshake included (a server that accepts and never answers).
            timeout=connect_timeout_s,
            # The server cancels a slow statement itself, with a clear error; this later
            # limit only catches a server that stopped answering altogether.
            command_timeout=statement_timeout_s + connect_timeout_s,
        )
        return create_async_engine(
            url, pool_pre_ping=True, pool_size=pool_size, max_overflow=max_overflow, **kwargs
        )

    database = parsed.database or ":memory:"
    if database != ":memory:" and not database.startswith("file:"):
        _private_file(Path(database))
    kwargs.setdefault("pool_timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    return _sqlite_engine(url, begin="BEGIN IMMEDIATE", pool_size=1, max_overflow=0, **kwargs)


def _sqlite_engine(url: str, *, begin: str, **kwargs: Any) -> AsyncEngine:
    # SQLAlchemy, not the driver, opens transactions: see the "begin" hook below.
    kwargs.setdefault("connect_args", {})["isolation_level"] = None
    engine = create_async_engine(url, **kwargs)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # A writer waits for another process's lock in aiosqlite's thread, never the loop's.
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # An answer the member saw acknowledged survives a power cut (NORMAL could lose it).
        cursor.execute("PRAGMA synchronous=FULL")
        # Deleted rows (a withdrawn concern, a forgotten member) are overwritten, not left in
        # free pages for anyone who reads the file.
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # SQLAlchemy's documented recipe for SQLite transactions. A writer's BEGIN IMMEDIATE
        # takes the write lock up front: a deferred transaction that reads, then writes, would
        # fail at once with SQLITE_BUSY when another process wrote in between.
        connection.exec_driver_sql(begin)

    return engine


def _private_file(path: Path) -> None:
    """Create the database file readable by its owner only (SQLite gives its -wal and -shm
    files the database's mode); narrow one that others could read."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    for each in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
        try:
            if each.stat().st_mode & 0o077:
                each.chmod(0o600)
                log.warning("%s could be read by others; it is now its owner's only", each)
        except FileNotFoundError:
            continue
        except OSError as exc:
            log.warning("%s can be read by others and could not be narrowed: %s", each, exc)


def create_reader(engine: AsyncEngine) -> AsyncEngine:
    """An engine for long reads (reports, exports, health): each transaction sees one snapshot,
    takes no write lock and can write nothing.

    On SQLite it has a pool of its own, so a report never waits for the writer's connection
    nor keeps writers waiting (WAL lets readers and the writer work side by side); on
    PostgreSQL it shares the engine's pool.
    """
    if engine.dialect.name != "sqlite":
        return engine.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    reader = _sqlite_engine(engine.url.render_as_string(hide_password=False), begin="BEGIN")

    @event.listens_for(reader.sync_engine, "connect")
    def _read_only(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return reader


async def check_reachable(engine: AsyncEngine, *, connect_timeout_s: float) -> None:
    """One round trip to the database; DatabaseUnreachableError naming its address otherwise."""
    url = engine.url
    where = f"{url.host or 'localhost'}:{url.port or 5432}"
    try:
        async with engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    except TimeoutError:
        raise DatabaseUnreachableError(
            f"the database at {where} did not answer within {connect_timeout_s:g} s "
            "(DATABASE_CONNECT_TIMEOUT_S); is PostgreSQL up and reachable?"
        ) from None
    except OSError as exc:
        raise DatabaseUnreachableError(
            f"could not connect to the database at {where}: {exc.strerror or exc}"
        ) from None


# In a session's `info`: its transaction queued outbox rows for the claiming sender.
QUEUED_FOR_SENDER = "queued_for_sender"
# In a session's `info`: what to call once its transaction commits (a dict: each call once).
AFTER_COMMIT = "after_commit"


def note_queued(session: AsyncSession) -> None:
    """The transaction queued outbox rows: the sender is woken once it commits."""
    session.info[QUEUED_FOR_SENDER] = True


def after_commit(session: AsyncSession, call: Callable[[], None]) -> None:
    """Call `call` once the session's transaction commits, never if it rolls back (a session
    from `create_session_factory`): how work waiting on a transaction is woken."""
    session.info.setdefault(AFTER_COMMIT, {})[call] = None


def create_session_factory(
    engine: AsyncEngine, *, after_queueing: Callable[[], None] | None = None
) -> SessionFactory:
    """Sessions that keep loaded objects usable after commit and call what waits on a
    transaction once it commits (`after_commit`), and never before.

    `after_queueing` is the one rule for waking the outbox sender: it is called once a
    transaction that queued rows (`note_queued`, which `outbox.enqueue` does) commits, whoever
    committed it (an update, the scheduler, the broadcast monitor).
    """
    woken = after_queueing

    class WakingSession(Session):
        """A session that wakes what waits on its transaction once it commits."""

    def committed(session: Session) -> None:
        calls = list(session.info.pop(AFTER_COMMIT, {}))
        if session.info.pop(QUEUED_FOR_SENDER, False) and woken is not None:
            calls.append(woken)
        for call in calls:
            call()

    def rolled_back(session: Session) -> None:
        session.info.pop(QUEUED_FOR_SENDER, None)
        session.info.pop(AFTER_COMMIT, None)

    event.listen(WakingSession, "after_commit", committed)
    event.listen(WakingSession, "after_rollback", rolled_back)
    return async_sessionmaker(
        engine, class_=AsyncSession, expire_on_commit=False, sync_session_class=WakingSession
    )


async def flushed(session: AsyncSession, row: Row) -> Row:
    """`row` added to the session and flushed (its id known), in the caller's transaction."""
    session.add(row)
    await session.flush()
    return row
