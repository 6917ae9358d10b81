"""Answers to the open question: button presses, typed text, and anything else sent."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.engine import MediaInput, PressInput, TextInput
from bot.domain.media import MediaItem
from bot.i18n import Translator
from bot.services.conversations import Conversations, UserRef
from bot.storage.models import Member
from bot.telegram.callbacks import Answer
from bot.telegram.filters import HasText, PrivateChat
from bot.telegram.render import Responder


async def on_press(
    callback: CallbackQuery,
    callback_data: Answer,
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    responder: Responder,
) -> None:
    """A button of a question was pressed."""
    event = PressInput(node_id=callback_data.node_id, value=callback_data.value)
    outcome = await conversations.answer(
        session, user=user, member=member, event=event, run_id=callback_data.run_id
    )
    if outcome.closed:
        responder.answer_callback(callback, responder.translator(outcome)("chat.closed"))
        return
    responder.answer_callback(callback)
    message = callback.message if isinstance(callback.message, Message) else None
    if message is not None and not outcome.refresh:
        # The question is answered: its buttons go and the answer shows, so a member
        # scrolling back sees what they said and what is still open.
        responder.show_answer(outcome, message)
    responder.show(outcome, edit_message_id=None if message is None else message.message_id)


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
    await _sent(message, event, session, user, member, conversations, responder)


async def _sent(
    message: Message,
    event: TextInput | MediaInput,
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    responder: Responder,
) -> None:
    outcome = await conversations.answer(
        session, user=user, member=member, event=event, message_id=message.message_id
    )
    if outcome.stale_buttons is not None:
        responder.remove_buttons(outcome.stale_buttons)
    responder.show(outcome)


def media_item(message: Message) -> MediaItem:
    """What a message carries besides text, as Telegram's file ids (nothing is downloaded)."""
    if message.voice is not None:
        return MediaItem("voice", message.voice.file_id, message.voice.file_unique_id)
    if message.photo:
        largest = message.photo[-1]  # Telegram lists a photo's sizes smallest first
        return MediaItem("photo", largest.file_id, largest.file_unique_id)
    if message.document is not None:
        return MediaItem("document", message.document.file_id, message.document.file_unique_id)
    if message.location is not None:
        place = message.location
        return MediaItem("location", latitude=place.latitude, longitude=place.longitude)
    return MediaItem(str(message.content_type))


async def on_other_content(
    message: Message,
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    locale: str,
    responder: Responder,
) -> None:
    """Voice notes, photos, places answer a media question; anything a question does not take
    (a sticker, say) is refused politely and the question asked again."""
    if member is None:
        responder.text("chat.unsupported", locale=locale)
        return
    event = MediaInput(item=media_item(message))
    await _sent(message, event, session, user, member, conversations, responder)


async def on_unknown_press(callback: CallbackQuery, t: Translator, responder: Responder) -> None:
    """A button no handler knows (an old keyboard, forged data): answered, so that the phone
    stops waiting."""
    responder.answer_callback(callback, t("chat.unknown_button"))


async def on_edit(message: Message, locale: str, responder: Responder) -> None:
    """An edited message: what was sent is what counts, so say how to change an answer."""
    responder.text("chat.edit_not_read", locale=locale)


def create_router() -> Router:
    """The conversation router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.edited_message.filter(PrivateChat())
    router.callback_query.register(on_press, Answer.filter())
    # Routers before this one handled every button they know.
    router.callback_query.register(on_unknown_press)
    router.message.register(on_text, HasText())
    router.message.register(on_other_content)
    router.edited_message.register(on_edit, HasText())
    return router
