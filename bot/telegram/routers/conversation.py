"""Answers to the open question: button presses, typed text, and anything else sent."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.domain.engine import MediaInput, PressInput, TextInput
from bot.domain.media import MediaItem
from bot.services.conversations import Conversations
from bot.telegram.callbacks import Answer
from bot.telegram.context import Context
from bot.telegram.filters import HasText, PrivateChat


async def on_press(
    callback: CallbackQuery, callback_data: Answer, ctx: Context, conversations: Conversations
) -> None:
    """A button of a question was pressed."""
    responder = ctx.responder
    event = PressInput(node_id=callback_data.node_id, value=callback_data.value)
    outcome = await conversations.answer(
        ctx.session, user=ctx.user, member=ctx.member, event=event, run_id=callback_data.run_id
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


async def on_text(message: Message, ctx: Context, conversations: Conversations) -> None:
    """Typed text answers the open question."""
    await _sent(message, TextInput(text=message.text or ""), ctx, conversations)


async def _sent(
    message: Message, event: TextInput | MediaInput, ctx: Context, conversations: Conversations
) -> None:
    outcome = await conversations.answer(
        ctx.session, user=ctx.user, member=ctx.member, event=event, message_id=message.message_id
    )
    if outcome.stale_buttons is not None:
        ctx.responder.remove_buttons(outcome.stale_buttons)
    ctx.responder.show(outcome)


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


async def on_other_content(message: Message, ctx: Context, conversations: Conversations) -> None:
    """Voice notes, photos, places answer a media question; anything a question does not take
    (a sticker, say) is refused politely and the question asked again."""
    if ctx.member is None:
        ctx.responder.text("chat.unsupported", locale=ctx.locale)
        return
    await _sent(message, MediaInput(item=media_item(message)), ctx, conversations)


async def on_unknown_press(callback: CallbackQuery, ctx: Context) -> None:
    """A button no handler knows (an old keyboard, forged data): answered, so that the phone
    stops waiting."""
    ctx.responder.answer_callback(callback, ctx.t("chat.unknown_button"))


async def on_edit(message: Message, ctx: Context) -> None:
    """An edited message: what was sent is what counts, so say how to change an answer."""
    ctx.responder.text("chat.edit_not_read", locale=ctx.locale)


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
