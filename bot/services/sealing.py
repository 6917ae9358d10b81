"""The anonymity key: seals routes to anonymous raisers and derives pseudonyms.

Whoever reads the database without the key can neither follow a sealed route to a member nor
link a pseudonym or a raiser tag back to one. The database keeps a keyed fingerprint of the key
it was set up with, so that an instance with another key (or none) refuses to start instead of
sealing what the others cannot open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.domain.guides.reply import SEALED as SEALED_DRAFT  # a raiser's reply draft's ticket
from bot.storage import keys
from bot.storage.backup import sqlite_file
from bot.storage.models import TicketRoute

log = logging.getLogger(__name__)
RAISER = "raiser"
ERASED = "erased"
CONSENT = "consent"
# Where a run's memory keeps its sealed part (services/ballots.py uses the same key).
SEALED_MEMORY = "~sealed"

# Sealed values are padded to a multiple of this many bytes, so that the length of a sealed
# ballot or run memory does not tell how long the comment inside it was.
PAD = 2048
ROUTE = "chat:"


@dataclass(frozen=True)
class Tagger:
    """The keyed, irreversible half of a `Sealer` (tags and pseudonyms), plain enough to be
    handed to a worker process; it opens nothing sealed."""

    mac_key: bytes = field(repr=False)

    def tag(self, purpose: str, member_id: int) -> str:
        """A stable keyed hash of a member for one purpose (e.g. "raiser", "pseudonym")."""
        message = f"{purpose}:{member_id}".encode()
        return hmac.new(self.mac_key, message, hashlib.sha256).hexdigest()[:32]

    def pseudonym(self, member_id: int) -> str:
        """The member's id in exports: stable across exports, meaningless without the key."""
        return "m-" + self.tag("pseudonym", member_id)[:12]


class Sealer:
    """Seal and unseal member ids; keyed tags that cannot be reversed without the key."""

    def __init__(self, key: bytes, *, erasure_key: bytes | None = None) -> None:
        if len(key) < 32:
            raise ValueError("the anonymity key needs at least 32 bytes")
        self.tagger = Tagger(hashlib.sha256(b"partnerbot:tag:" + key).digest())
        fernet_key = hashlib.sha256(b"partnerbot:seal:" + key).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(fernet_key))
        self._fingerprint_key = hashlib.sha256(b"partnerbot:fingerprint:" + key).digest()
        self._erasure_key = erasure_key

    def seal(self, member_id: int) -> str:
        return self.seal_bytes(str(member_id).encode())

    def unseal(self, sealed: str) -> int | None:
        """The member id, or None when the token was not sealed with this key."""
        opened = self.unseal_bytes(sealed)
        try:
            return None if opened is None else int(opened)
        except ValueError:
            return None

    def seal_bytes(self, data: bytes) -> str:
        return self._fernet.encrypt(data).decode()

    def unseal_bytes(self, sealed: str) -> bytes | None:
        """The sealed bytes, or None when they were not sealed with this key."""
        try:
            return self._fernet.decrypt(sealed.encode())
        except InvalidToken:
            return None

    def seal_json(self, value: Any) -> str:
        """`value` (JSON) sealed and padded: its length tells nothing but its size class."""
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        data += b" " * (-len(data) % PAD)
        return self._fernet.encrypt(data).decode()

    def unseal_json(self, sealed: str) -> Any:
        """The value `seal_json` sealed; raises ValueError when it was not sealed with this key."""
        try:
            return json.loads(self._fernet.decrypt(sealed.encode()))
        except InvalidToken as error:
            raise ValueError("not sealed with this anonymity key") from error

    def seal_route(self, chat_id: int, *, text: str | None = None) -> str:
        """A chat id (and the message's text, if given) sealed for the sender: a new token
        each time, so two are never alike."""
        sealed = f"{ROUTE}{chat_id}" if text is None else f"{ROUTE}{chat_id}\n{text}"
        return self._fernet.encrypt(sealed.encode()).decode()

    def open_route(self, sealed: str) -> int | None:
        """The chat id of a sealed route, or None when it was not sealed with this key."""
        opened = self.open_message(sealed)
        return None if opened is None else opened[0]

    def open_message(self, sealed: str) -> tuple[int, str | None] | None:
        """A sealed route's chat id and text (None if it seals none), or None when it was
        not sealed with this key."""
        try:
            opened = self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
        if not opened.startswith(ROUTE):
            return None
        chat, newline, text = opened[len(ROUTE) :].partition("\n")
        return int(chat), (text if newline else None)

    def tag(self, purpose: str, member_id: int) -> str:
        """A stable keyed hash of a member for one purpose (e.g. "raiser", "pseudonym")."""
        return self.tagger.tag(purpose, member_id)

    def pseudonym(self, member_id: int) -> str:
        """The member's id in exports: stable across exports, meaningless without the key."""
        return self.tagger.pseudonym(member_id)

    def fingerprint(self) -> str:
        """A keyed hash that tells keys apart and reveals nothing of the key."""
        return hmac.new(self._fingerprint_key, b"partnerbot", hashlib.sha256).hexdigest()[:32]

    def erasure_tag(self, member_id: int) -> str:
        """The member in the erasure log: a hash under the database's erasure key, which
        survives a key rotation (it is re-sealed, not replaced)."""
        if self._erasure_key is None:
            raise RuntimeError("the sealer was made without the database's erasure key")
        message = f"{ERASED}:{member_id}".encode()
        return hmac.new(self._erasure_key, message, hashlib.sha256).hexdigest()[:32]


class KeyProblem(RuntimeError):
    """The anonymity key is missing, misplaced or not the database's; says which setting."""


def beside_database(path: Path, database_url: str) -> Path | None:
    """The SQLite database's directory when `path` lies inside it."""
    database = sqlite_file(database_url)
    if database is None:
        return None
    directory = database.resolve().parent
    return directory if path.expanduser().resolve().is_relative_to(directory) else None


def new_key() -> bytes:
    return base64.urlsafe_b64encode(os.urandom(32))


def write_key_file(path: Path, key: bytes) -> bool:
    """Create the key file (mode 0600); False when another process created it first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return True


def _setting(settings: Settings) -> tuple[str, str]:
    """The setting the key came from, and how to name it in a message."""
    if settings.anonymity_key is not None:
        return "ANONYMITY_KEY", "ANONYMITY_KEY"
    return "ANONYMITY_KEY_FILE", f"ANONYMITY_KEY_FILE ({settings.anonymity_key_file})"


def configured_key(settings: Settings) -> bytes | None:
    """ANONYMITY_KEY, or the key file's content; None when neither is there."""
    if settings.anonymity_key is not None:
        return settings.anonymity_key.get_secret_value().encode()
    path = settings.anonymity_key_file
    if not path.exists():
        return None
    key = path.read_bytes().strip()
    directory = beside_database(path, settings.database_url)
    if directory is not None:
        log.warning(
            "the anonymity key file %s is in the database's directory %s: one backup holds "
            "both. Move it elsewhere and point ANONYMITY_KEY_FILE at it (or set ANONYMITY_KEY)",
            path,
            directory,
        )
    return key


def _create_key_file(settings: Settings) -> bytes:
    path = settings.anonymity_key_file
    directory = beside_database(path, settings.database_url)
    if directory is not None:
        raise KeyProblem(
            f"no anonymity key: ANONYMITY_KEY is not set and ANONYMITY_KEY_FILE ({path}) would "
            f"be created in the database's directory {directory}, so that one backup would hold "
            "both the data and the key that protects it. Set ANONYMITY_KEY, or ANONYMITY_KEY_FILE "
            f"to a path outside {directory}."
        )
    if write_key_file(path, new_key()):
        log.warning(
            "created a new anonymity key in %s: keep a copy apart from the database's backups "
            "(without it, anonymous raisers cannot be reached)",
            path,
        )
    return path.read_bytes().strip()


async def unlock(session: AsyncSession, settings: Settings, *, now: datetime) -> Sealer:
    """The sealer for this database: the configured key, checked against the fingerprint the
    database keeps (stored at first start, with a new erasure key); raises KeyProblem.

    The caller commits (the first start records the fingerprint)."""
    ring = await keys.get_keyring(session)
    key = configured_key(settings)
    if key is None and ring is not None:
        raise KeyProblem(
            "this database was set up with an anonymity key, and none is configured here "
            f"(ANONYMITY_KEY is not set and there is no file at {settings.anonymity_key_file}). "
            "Set ANONYMITY_KEY, or ANONYMITY_KEY_FILE, to the key every other instance uses; "
            "a new key would cut the way back to every anonymous raiser."
        )
    if key is None:
        key = _create_key_file(settings)
    try:
        sealer = Sealer(key)
    except ValueError as exc:
        raise KeyProblem(f"{_setting(settings)[1]}: {exc}") from None
    if ring is None:
        erasure_key = os.urandom(32)
        await keys.create_keyring(
            session,
            fingerprint=sealer.fingerprint(),
            erasure_key=sealer.seal_bytes(erasure_key),
            now=now,
        )
        return Sealer(key, erasure_key=erasure_key)
    opened = sealer.unseal_bytes(ring.erasure_key)
    if ring.fingerprint != sealer.fingerprint() or opened is None:
        name, shown = _setting(settings)
        raise KeyProblem(
            f"{shown} is not the anonymity key this database was set up with "
            f"(fingerprint {ring.fingerprint[:8]}…, this key's {sealer.fingerprint()[:8]}…). "
            f"Every instance needs the same key: fix {name}."
        )
    return Sealer(key, erasure_key=opened)


async def rotate(session: AsyncSession, *, old: Sealer, new: Sealer, now: datetime) -> int:
    """Re-seal every sealed value (keys.SEALED_COLUMNS), raiser tag and the erasure key from
    `old` to `new`, and record `new`'s fingerprint; returns the values re-sealed. Raises
    KeyProblem when `old` is not the database's key or a value does not open with it (the
    caller's transaction then changes nothing)."""
    ring = await keys.get_keyring(session)
    if ring is None:
        raise KeyProblem("this database has no anonymity key yet: start the bot once first")
    erasure_key = old.unseal_bytes(ring.erasure_key)
    if ring.fingerprint != old.fingerprint() or erasure_key is None:
        raise KeyProblem("the old key given is not the key this database was set up with")
    if new.fingerprint() == old.fingerprint():
        raise KeyProblem("the new key is the old key: set ANONYMITY_KEY to a new one")

    def token(sealed: str) -> str:
        opened = old.unseal_bytes(sealed)
        if opened is None:
            raise KeyProblem("a sealed value does not open with the old key")
        return new.seal_bytes(opened)

    def raiser_tag(route: TicketRoute) -> str:
        member_id = new.unseal(route.sealed)
        if member_id is None:
            raise KeyProblem(f"the route of ticket {route.ticket_id} leads nowhere")
        return new.tag(RAISER, member_id)

    return await keys.reseal(
        session,
        ring=ring,
        fingerprint=new.fingerprint(),
        erasure_key=new.seal_bytes(erasure_key),
        token=token,
        raiser_tag=raiser_tag,
        memory_key=SEALED_MEMORY,
        draft_key=SEALED_DRAFT,
        now=now,
    )
