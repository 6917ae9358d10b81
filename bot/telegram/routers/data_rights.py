"""/mydata sends a member everything stored about them (/forget, which erases them once
confirmed, is a guided command: `bot.domain.guides.forget`)."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.domain.clock import Clock
from bot.services import data_rights
from bot.services.sealing import Sealer
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command


async def on_mydata(message: Message, ctx: Context, sealer: Sealer, clock: Clock) -> None:
    """Send the member a JSON file of all that is stored about them."""
    if ctx.member is None:
        ctx.responder.text("mydata.nothing", locale=ctx.locale)
        return
    data = await data_rights.export_member_data(
        ctx.session, member=ctx.member, sealer=sealer, now=clock.now()
    )
    ctx.responder.document(data, "partnerbot-my-data.json", caption=ctx.t("mydata.caption"))


def create_router() -> Router:
    """The data rights router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_mydata, command("mydata"))
    return router
