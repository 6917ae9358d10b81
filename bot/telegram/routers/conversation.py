"""Answers to the open question: button presses, typed text, and anything else sent."""

from __future__ import annotations

import logging

from aiogram import F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.engine import PressInput, TextInput
from bot.domain.payload import PREFIX, decode_answer
from bot.services.conversations import Conversations, UserRef
from bot.storage.models import Member
from bot.telegram.render import Responder

log = logging.getLogger(__name__)


async def on_press(
    callback: CallbackQuery,
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    responder: Responder,
) -> None:
    """A button of a question was pressed."""
    payload = decode_answer(callback.data or "")
    if payload is None:
        await callback.answer()
        return
    event = PressInput(node_id=payload.node_id, value=payload.value)
    outcome = await conversations.answer(
        session, user=user, member=member, event=event, run_id=payload.run_id
    )
    if outcome.closed:
        t = responder.translator(outcome)
        await callback.answer(t("chat.closed"))
        return
    await callback.answer()
    message = callback.message
    message_id = message.message_id if isinstance(message, Message) else None
    if message_id is not None and not outcome.refresh:
        await _close_buttons(callback, message_id)
    await responder.show(outcome, edit_message_id=message_id)


async def _close_buttons(callback: CallbackQuery, message_id: int) -> None:
    # The question is answered: its buttons go, so the chat shows what is still open.
    try:
        await callback.bot.edit_message_reply_markup(  # type: ignore[union-attr]
            chat_id=callback.from_user.id, message_id=message_id, reply_markup=None
        )
    except TelegramAPIError as exc:
        log.warning("could not remove answered buttons in chat %s: %s", callback.from_user.id, exc)


async def on_text(
    message: Message,
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    responder: Responder,
) -> None:
    """Typed text answers the open question."""
    event = TextInput(text=message.text or "")
    await responder.show(await conversations.answer(session, user=user, member=member, event=event))


async def on_other_content(
    message: Message,
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    responder: Responder,
) -> None:
    """Stickers, photos, voice notes: say what we can read and ask again."""
    await responder.text("chat.unsupported", locale=conversations.locale_of(user, member))
    if member is not None:
        await responder.show(await conversations.reprompt(session, user=user, member=member))


def create_router() -> Router:
    """The conversation router."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.register(on_press, F.data.startswith(f"{PREFIX}:"))
    router.message.register(on_text, F.text)
    router.message.register(on_other_content)
    return router
