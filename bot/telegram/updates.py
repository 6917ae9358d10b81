"""Reading updates aiogram cannot read: logged and skipped, by polling and by webhook alike."""

from __future__ import annotations

import logging
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import ClientDecodeError
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiogram.types import Update
from aiogram.types.update import UpdateTypeLookupError
from pydantic import ValidationError

log = logging.getLogger(__name__)


def carries_nothing(update: Update) -> bool:
    """The update holds no event aiogram knows: a placeholder for an unreadable one, or a
    kind of update newer than aiogram."""
    try:
        update.event_type  # noqa: B018 (raises when there is no event)
    except UpdateTypeLookupError:
        return True
    return False


class SkipUnreadableUpdates(BaseRequestMiddleware):
    """Keeps polling going past an update aiogram cannot read: it is logged and skipped.

    aiogram validates a getUpdates answer as a whole, so one update its models reject (a field
    Telegram sends in a shape aiogram does not expect) fails the call, the offset never moves
    and polling fetches the same batch forever (aiogram/aiogram#1840, #1587). Here the readable
    updates of such an answer are handed on, and each unreadable one becomes a placeholder with
    only its id, so that the offset moves past it.
    """

    async def __call__(
        self,
        call_next: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if method.__api_method__ != GetUpdates.__api_method__:
            return await call_next(bot, method)
        try:
            return await call_next(bot, method)
        except ClientDecodeError as exc:
            updates = _read_one_by_one(exc.data, bot)
            if updates is None:
                raise
            # What passes between request middlewares is the call's result, although typed as
            # `Response` (aiogram's session casts it back in `BaseSession.__call__`).
            return cast(Response[TelegramType], updates)


def _read_one_by_one(data: Any, bot: Bot) -> list[Update] | None:
    """The updates of a getUpdates answer, each unreadable one as a placeholder; None when the
    answer is not a list of updates with ids at all."""
    if not isinstance(data, dict) or data.get("ok") is not True:
        return None
    raw_updates = data.get("result")
    if not isinstance(raw_updates, list):
        return None
    try:
        return [read_update(raw, bot) for raw in raw_updates]
    except ValueError:
        return None


def read_update(raw: Any, bot: Bot) -> Update:
    """The update `raw` holds; a placeholder with only its id (logged, then skipped by the
    dispatcher) when aiogram cannot read it; ValueError when it is no update at all."""
    try:
        return Update.model_validate(raw, context={"bot": bot})
    except ValidationError as error:
        update_id = raw.get("update_id") if isinstance(raw, dict) else None
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            raise ValueError("not an update") from None
        log.error(
            "update %s cannot be read and is skipped (%d problem(s), first at %s: %s)",
            update_id,
            error.error_count(),
            ".".join(str(part) for part in error.errors()[0]["loc"]),
            error.errors()[0]["msg"],
        )
        return Update(update_id=update_id)
