"""The guided commands' hosts (their facts and effects) and the one `Guides` that serves them."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain import concerns as rules
from bot.domain.broadcasts import Draft as BroadcastDraft
from bot.domain.champions import ERASED
from bot.domain.clock import Clock
from bot.domain.guided import Data, Effect
from bot.domain.guides.broadcast import Broadcast
from bot.domain.guides.caucus import CaucusRounds
from bot.domain.guides.champions import ChampionsGuide
from bot.domain.guides.commitment import NewCommitment
from bot.domain.guides.forget import Forget
from bot.domain.guides.proxy import Proxy
from bot.domain.guides.schedule import Schedule
from bot.domain.guides.ticket import AnswerTicket
from bot.domain.guides.variation import ProposeVariation
from bot.domain.schedule_draft import ScheduleDraft
from bot.domain.schedules import ScheduleError, local_moment, relative_day
from bot.i18n import Catalogs
from bot.services import data_rights, proxy
from bot.services.broadcasts import Broadcasts
from bot.services.caucus import Caucus, CaucusHost
from bot.services.champion_host import ChampionsHost
from bot.services.champions import Champions
from bot.services.checkins import Checkins, span, spec_of
from bot.services.commitment_guides import CommitmentHost, VariationHost
from bot.services.commitments import Commitments
from bot.services.concerns import Concerns, actions_keyboard
from bot.services.conversations import Conversations, UserRef
from bot.services.guided import Guide, Guides
from bot.services.reports import Reports
from bot.services.sealing import Sealer
from bot.storage import audit
from bot.storage.db import SessionFactory
from bot.storage.models import BroadcastStatus, Member

MOMENT = "%Y-%m-%d %H:%M"


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


class TicketHost:
    """Answering a ticket: its handle; the answer or the decline, and what became of it."""

    def __init__(self, concerns: Concerns, catalogs: Catalogs) -> None:
        self.concerns, self.catalogs = concerns, catalogs

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        ticket = await self.concerns.get(session, int(data.get("ticket_id", 0)))
        return {"handle": None if ticket is None else ticket.handle}

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        ticket_id = int(effect.params["ticket_id"])
        if effect.name == "move":
            return await self.move(session, member, ticket_id, str(effect.params["status"]), None)
        ticket = await self.concerns.get(session, ticket_id)
        if ticket is None:
            return {"said": "ticket.cancelled"}
        text, handle = str(effect.params["text"]), ticket.handle
        if effect.name == "decline":
            return await self.move(session, member, ticket.id or 0, rules.DECLINED, text)
        if await self.concerns.answer(session, coordinator=member, ticket=ticket, text=text):
            return {"said": "ticket.answer_sent", "params": {"handle": handle}}
        # Nobody will read it: say so, and show the ticket again so that it can be closed.
        return {
            "said": "ticket.raiser_gone",
            "params": {"handle": handle},
            **await self._card(session, member, ticket.id or 0),
        }

    async def move(
        self, session: AsyncSession, member: Member, ticket_id: int, status: str, reason: str | None
    ) -> Data:
        """Move the ticket on; what to say, and its card while it stays open."""
        ticket = await self.concerns.get(session, ticket_id)
        if ticket is None:
            return {"said": "ticket.cancelled"}
        try:
            await self.concerns.move(
                session, coordinator=member, ticket=ticket, status=status, reason=reason
            )
        except rules.ConcernError as exc:
            return {"said": f"ticket.error.{exc.code}", "params": {"handle": ticket.handle}}
        t = self.catalogs.translator(member.language)
        said = {
            "said": "ticket.moved",
            "params": {"handle": ticket.handle, "status": t(f"ticket.status.{status}")},
        }
        if status in rules.CLOSED:
            return said
        return {**said, **await self._card(session, member, ticket_id)}

    async def _card(self, session: AsyncSession, member: Member, ticket_id: int) -> Data:
        ticket = await self.concerns.get(session, ticket_id)
        if ticket is None:
            return {}
        t = self.catalogs.translator(member.language)
        return {
            "card": await self.concerns.card(session, ticket, t),
            "keyboard": actions_keyboard(ticket, t),
        }


class BroadcastHost:
    """/broadcast: the audience picker's choices and size, the partnership's zone; sending."""

    def __init__(self, broadcasts: Broadcasts) -> None:
        self.broadcasts = broadcasts

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        draft, b = BroadcastDraft.from_json(data), self.broadcasts
        send_at = None if draft.send_at is None else b.scheduled_for(draft.send_at)
        return {
            "groups": b.groups,
            "locales": b.locales,
            "committees": await b.committees(session),
            "audience_size": await b.audience_size(session, draft.audience),
            "timezone": b.partnership_timezone,
            "send_at": None if send_at is None else send_at.strftime(MOMENT),
        }

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        draft = BroadcastDraft.from_json(effect.params)
        broadcast = await self.broadcasts.confirm(session, coordinator=member, draft=draft)
        when = None
        if broadcast.status == BroadcastStatus.SCHEDULED:
            when = self.broadcasts.scheduled_for(broadcast.send_at).strftime(MOMENT)
        return {"id": broadcast.id, "total": broadcast.total, "when": when}


class ScheduleHost:
    """A new schedule: the conversations, the audience picker's choices and size, the
    partnership's zone and date, the summary to confirm; creating it."""

    def __init__(self, checkins: Checkins, catalogs: Catalogs, clock: Clock) -> None:
        self.checkins, self.catalogs, self.clock = checkins, catalogs, clock

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        draft = ScheduleDraft.from_json(data) if data else ScheduleDraft()
        c, now = self.checkins, self.clock.now()
        found = {
            "flows": {f.id: f.title for f in c.schedulable},
            "groups": c.groups,
            "locales": c.locales,
            "committees": await c.committees(session),
            "audience_size": await c.audience_size(session, draft.audience),
            "timezone": c.partnership_timezone,
            "today": c.local_today(now),
        }
        if draft.step == "preview":
            found["summary"] = await self._summary(session, member, draft)
        return found

    async def _summary(self, session: AsyncSession, member: Member, draft: ScheduleDraft) -> Data:
        c, now, t = self.checkins, self.clock.now(), self.catalogs.translator(member.language)
        spec = draft.spec()
        if spec.recurrence.relative:
            day = relative_day(now, spec.recurrence.after_days, c.tz)
            example = c.format_moment(local_moment(day, spec.recurrence.at, c.tz), t)
            preview = t("schedules.preview_relative", when=example)
        else:
            moments = c.preview(spec, now=now)
            preview = "\n".join(f"• {c.format_moment(m, t)}" for m in moments)
            preview = preview or t("schedules.preview_none")
        return {
            "flow": c.flow_title(spec.flow_id, t),
            "when": c.describe(spec, t),
            "audience": c.describe_audience(c.audience_of(spec), t),
            "count": await c.audience_size(session, c.audience_of(spec)),
            "window": span(spec.window, t),
            "reminders": c.describe_reminders(spec, t),
            "preview": preview,
        }

    async def perform(self, session: AsyncSession, member: Member, effect: Effect) -> Data:
        c, now, t = self.checkins, self.clock.now(), self.catalogs.translator(member.language)
        try:
            spec = ScheduleDraft.from_json(effect.params).spec()
            schedule = await c.create(session, spec, now=now, created_by=member.id)
        except ScheduleError as exc:
            return {"error": (exc.key, exc.params)}
        assert schedule is not None
        detail = {"schedule": schedule.id, "flow": schedule.flow_id}
        await audit.record(session, actor=member, action="schedule.created", detail=detail, now=now)
        upcoming = c.next_send(schedule, now=now)
        when = c.format_moment(upcoming, t) if upcoming else c.describe(spec_of(schedule), t)
        return {"id": schedule.id, "when": when}


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


def build_guides(
    *,
    conversations: Conversations,
    broadcasts: Broadcasts,
    checkins: Checkins,
    catalogs: Catalogs,
    sealer: Sealer,
    clock: Clock,
    concerns: Concerns | None,
    caucus: Caucus | None = None,
    champions: Champions | None = None,
    reports: Reports | None = None,
    reads: SessionFactory | None = None,
    commitments: Commitments | None = None,
) -> Guides:
    """Every guided command with its host."""
    guides = [
        Guide(Broadcast(), BroadcastHost(broadcasts)),
        Guide(
            Forget(),
            ForgetHost(catalogs, sealer, clock, champions),
            lapse=data_rights.CONFIRM_WITHIN,
        ),
        Guide(Proxy(), ProxyHost(conversations)),
        Guide(Schedule(), ScheduleHost(checkins, catalogs, clock)),
    ]
    if concerns is not None:
        guides.append(Guide(AnswerTicket(), TicketHost(concerns, catalogs)))
    if caucus is not None:
        guides.append(Guide(CaucusRounds(), CaucusHost(caucus)))
    if champions is not None:
        guides.append(
            Guide(ChampionsGuide(), ChampionsHost(champions, reports=reports, reads=reads))
        )
    if commitments is not None:
        guides.append(Guide(NewCommitment(), CommitmentHost(commitments)))
        guides.append(Guide(ProposeVariation(), VariationHost(commitments)))
    return Guides(guides, clock=clock)
