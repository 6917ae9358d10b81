"""/proxy's host: the questionnaires, groups and languages to choose from; starting the run."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.guided import Data, Effect
from bot.services import proxy
from bot.services.conversations import Conversations, UserRef
from bot.services.guides import host
from bot.storage.models import Member


@host("proxy")
class ProxyHost:
    """/proxy: the questionnaires, groups and languages to choose from; starting the run."""

    def __init__(self, conversations: Conversations) -> None:
        self.conversations = conversations

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        flows = self.conversations.flows
        return {
            "flows": {f.id: f.title for f in proxy.eligible_flows(flows)},
            "groups": tuple(flows.options_for("stakeholder_group")),
            "locales": tuple(self.conversations.locales),
        }

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        flow_id = str(effect.params["flow"])
        details = {"group": effect.params["group"], "language": effect.params["language"]}
        user = UserRef(member.telegram_user_id, member.chat_id, member.display_name)
        outcome = await self.conversations.begin(
            session, user=user, member=member, flow_id=flow_id, proxy=details
        )
        running = await proxy.running_proxy_run(session, member=member)
        started = running is not None and running.flow_id == flow_id and running.proxy == details
        if running is not None and started:
            now = self.conversations.clock.now()
            await proxy.record_session(session, member=member, run=running, event="start", now=now)
        title = self.conversations.flows[flow_id].title
        return {"started": started, "title": title, "engine": outcome}
