"""Hot-path writes run straight on SQLite's connection, compiled by SQLAlchemy once.

SQLAlchemy wraps each statement in an execution context (parameter processing, result set-up,
event checks, the ORM session's bookkeeping) that costs 50–100 µs; SQLite on the event loop's
thread (`inline_sqlite`) runs the statement itself in a few. A member's answer takes four to
five such writes, so on SQLite they skip the wrapping: SQLAlchemy still compiles the SQL and
supplies each column type's conversion for this dialect, and the statement runs on the very
connection, inside the very transaction, of the session. Other databases take the ordinary
path, where a round trip to the server outweighs the wrapping.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.dml import UpdateBase
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.storage.inline_sqlite import InlineConnection

_CONNECTION = "partnerbot.sqlite_connection"
Converter = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Each positional parameter's name and its column type's conversion for SQLite.
    parameters: tuple[tuple[str, Converter], ...]
    # Values the statement carries itself (`where(column == 5)`).
    carried: Mapping[str, Any]
    # Python-side defaults or expanding parameters need SQLAlchemy's execution context.
    direct: bool

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        arguments = []
        for name, convert in self.parameters:
            value = values[name] if name in values else self.carried[name]
            arguments.append(value if convert is None else convert(value))
        return arguments


@functools.lru_cache(maxsize=256)
def _compile(statement: UpdateBase, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
    compiled = statement.compile(dialect=dialect, column_keys=list(keys))
    return _Compiled(
        sql=compiled.string,
        parameters=tuple(
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup or ()
        ),
        carried=compiled.params,
        direct=not (
            compiled.insert_prefetch
            or compiled.update_prefetch
            or compiled.literal_execute_params
            or compiled.post_compile_params
        ),
    )


async def _connection(session: AsyncSession) -> sqlite3.Connection | None:
    """The SQLite connection of the session's open transaction, begun here if need be."""
    transaction = session.sync_session.get_transaction()
    known = session.info.get(_CONNECTION)
    if known is not None and transaction is not None and known[0] is transaction:
        return known[1]  # type: ignore[no-any-return]
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    connection = driver.sqlite if isinstance(driver, InlineConnection) else None
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), connection)
    return connection


async def _run(
    session: AsyncSession, statement: UpdateBase, values: Mapping[str, Any]
) -> sqlite3.Cursor | None:
    """Run `statement` on SQLite's connection; None (nothing run) on other databases."""
    dialect = session.get_bind().dialect
    if dialect.name != "sqlite":
        return None
    if session.new or session.dirty or session.deleted:
        # The ORM's pending changes go first, as a statement run through the session would.
        await session.flush()
    compiled = _compile(statement, dialect, tuple(values))
    if not compiled.direct:
        return None
    connection = await _connection(session)
    if connection is None:
        return None
    arguments = compiled.arguments(values)
    try:
        return connection.execute(compiled.sql, arguments)
    except sqlite3.Error as error:
        # The same exception classes as the ordinary path raises (IntegrityError, ...).
        raise exc.DBAPIError.instance(compiled.sql, arguments, error, sqlite3.Error) from error


async def write(session: AsyncSession, statement: UpdateBase, values: Mapping[str, Any]) -> int:
    """Run an INSERT, UPDATE or DELETE in the session's transaction; the rows it changed."""
    cursor = await _run(session, statement, values)
    if cursor is None:
        result = await session.exec(statement, params=values)
        return int(result.rowcount)
    changed = cursor.rowcount
    cursor.close()
    return changed


async def insert_returning_id(
    session: AsyncSession, statement: UpdateBase, values: Mapping[str, Any]
) -> int:
    """Run an INSERT ... RETURNING the new row's integer id in the session's transaction."""
    cursor = await _run(session, statement, values)
    if cursor is None:
        result = await session.exec(statement, params=values)
        return int(result.scalar_one())
    (row_id,) = cursor.fetchone()
    cursor.close()
    return int(row_id)
