"""/language: pick the language the bot speaks, at any moment, without losing one's place."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.i18n import Catalogs
from bot.services.conversations import Conversations
from bot.telegram.callbacks import LanguageChoice
from bot.telegram.context import Context
from bot.telegram.filters import command


async def on_language(
    message: Message, ctx: Context, conversations: Conversations, catalogs: Catalogs
) -> None:
    """Offer every shipped language, each named in itself."""
    if ctx.member is None:
        ctx.responder.show(
            await conversations.start_command(ctx.session, user=ctx.user, member=None)
        )
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
    ctx.responder.text("cmd.language.choose", locale=ctx.locale, markup=markup)


async def on_language_chosen(
    callback: CallbackQuery,
    callback_data: LanguageChoice,
    ctx: Context,
    conversations: Conversations,
) -> None:
    """Switch the language and ask the open question again in it."""
    code, member, responder = callback_data.code, ctx.member, ctx.responder
    if member is None or code not in conversations.locales:
        responder.answer_callback(callback)
        return
    outcome = await conversations.set_language(
        ctx.session, user=ctx.user, member=member, locale=code
    )
    responder.answer_callback(callback)
    responder.show(outcome)


def create_router() -> Router:
    """The language router."""
    router = Router(name=__name__)
    router.message.register(on_language, command("language"))
    router.callback_query.register(on_language_chosen, LanguageChoice.filter())
    return router
