"""/mydata sends a member everything stored about them (/forget, which erases them once
confirmed, is a guided command: `bot.domain.guides.forget`)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.services import data_rights
from bot.services.sealing import Sealer
from bot.storage.models import Member
from bot.telegram.filters import PrivateChat, command
from bot.telegram.render import Responder


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


def create_router() -> Router:
    """The data rights router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_mydata, command("mydata"))
    return router
