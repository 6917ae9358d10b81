"""What the sender hands to Telegram and what can come back, without naming aiogram.

The aiogram implementation is `bot.telegram.sending.BotTransport`; the sender only sees these
plain values, so its scheduling can be read (and tested) apart from the HTTP client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

# A row's `reply_markup` may carry, under this key, how the call is made beyond its buttons:
# `thread_id` (a forum topic), `poll` (options, is_anonymous), `message_id` (a poll to stop).
SEND_OPTIONS = "send_options"


@dataclass(frozen=True)
class Outgoing:
    """One Bot API send: a text, a photo/document/voice note with a caption, a place, a poll
    (`text` its question) or the stopping of one (`stop_poll`)."""

    chat_id: int
    kind: str
    text: str
    reply_markup: dict[str, Any] | None = None
    media_file_id: str | None = None
    paid: bool = False
    options: Mapping[str, Any] | None = None  # see SEND_OPTIONS
    source: str = ""  # the outbox row's (a committee group's post names its purpose)


def with_options(reply_markup: Mapping[str, Any] | None, **options: Any) -> dict[str, Any] | None:
    """A row's `reply_markup` carrying send options (those that are not None)."""
    kept = {k: v for k, v in options.items() if v is not None}
    if not kept:
        return None if reply_markup is None else dict(reply_markup)
    return {**(reply_markup or {}), SEND_OPTIONS: kept}


def split_options(
    stored: Mapping[str, Any] | None,
) -> tuple[dict[str, Any] | None, Mapping[str, Any] | None]:
    """A row's `reply_markup` as (the buttons, the send options)."""
    if stored is None or SEND_OPTIONS not in stored:
        return (None if stored is None else dict(stored)), None
    markup = {k: v for k, v in stored.items() if k != SEND_OPTIONS}
    return (markup or None), stored[SEND_OPTIONS]


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
    """Telegram accepted the message (a poll's id too, for a poll)."""

    message_id: int
    poll_id: str | None = None


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
class ThreadGone:
    """The forum topic was deleted, or closed to the bot: post again in a new one."""

    reason: str


@dataclass(frozen=True)
class Rejected:
    """Any other refusal (a 400 on the message itself): retrying would not help."""

    reason: str


Outcome = (
    Delivered | RateLimited | Transient | Blocked | ChatNotFound | Migrated | ThreadGone | Rejected
)


class Transport(Protocol):
    """Sends one message to Telegram and says what happened; never raises for API errors."""

    async def send(self, message: Outgoing) -> Outcome: ...

    async def close(self) -> None: ...
