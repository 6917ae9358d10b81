"""/forget's host: the member's own words for yes and no; the erasure."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.champions import ERASED
from bot.domain.clock import Clock
from bot.domain.guided import Data, Effect
from bot.i18n import Catalogs
from bot.services import data_rights
from bot.services.champions import Champions
from bot.services.guides import host
from bot.services.sealing import Sealer
from bot.storage.models import Member


@host("forget")
class ForgetHost:
    """/forget: the member's own words for yes and no; the erasure."""

    def __init__(
        self, catalogs: Catalogs, sealer: Sealer, clock: Clock, champions: Champions | None = None
    ) -> None:
        self.catalogs, self.sealer, self.clock = catalogs, sealer, clock
        self.champions = champions

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        t = self.catalogs.translator(member.language)
        return {"yes": t("common.yes"), "no": t("common.no")}

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        if self.champions is not None:  # before the erasure: the alert names nobody
            await self.champions.departed(session, member, ERASED)
        await data_rights.forget(session, member=member, sealer=self.sealer, now=self.clock.now())
        return {}
