"""The rows a logical message becomes, and queueing many at once.

A broadcast or a digest to everyone queues thousands of messages in one transaction; on SQLite
that transaction holds the one writer every member's reply waits for. So they are written in a
few statements (`enqueue_many`: one look-up of the keys already queued and one insert per
`BULK_ROWS` rows), never a few statements per recipient.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.text import message_parts
from bot.storage.db import note_queued
from bot.storage.models import OutboxMessage, OutboxStatus

MEDIA_KINDS = frozenset({"photo", "document", "voice", "location"})  # a location's "file": lat,long
POLL_KINDS = frozenset({"poll", "stop_poll"})  # made as `reply_markup`'s send options say
DEDUPE_KEY_LENGTH = 128
BULK_ROWS = 500


def parts(kind: str, text: str, media_file_id: str | None) -> list[tuple[str, str]]:
    """(kind, text) of each row one logical message becomes, in delivery order."""
    if kind == "text":
        found = message_parts(kind, text)
        if not found:
            raise ValueError("a text message needs visible text")
        return found
    if kind not in MEDIA_KINDS | POLL_KINDS:
        raise ValueError(f"unknown message kind {kind!r}")
    if kind in POLL_KINDS:
        return [(kind, text)]
    if not media_file_id:
        raise ValueError(f"a {kind} message needs media_file_id")
    return message_parts(kind, text)


def dedupe_keys(dedupe_key: str | None, count: int) -> list[str | None]:
    """The key of each of a message's `count` rows (the first row's is looked up)."""
    if dedupe_key is None:
        return [None] * count
    keys = [dedupe_key] if count == 1 else [f"{dedupe_key}:part{n}" for n in range(1, count + 1)]
    if any(len(key) > DEDUPE_KEY_LENGTH for key in keys):
        raise ValueError(f"dedupe_key is too long: {dedupe_key!r}")
    return list(keys)


@dataclass(frozen=True)
class Queued:
    """One logical message to queue; the parameters of `outbox.enqueue`."""

    chat_id: int
    member_id: int | None
    text: str
    kind: str = "text"
    reply_markup: Mapping[str, Any] | None = None
    media_file_id: str | None = None
    language: str | None = None
    source: str = ""
    broadcast_id: int | None = None
    dedupe_key: str | None = None
    not_before: datetime | None = None
    route: str | None = None
    asks_run: int | None = None
    lease_until: datetime | None = None
    lease_owner: str | None = None

    def rows(self, now: datetime) -> list[dict[str, Any]]:
        """The outbox rows (column values) this message becomes."""
        made = parts(self.kind, self.text, self.media_file_id)
        last = len(made) - 1
        return [
            {
                "chat_id": self.chat_id,
                "route": self.route,
                "member_id": self.member_id,
                "broadcast_id": self.broadcast_id,
                "source": self.source,
                "dedupe_key": key,
                "kind": part_kind,
                "language": self.language,
                "text": part_text,
                "reply_markup": dict(self.reply_markup)
                if self.reply_markup and n == last
                else None,
                "media_file_id": self.media_file_id if part_kind in MEDIA_KINDS else None,
                "run_id": self.asks_run if n == last else None,
                "status": OutboxStatus.QUEUED if self.lease_until is None else OutboxStatus.SENDING,
                "lease_until": self.lease_until,
                "lease_owner": None if self.lease_until is None else self.lease_owner,
                "next_attempt_at": self.not_before or now,
                "created_at": now,
            }
            for n, ((part_kind, part_text), key) in enumerate(
                zip(made, dedupe_keys(self.dedupe_key, len(made)), strict=True)
            )
        ]


async def queued_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of these messages' keys are queued already (a long message by its first part)."""
    found: set[str] = set()
    for start in range(0, len(keys), BULK_ROWS):
        chunk = list(keys[start : start + BULK_ROWS])
        probe = chunk + [f"{key}:part1" for key in chunk]
        query = select(OutboxMessage.dedupe_key).where(col(OutboxMessage.dedupe_key).in_(probe))
        for key in (await session.exec(query)).all():
            if key is not None:
                found.add(key.removesuffix(":part1") if key not in chunk else key)
    return found


def _insert_new(dialect: str) -> Insert:
    # Another transaction may queue one of the keys between the look-up and the insert: that
    # row is skipped, not the whole batch (both stores' ON CONFLICT DO NOTHING).
    made = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return made(OutboxMessage).on_conflict_do_nothing()


async def enqueue_many(session: AsyncSession, messages: Sequence[Queued], *, now: datetime) -> int:
    """Queue each message once by its `dedupe_key` (required), in the caller's transaction and
    a few statements; how many were new."""
    if any(m.dedupe_key is None for m in messages):
        raise ValueError("enqueue_many needs a dedupe_key on every message")
    taken = await queued_keys(session, [m.dedupe_key for m in messages if m.dedupe_key])
    rows: list[dict[str, Any]] = []
    new = 0
    for message in messages:
        if message.dedupe_key in taken:
            continue
        taken.add(message.dedupe_key or "")
        rows.extend(message.rows(now))
        new += 1
    if not rows:
        return 0
    connection = await session.connection()
    statement = _insert_new(connection.dialect.name)
    for start in range(0, len(rows), BULK_ROWS):
        await connection.execute(statement, rows[start : start + BULK_ROWS])
    if any(m.lease_until is None for m in messages):
        note_queued(session)
    return new
