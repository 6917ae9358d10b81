"""What the sender hands to Telegram and what can come back, without naming aiogram.

The aiogram implementation is `bot.telegram.sending.BotTransport`; the sender only sees these
plain values, so its scheduling can be read (and tested) apart from the HTTP client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Outgoing:
    """One Bot API send: a text, or a photo/document with a caption."""

    chat_id: int
    kind: str
    text: str
    reply_markup: dict[str, Any] | None = None
    media_file_id: str | None = None
    paid: bool = False


@dataclass(frozen=True)
class Composed:
    """The text and buttons of a message the outbox keeps as data, written just before it is
    sent."""

    text: str
    reply_markup: dict[str, Any] | None = None
    # It asks its run's open question (the last part of a check-in that has one).
    asks: bool = False


@dataclass(frozen=True)
class Delivered:
    """Telegram accepted the message."""

    message_id: int


@dataclass(frozen=True)
class RateLimited:
    """429: the whole bot must wait `retry_after` seconds."""

    retry_after: float


@dataclass(frozen=True)
class Transient:
    """Network error, time-out or 5xx: worth retrying later."""

    reason: str


@dataclass(frozen=True)
class Blocked:
    """403: the user blocked the bot, left, or was deactivated."""

    reason: str


@dataclass(frozen=True)
class ChatNotFound:
    """400 chat not found: nobody to deliver to."""

    reason: str


@dataclass(frozen=True)
class Migrated:
    """The group became a supergroup with this id."""

    chat_id: int


@dataclass(frozen=True)
class Rejected:
    """Any other refusal (a 400 on the message itself): retrying would not help."""

    reason: str


Outcome = Delivered | RateLimited | Transient | Blocked | ChatNotFound | Migrated | Rejected


class Transport(Protocol):
    """Sends one message to Telegram and says what happened; never raises for API errors."""

    async def send(self, message: Outgoing) -> Outcome: ...

    async def close(self) -> None: ...
