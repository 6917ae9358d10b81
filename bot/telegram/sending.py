"""The outbox sender's way to Telegram: one aiogram call per message, errors turned into outcomes.

The Bot used here has no retrying middleware: the sender schedules its own retries.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    ForceReply,
    InlineKeyboardMarkup,
    InputPollOption,
    Message,
    Poll,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.config import Settings
from bot.delivery.transport import (
    Blocked,
    ChatNotFound,
    Delivered,
    Migrated,
    Outcome,
    Outgoing,
    RateLimited,
    Rejected,
    ThreadGone,
    Transient,
)
from bot.domain.media import place_of
from bot.telegram.factory import build_bot

log = logging.getLogger(__name__)
Markup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply
# What Telegram says when the chat is gone or was never open to the bot.
CHAT_GONE = ("chat not found", "peer_id_invalid", "user not found")
# ... and when a forum topic was deleted, or closed to the bot.
THREAD_GONE = ("message thread not found", "topic_closed", "topic_deleted", "topic_id_invalid")


def _markup(data: dict[str, Any] | None) -> Markup | None:
    if data is None:
        return None
    if "inline_keyboard" in data:
        return InlineKeyboardMarkup.model_validate(data)
    if "keyboard" in data:
        return ReplyKeyboardMarkup.model_validate(data)
    if "remove_keyboard" in data:
        return ReplyKeyboardRemove.model_validate(data)
    if "force_reply" in data:
        return ForceReply.model_validate(data)
    raise ValueError(f"unknown reply markup: {sorted(data)}")


class BotTransport:
    """Sends outbox messages through an aiogram Bot."""

    def __init__(self, bot: Bot) -> None:
        self.bot = bot

    async def _call(self, message: Outgoing) -> Message | Poll:
        paid = True if message.paid else None
        markup = _markup(message.reply_markup)
        options = message.options or {}
        thread = options.get("thread_id")
        if message.kind == "text":
            return await self.bot.send_message(
                message.chat_id,
                message.text,
                reply_markup=markup,
                allow_paid_broadcast=paid,
                message_thread_id=thread,
            )
        if message.kind == "poll":
            poll = options["poll"]
            return await self.bot.send_poll(
                message.chat_id,
                message.text,
                [InputPollOption(text=text) for text in poll["options"]],
                is_anonymous=bool(poll["is_anonymous"]),
                message_thread_id=thread,
            )
        if message.kind == "stop_poll":
            return await self.bot.stop_poll(message.chat_id, int(options["message_id"]))
        if message.media_file_id is None:
            raise ValueError(f"a {message.kind} message without media_file_id")
        files: dict[str, Callable[..., Awaitable[Message]]] = {
            "photo": self.bot.send_photo,
            "document": self.bot.send_document,
            "voice": self.bot.send_voice,
        }
        send_file = files.get(message.kind)
        if send_file is not None:
            return await send_file(
                message.chat_id,
                message.media_file_id,
                message_thread_id=thread,
                caption=message.text or None,
                reply_markup=markup,
                allow_paid_broadcast=paid,
            )
        if message.kind == "location":
            latitude, longitude = place_of(message.media_file_id)
            return await self.bot.send_location(
                message.chat_id,
                latitude,
                longitude,
                reply_markup=markup,
                allow_paid_broadcast=paid,
            )
        raise ValueError(f"unknown message kind {message.kind!r}")

    async def send(self, message: Outgoing) -> Outcome:
        """Send one message; every Telegram answer becomes an outcome."""
        try:
            sent = await self._call(message)
        except TelegramRetryAfter as exc:
            return RateLimited(float(exc.retry_after))
        except TelegramMigrateToChat as exc:
            return Migrated(exc.migrate_to_chat_id)
        except TelegramForbiddenError as exc:
            return Blocked(exc.message)
        except TelegramBadRequest as exc:
            if any(marker in exc.message.lower() for marker in CHAT_GONE):
                return ChatNotFound(exc.message)
            if (message.options or {}).get("thread_id") is not None and any(
                marker in exc.message.lower() for marker in THREAD_GONE
            ):
                return ThreadGone(exc.message)
            return Rejected(exc.message)
        except (TelegramEntityTooLarge, TelegramNotFound) as exc:
            return Rejected(exc.message)
        except (TelegramServerError, TelegramNetworkError, TelegramUnauthorizedError) as exc:
            # A revoked or mistyped token is fixed by an operator: keep the messages queued.
            return Transient(f"{type(exc).__name__}: {exc.message}")
        except TelegramAPIError as exc:
            return Rejected(exc.message)
        except ClientDecodeError as exc:
            return Transient(f"unreadable answer: {exc.message}")
        except ValueError as exc:
            return Rejected(str(exc))
        if isinstance(sent, Poll):
            return Delivered(int((message.options or {})["message_id"]), poll_id=sent.id)
        return Delivered(sent.message_id, poll_id=sent.poll.id if sent.poll else None)

    async def close(self) -> None:
        """Close the Bot's HTTP session."""
        await self.bot.session.close()


def build_transport(settings: Settings) -> BotTransport:
    """A transport with a Bot of its own that never retries: the sender schedules retries."""
    return BotTransport(build_bot(settings, retry=False))
