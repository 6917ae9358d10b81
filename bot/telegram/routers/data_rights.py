"""/mydata sends a member everything stored about them; /forget erases them, once confirmed.

The confirmation takes a button or a typed yes/no (in the member's language or English).
"""

from __future__ import annotations

from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.domain.reading import normalise
from bot.i18n import Translator
from bot.services import data_rights
from bot.services.sealing import Sealer
from bot.storage.models import Member
from bot.telegram.callbacks import ForgetChoice
from bot.telegram.filters import PlainText, PrivateChat, command
from bot.telegram.render import Responder


class ConfirmingForget(Filter):
    """Matches a member whose /forget awaits their yes or no."""

    async def __call__(
        self,
        event: Any,
        member: Member | None = None,
        session: AsyncSession | None = None,
        clock: Clock | None = None,
    ) -> bool:
        if member is None or session is None or clock is None:
            return False
        return await data_rights.is_confirming(session, member=member, now=clock.now())


async def on_mydata(
    message: Message,
    session: AsyncSession,
    member: Member | None,
    sealer: Sealer,
    clock: Clock,
    locale: str,
    responder: Responder,
) -> None:
    """Send the member a JSON file of all that is stored about them."""
    if member is None:
        responder.text("mydata.nothing", locale=locale)
        return
    data = await data_rights.export_member_data(
        session, member=member, sealer=sealer, now=clock.now()
    )
    t = responder.catalogs.translator(locale)
    responder.document(data, "partnerbot-my-data.json", caption=t("mydata.caption"))


async def on_forget(
    message: Message,
    session: AsyncSession,
    member: Member | None,
    clock: Clock,
    locale: str,
    responder: Responder,
) -> None:
    """Ask the member to confirm that everything about them should be erased."""
    if member is None:
        responder.text("forget.nothing", locale=locale)
        return
    await data_rights.ask_to_forget(session, member=member, now=clock.now())
    t = responder.catalogs.translator(locale)
    rows = [
        [
            InlineKeyboardButton(
                text=t("forget.button_yes"), callback_data=ForgetChoice(answer="yes").pack()
            ),
            InlineKeyboardButton(
                text=t("forget.button_no"), callback_data=ForgetChoice(answer="no").pack()
            ),
        ]
    ]
    responder.text(
        "forget.confirm", locale=locale, markup=InlineKeyboardMarkup(inline_keyboard=rows)
    )


async def on_typed_answer(
    message: Message,
    session: AsyncSession,
    member: Member,
    sealer: Sealer,
    clock: Clock,
    responder: Responder,
) -> None:
    """A typed yes or no to /forget's question."""
    t = responder.catalogs.translator(member.language)
    said = normalise(message.text or "")
    if said in {normalise(t("common.yes")), "yes", "y"}:
        await _forget(session, member, sealer, clock, responder)
    elif said in {normalise(t("common.no")), "no", "n"}:
        await _keep(session, member, responder)
    else:
        responder.text("forget.yes_or_no", locale=member.language)


async def on_cancel(
    message: Message, session: AsyncSession, member: Member, responder: Responder
) -> None:
    """/cancel while /forget awaits an answer keeps everything."""
    await _keep(session, member, responder)


async def on_press(
    callback: CallbackQuery,
    callback_data: ForgetChoice,
    session: AsyncSession,
    member: Member | None,
    sealer: Sealer,
    clock: Clock,
    t: Translator,
    responder: Responder,
) -> None:
    """The yes or no button of /forget; a stale one does nothing."""
    if member is None or not await data_rights.is_confirming(
        session, member=member, now=clock.now()
    ):
        responder.answer_callback(callback, t("chat.closed"))
        return
    responder.answer_callback(callback)
    if isinstance(callback.message, Message):
        responder.remove_buttons(callback.message.message_id)
    if callback_data.answer == "yes":
        await _forget(session, member, sealer, clock, responder)
    else:
        await _keep(session, member, responder)


async def _forget(
    session: AsyncSession, member: Member, sealer: Sealer, clock: Clock, responder: Responder
) -> None:
    locale = member.language
    await data_rights.forget(session, member=member, sealer=sealer, now=clock.now())
    responder.text("forget.done", locale=locale)


async def _keep(session: AsyncSession, member: Member, responder: Responder) -> None:
    await data_rights.keep(session, member=member)
    responder.text("forget.kept", locale=member.language)


def create_router() -> Router:
    """The data rights router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_mydata, command("mydata"))
    router.message.register(on_forget, command("forget"))
    router.message.register(on_cancel, command("cancel"), ConfirmingForget())
    router.message.register(on_typed_answer, PlainText(), ConfirmingForget())
    router.callback_query.register(on_press, ForgetChoice.filter())
    return router
