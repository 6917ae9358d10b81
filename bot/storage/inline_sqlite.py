"""SQLite for the async engine without a thread per connection.

aiosqlite runs every cursor call on a worker thread, so one statement costs a round trip
through the event loop (a future, a self-pipe wake-up, a loop iteration) that is larger than the
statement itself: a local WAL database with `synchronous=NORMAL` answers in microseconds and
never waits for the disk on commit. This driver gives SQLAlchemy's aiosqlite dialect the same
async interface but runs each call at once on the event loop's thread.

The one place SQLite itself could wait is a lock held by another connection (another process,
or a second engine in this one). The connection's own busy handler would then sleep on the
event loop's thread, so it is off (`busy_timeout=0`); a `BEGIN` that finds the database locked
is retried here with `asyncio.sleep`, letting the holder finish. Every transaction starts with
`BEGIN IMMEDIATE` (see `db.py`), so `BEGIN` is where the write lock is taken and the one
statement a retry is safe for: nothing has run yet.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

DRIVER = "inline"

FIRST_RETRY_S = 0.001
LONGEST_RETRY_S = 0.05


def _is_begin(sql: str) -> bool:
    return sql.lstrip()[:5].upper() == "BEGIN"


def _is_locked(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY or str(error).startswith(
        "database is locked"
    )


class InlineCursor:
    """An aiosqlite-shaped cursor whose calls complete without leaving the thread."""

    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        if not _is_begin(sql):
            self._cursor.execute(sql, parameters)
            return self
        deadline = time.monotonic() + self._connection.busy_timeout_s
        pause = FIRST_RETRY_S
        while True:
            try:
                self._cursor.execute(sql, parameters)
                return self
            except sqlite3.OperationalError as error:
                if not _is_locked(error) or time.monotonic() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, LONGEST_RETRY_S)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(self._cursor.arraysize if size is None else size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def nextset(self) -> None:
        return None

    async def setinputsizes(self, *_sizes: Any) -> None:
        return None

    async def close(self) -> None:
        self._cursor.close()


class _OpenCursor:
    """What `connection.cursor()` returns: aiosqlite's is both awaitable and a context."""

    def __init__(self, cursor: InlineCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Any:
        return self._cursor.__aenter__().__await__()

    async def __aenter__(self) -> InlineCursor:
        return self._cursor

    async def __aexit__(self, *_exc: object) -> None:
        await self._cursor.close()


class _RunAtOnce:
    """Stands in for aiosqlite's request queue, which the dialect's isolation-level setter
    uses directly: the function runs now and its future is resolved."""

    def put_nowait(self, item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as error:  # handed to the awaiting caller, as aiosqlite does
            future.set_exception(error)


class InlineConnection:
    """An aiosqlite-shaped connection over a plain `sqlite3.Connection`."""

    def __init__(self, connection: sqlite3.Connection, *, busy_timeout_s: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self.busy_timeout_s = busy_timeout_s
        self._tx = _RunAtOnce()

    @property
    def _conn(self) -> sqlite3.Connection:
        if self._connection is None:
            raise ValueError("no active connection")
        return self._connection

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The plain connection, for statements run without the async interface."""
        return self._conn

    def cursor(self) -> _OpenCursor:
        return _OpenCursor(InlineCursor(self, self._conn.cursor()))

    async def execute(self, sql: str, parameters: Any = ()) -> InlineCursor:
        return await InlineCursor(self, self._conn.cursor()).execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def create_function(self, name: str, num_params: int, func: Any, **kw: Any) -> None:
        self._conn.create_function(name, num_params, func, **kw)

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level


def connector(path: str, *, busy_timeout_s: float) -> Callable[[], Awaitable[InlineConnection]]:
    """An `async_creator` for `create_async_engine` that opens `path` inline."""

    async def connect() -> InlineConnection:
        # check_same_thread: the pool may close a connection from its finaliser.
        connection = sqlite3.connect(
            path,
            timeout=0,
            isolation_level=None,
            check_same_thread=False,
            uri=path.startswith("file:"),
        )
        return InlineConnection(connection, busy_timeout_s=busy_timeout_s)

    return connect


class InlineSQLiteDialect(SQLiteDialect_aiosqlite):
    """aiosqlite's dialect, over `InlineConnection`s, opening transactions as writers.

    A deferred transaction that reads, then writes, fails at once with SQLITE_BUSY when another
    writer got in between; `BEGIN IMMEDIATE` takes the write lock up front, so it waits
    instead. It is issued here rather than from a "begin" event: any connection event makes
    SQLAlchemy dispatch events around every statement, which costs more than the statement.
    """

    driver = DRIVER
    supports_statement_cache = True

    def do_begin(self, dbapi_connection: Any) -> None:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        finally:
            cursor.close()


def register() -> None:
    """Make `sqlite+inline://` URLs use `InlineSQLiteDialect` (registering again is harmless)."""
    registry.register(f"sqlite.{DRIVER}", __name__, InlineSQLiteDialect.__name__)
