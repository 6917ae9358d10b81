"""The anonymity key: seals routes to anonymous raisers and derives pseudonyms.

Whoever reads the database without the key can neither follow a sealed route to a member nor
link a pseudonym or a raiser tag back to one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

from bot.config import Settings

# Sealed values are padded to a multiple of this many bytes, so that the length of a sealed
# ballot or run memory does not tell how long the comment inside it was.
PAD = 2048
ROUTE = "chat:"


class Sealer:
    """Seal and unseal member ids; keyed tags that cannot be reversed without the key."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 32:
            raise ValueError("the anonymity key needs at least 32 bytes")
        self._mac_key = hashlib.sha256(b"partnerbot:tag:" + key).digest()
        fernet_key = hashlib.sha256(b"partnerbot:seal:" + key).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(fernet_key))

    def seal(self, member_id: int) -> str:
        return self._fernet.encrypt(str(member_id).encode()).decode()

    def unseal(self, sealed: str) -> int | None:
        """The member id, or None when the token was not sealed with this key."""
        try:
            return int(self._fernet.decrypt(sealed.encode()))
        except (InvalidToken, ValueError):
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

    def seal_route(self, chat_id: int) -> str:
        """A chat id sealed for the sender: a new token each time, so two are never alike."""
        return self._fernet.encrypt(f"{ROUTE}{chat_id}".encode()).decode()

    def open_route(self, sealed: str) -> int | None:
        """The chat id of a sealed route, or None when it was not sealed with this key."""
        try:
            opened = self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken:
            return None
        return int(opened[len(ROUTE) :]) if opened.startswith(ROUTE) else None

    def tag(self, purpose: str, member_id: int) -> str:
        """A stable keyed hash of a member for one purpose (e.g. "raiser", "pseudonym")."""
        message = f"{purpose}:{member_id}".encode()
        return hmac.new(self._mac_key, message, hashlib.sha256).hexdigest()[:32]

    def pseudonym(self, member_id: int) -> str:
        """The member's id in exports: stable across exports, meaningless without the key."""
        return "m-" + self.tag("pseudonym", member_id)[:12]


def load_sealer(settings: Settings) -> Sealer:
    """The sealer from ANONYMITY_KEY, or from a key file created (mode 0600) on first use."""
    if settings.anonymity_key is not None:
        return Sealer(settings.anonymity_key.get_secret_value().encode())
    path = Path(settings.anonymity_key_file)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = base64.urlsafe_b64encode(os.urandom(32))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first: use theirs
            pass
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(key)
    return Sealer(path.read_bytes().strip())
