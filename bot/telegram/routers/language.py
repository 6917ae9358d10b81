"""/language: pick the language the bot speaks, at any moment, without losing one's place."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Catalogs
from bot.services.conversations import Conversations, UserRef
from bot.storage.models import Member
from bot.telegram.callbacks import LanguageChoice
from bot.telegram.filters import command
from bot.telegram.render import Responder


async def on_language(
    message: Message,
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    catalogs: Catalogs,
    locale: str,
    responder: Responder,
) -> None:
    """Offer every shipped language, each named in itself."""
    if member is None:
        responder.show(await conversations.start_command(session, user=user, member=None))
        return
    buttons = [
        [
            InlineKeyboardButton(
                text=catalogs.translator(code)(f"language.name.{code}"),
                callback_data=LanguageChoice(code=code).pack(),
            )
        ]
        for code in catalogs.locales
    ]
    markup = InlineKeyboardMarkup(inline_keyboard=buttons)
    responder.text("cmd.language.choose", locale=locale, markup=markup)


async def on_language_chosen(
    callback: CallbackQuery,
    callback_data: LanguageChoice,
    session: AsyncSession,
    user: UserRef,
    member: Member | None,
    conversations: Conversations,
    responder: Responder,
) -> None:
    """Switch the language and ask the open question again in it."""
    code = callback_data.code
    if member is None or code not in conversations.locales:
        responder.answer_callback(callback)
        return
    outcome = await conversations.set_language(session, user=user, member=member, locale=code)
    responder.answer_callback(callback)
    responder.show(outcome)


def create_router() -> Router:
    """The language router."""
    router = Router(name=__name__)
    router.message.register(on_language, command("language"))
    router.callback_query.register(on_language_chosen, LanguageChoice.filter())
    return router
