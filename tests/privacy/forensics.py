"""What a reader of the database files finds, without the key: SQLite pages read byte by byte
(the file and every frame of its WAL: live rows, freed space, old versions), PostgreSQL rows
with their system columns. A module rather than a conftest.py (see outbox_harness)."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import text as sql

from bot.app import BotApp

WAL_HEADER = 32
FRAME_HEADER = 24
TABLE_LEAF, INDEX_LEAF, TABLE_INTERIOR, INDEX_INTERIOR = 13, 10, 5, 2
# In freed space, identifiers this close to someone's words were in the same row: a row's
# leading columns (ids, chat) sit within a few dozen bytes of its text.
NEAR = 96


@dataclass(frozen=True)
class Person:
    """What identifies one member, and the anonymous things they said (`markers`)."""

    telegram_id: int
    member_id: int
    name: str
    markers: frozenset[str] = field(default_factory=frozenset)

    def in_values(self, ints: set[int], texts: list[str]) -> list[str]:
        """Which of their identifiers a decoded row holds."""
        found = [f"id {n}" for n in (self.telegram_id, self.member_id) if n in ints]
        for text in texts:
            found += [f"{n!r} in text" for n in self._spelled() if n in text]
        return found

    def in_bytes(self, data: bytes) -> list[str]:
        """Which of their identifiers raw bytes hold, in any encoding a database uses."""
        found = [f"{n!r} spelt" for n in self._spelled() if n.encode() in data]
        for number in (self.telegram_id, self.member_id):
            for width in (6, 8):
                if number.to_bytes(width, "big", signed=True) in data:
                    found.append(f"id {number} as {width} bytes")
        return found

    def around(self, data: bytes) -> list[bytes]:
        """The bytes near each of their words in freed space: SQLite merges neighbouring freed
        rows into one region, so a row's own columns are told apart by distance."""
        found = []
        for marker in self.markers:
            word = marker.encode()
            at = data.find(word)
            while at >= 0:
                found.append(data[max(0, at - NEAR) : at + len(word) + NEAR])
                at = data.find(word, at + 1)
        return found

    def said(self, data: str) -> bool:
        return any(m in data for m in self.markers)

    def _spelled(self) -> tuple[str, ...]:
        return (self.name, str(self.telegram_id), str(self.member_id))


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = 0
    for i in range(8):
        byte = data[at + i]
        value = (value << 7) | (byte & 0x7F)
        if byte < 0x80:
            return value, at + i + 1
    return (value << 8) | data[at + 8], at + 9


def _record(payload: bytes) -> tuple[set[int], list[str]]:
    """The integers and texts of an SQLite record (as far as `payload` holds it)."""
    ints: set[int] = set()
    texts: list[str] = []
    try:
        size, at = _varint(payload, 0)
        types = []
        while at < size:
            kind, at = _varint(payload, at)
            types.append(kind)
        body = size
        widths = {1: 1, 2: 2, 3: 3, 4: 4, 5: 6, 6: 8, 7: 8}
        for kind in types:
            if kind in widths:
                width = widths[kind]
                chunk = payload[body : body + width]
                if kind != 7 and len(chunk) == width:
                    ints.add(int.from_bytes(chunk, "big", signed=True))
                body += width
            elif kind in (8, 9):
                ints.add(kind - 8)
            elif kind >= 12:
                width = (kind - 12) // 2
                chunk = payload[body : body + width]
                if kind % 2:
                    texts.append(chunk.decode("utf-8", "replace"))
                body += width
    except IndexError:
        pass
    return ints, texts


@dataclass(frozen=True)
class Piece:
    """A row (decoded) or a freed region (raw bytes) of one page image."""

    where: str
    raw: bytes
    ints: frozenset[int] = frozenset()
    texts: tuple[str, ...] = ()
    row: bool = False


def _page_pieces(page: bytes, number: int, where: str) -> Iterator[Piece]:
    start = 100 if number == 1 else 0
    kind = page[start]
    if kind not in (TABLE_LEAF, INDEX_LEAF, TABLE_INTERIOR, INDEX_INTERIOR):
        # Freelist, overflow or a page never used as a b-tree: all of it as it lies.
        yield Piece(f"{where} raw", page)
        return
    header = 8 if kind in (TABLE_LEAF, INDEX_LEAF) else 12
    cells = struct.unpack(">H", page[start + 3 : start + 5])[0]
    content = struct.unpack(">H", page[start + 5 : start + 7])[0] or 65536
    pointers_end = start + header + 2 * cells
    yield Piece(f"{where} unallocated", page[pointers_end:content])
    freeblock = struct.unpack(">H", page[start + 1 : start + 3])[0]
    while freeblock:
        nxt, size = struct.unpack(">HH", page[freeblock : freeblock + 4])
        yield Piece(f"{where} freeblock", page[freeblock : freeblock + size])
        freeblock = nxt
    if kind not in (TABLE_LEAF, INDEX_LEAF):
        return
    usable = len(page)
    for n in range(cells):
        (offset,) = struct.unpack(">H", page[start + header + 2 * n : start + header + 2 * n + 2])
        length, at = _varint(page, offset)
        rowid = None
        if kind == TABLE_LEAF:
            rowid, at = _varint(page, at)
        limit = usable - 35 if kind == TABLE_LEAF else (usable - 12) * 64 // 255 - 23
        if length > limit:
            least = (usable - 12) * 32 // 255 - 23
            local = least + (length - least) % (usable - 4)
            length = local if local <= limit else least
        payload = page[at : at + length]
        ints, texts = _record(payload)
        if rowid is not None:
            ints.add(rowid)
        yield Piece(f"{where} cell {n}", payload, frozenset(ints), tuple(texts), row=True)


def sqlite_pieces(database: Path) -> Iterator[Piece]:
    """Every row and freed region of the database file and of each frame of its WAL."""
    data = database.read_bytes()
    (size,) = struct.unpack(">H", data[16:18])
    size = 65536 if size == 1 else size
    for n in range(len(data) // size):
        yield from _page_pieces(data[n * size : (n + 1) * size], n + 1, f"file page {n + 1}")
    wal = database.with_name(database.name + "-wal")
    if not wal.exists():
        return
    log = wal.read_bytes()
    at, frame = WAL_HEADER, 0
    while at + FRAME_HEADER + size <= len(log):
        (number,) = struct.unpack(">I", log[at : at + 4])
        page = log[at + FRAME_HEADER : at + FRAME_HEADER + size]
        yield from _page_pieces(page, number, f"wal frame {frame} (page {number})")
        at += FRAME_HEADER + size
        frame += 1


def exposures(pieces: Iterator[Piece], people: list[Person]) -> list[str]:
    """Rows and freed regions holding what someone said anonymously beside who they are."""
    found = []
    for piece in pieces:
        text = piece.raw.decode("utf-8", "replace") + "\n".join(piece.texts)
        for person in people:
            if not person.said(text):
                continue
            if piece.row:
                hits = person.in_values(set(piece.ints), list(piece.texts))
            else:
                hits = [h for near in person.around(piece.raw) for h in person.in_bytes(near)]
            if hits:
                found.append(f"{piece.where}: {person.name}'s words beside {hits}")
    return found


def _rows(page: bytes, number: int) -> dict[bytes, Piece]:
    return {p.raw: p for p in _page_pieces(page, number, f"page {number}") if p.row} if page else {}


def sqlite_transactions(database: Path) -> list[list[Piece]]:
    """The transactions the WAL holds (its frames up to each commit frame), each as the rows
    its frames added to or removed from their pages against the page's previous image (in the
    WAL, else in the file): what one transaction wrote and deleted, as a reader pairs them."""
    wal = database.with_name(database.name + "-wal")
    if not wal.exists():
        return []
    data, log = database.read_bytes(), wal.read_bytes()
    (size,) = struct.unpack(">H", data[16:18])
    size = 65536 if size == 1 else size
    salts = log[16:24]
    previous: dict[int, bytes] = {}
    transactions: list[list[Piece]] = []
    changed: list[Piece] = []
    at = WAL_HEADER
    while at + FRAME_HEADER + size <= len(log) and log[at + 8 : at + 16] == salts:
        number, commit = struct.unpack(">II", log[at : at + 8])
        page = log[at + FRAME_HEADER : at + FRAME_HEADER + size]
        before = previous.get(number, data[(number - 1) * size : number * size])
        old, new = _rows(before, number), _rows(page, number)
        changed += [new[raw] for raw in new.keys() - old.keys()]
        changed += [old[raw] for raw in old.keys() - new.keys()]
        previous[number] = page
        if commit:
            transactions.append(changed)
            changed = []
        at += FRAME_HEADER + size
    return transactions


def transactions_pairing(transactions: list[list[Piece]], marker: str, person: Person) -> int:
    """How many transactions changed both a row holding `marker` and a row of `person`."""
    return sum(
        1
        for changed in transactions
        if any(marker in "\n".join(p.texts) for p in changed)
        and any(person.in_values(set(p.ints), list(p.texts)) for p in changed)
    )


# -- the database as a whole (through the bot's engine) ------------------------------------------

MEMBER_TABLES = ("member", "flowrun", "checkin", "draft", "decision_voter")


async def move_member_ids(app: BotApp, start: int) -> None:
    """Member ids from `start` on, past 32 bits like Telegram ids, so that raw bytes find them
    (SQLite numbers after the largest id: a stopped stand-in)."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.exec(
                sql(f"SELECT setval(pg_get_serial_sequence('member', 'id'), {start})")  # type: ignore[call-overload]
            )
        else:
            await session.exec(
                sql(  # type: ignore[call-overload]
                    "INSERT INTO member (id, telegram_user_id, chat_id, display_name, language,"
                    " role, status, consent_at, joined_at, updated_at) VALUES"
                    f" ({start}, 1, 1, '', 'en', 'member', 'stopped',"
                    " '2026-01-01', '2026-01-01', '2026-01-01')"
                )
            )
        await session.commit()


async def wal_position(app: BotApp) -> str:
    """Where PostgreSQL's WAL stands now, with pg_walinspect ready to read it from there."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        try:
            async with session.begin_nested():
                await session.exec(
                    sql("CREATE EXTENSION IF NOT EXISTS pg_walinspect SCHEMA public")  # type: ignore[call-overload]
                )
        except Exception:  # noqa: BLE001 - another test run created it meanwhile
            pass
        lsn = (await session.exec(sql("SELECT pg_current_wal_lsn()::text"))).one()[0]  # type: ignore[call-overload]
        await session.commit()
    return str(lsn)


async def beside_a_member(app: BotApp, since: str, writers: str) -> list[str]:
    """Transactions among `writers` (a query of `xmin::text`s, e.g. of a ticket's rows) that,
    as PostgreSQL's WAL records them since `since`, also wrote or deleted a row of a member's
    (their account, runs, check-ins, drafts): one update is one person's, so the WAL (and the
    dead tuples it describes) pairs what the writer wrote with that person. Row locks and
    pruning write no row, and a reading transaction may log them."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        schema = (await session.exec(sql("SELECT current_schema()"))).one()[0]  # type: ignore[call-overload]
        files = {}
        for table in MEMBER_TABLES:
            node = (
                await session.exec(sql(f'SELECT pg_relation_filenode(\'"{schema}"."{table}"\')'))  # type: ignore[call-overload]
            ).one()[0]
            files[f"/{node} "] = table
        written = {int(x) for (x,) in (await session.exec(sql(writers))).all()}  # type: ignore[call-overload]
        records = (
            await session.exec(
                sql(  # type: ignore[call-overload]
                    "SELECT xid::text::bigint, block_ref FROM public.pg_get_wal_records_info("
                    f"'{since}', pg_current_wal_lsn()) WHERE resource_manager = 'Heap'"
                    " AND record_type NOT LIKE 'LOCK%' AND record_type NOT LIKE 'INPLACE%'"
                )
            )
        ).all()
    return sorted(
        {
            f"transaction {xid} beside a {table} row"
            for xid, blocks in records
            if xid in written
            for node, table in files.items()
            if node in (blocks or "") + " "
        }
    )
