"""The migrations build exactly the schema the models describe, and unwind cleanly."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

from bot.storage import (
    migrate,
    tables,  # noqa: F401  (registers every table)
)
from bot.storage.db import create_engine
from bot.storage.models import UTCDateTime

# These build the schema themselves, from nothing.
pytestmark = pytest.mark.empty_database


def _differences(connection: Any) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": _compare_type})
    return list(compare_metadata(context, SQLModel.metadata))


def _compare_type(
    context: Any, inspected: Any, metadata: Any, inspected_type: Any, metadata_type: Any
) -> bool | None:
    # TEXT and String() without length are the same column; UTCDateTime is stored as DateTime.
    if isinstance(metadata_type, UTCDateTime):
        return inspected_type.__class__.__name__ not in {"DATETIME", "DateTime", "TIMESTAMP"}
    if getattr(metadata_type, "length", 0) is None and "TEXT" in str(inspected_type).upper():
        return False
    return None


async def test_migrations_match_the_models(database_url: str, database_schema: str | None) -> None:
    engine = create_engine(database_url, schema=database_schema)
    try:
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            diff = await conn.run_sync(_differences)
        assert diff == []
    finally:
        await engine.dispose()


async def test_downgrade_to_base_and_back(database_url: str, database_schema: str | None) -> None:
    engine = create_engine(database_url, schema=database_schema)
    try:
        await migrate.upgrade(engine)
        await migrate.downgrade(engine, "base")
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert set(tables) <= {"alembic_version"}
        await migrate.upgrade(engine)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
        assert {t.name for t in SQLModel.metadata.sorted_tables} <= set(tables)
    finally:
        await engine.dispose()
