"""Alembic environment: runs on the connection handed over by `bot.storage.migrate`."""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlmodel import SQLModel
from sqlmodel.sql.sqltypes import AutoString

import bot.storage.commitment_models  # noqa: F401  (its tables, in SQLModel.metadata)
from bot.storage.caucus_models import CaucusRound  # noqa: F401  (registers its tables)
from bot.storage.models import UTCDateTime  # importing registers the tables

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `partnerbot migrate`, which provides the connection")


def render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types as plain SQLAlchemy ones, so migrations never import models."""
    if type_ == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime(timezone=True)"
    if type_ == "type" and isinstance(obj, AutoString):
        return f"sa.String(length={obj.length})" if obj.length else "sa.Text()"
    return False


context.configure(
    connection=connection,
    render_item=render_item,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
