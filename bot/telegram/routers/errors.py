"""The last resort: an update whose handling failed is logged and the member told (once).

A passing database failure was already logged by `UpdateAttempts`; when Telegram delivers the
update again (webhook), the member is told nothing: the next delivery may well succeed.
"""

from __future__ import annotations

import logging

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import ErrorEvent

from bot.i18n import Catalogs, Translator
from bot.telegram.attempts import passing

log = logging.getLogger(__name__)


async def on_error(
    event: ErrorEvent,
    bot: Bot,
    catalogs: Catalogs,
    redelivered: bool = False,
    t: Translator | None = None,
) -> None:
    """Log a bug with its traceback; apologise in the chat, unless the update comes again.

    In the member's chosen language (`t`, from `MemberLocale`), or their phone's when the
    failure came before it was known."""
    update = event.update
    if passing(event.exception):
        if redelivered:
            return
    else:
        log.error("update %s failed", update.update_id, exc_info=event.exception)
    if update.callback_query is not None:
        try:
            # The phone shows a spinner on the button until the press is answered.
            await bot.answer_callback_query(update.callback_query.id)
        except TelegramAPIError as exc:
            log.warning("could not answer button press %s: %s", update.callback_query.id, exc)
    source = update.message or (update.callback_query.message if update.callback_query else None)
    user = update.message.from_user if update.message else None
    if update.callback_query:
        user = update.callback_query.from_user
    if source is None or user is None:
        return
    t = t or catalogs.translator(user.language_code)
    try:
        await bot.send_message(chat_id=source.chat.id, text=t("chat.error"))
    except TelegramAPIError as exc:
        log.error("could not apologise in chat %s: %s", source.chat.id, exc)


def create_router() -> Router:
    """The errors router."""
    router = Router(name=__name__)
    router.errors.register(on_error)
    return router
