"""A new schedule's host: the choices, the summary to confirm; creating it."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.domain.guided import Data, Effect
from bot.domain.schedule_draft import ScheduleDraft
from bot.domain.schedules import ScheduleError, local_moment, relative_day
from bot.i18n import Catalogs
from bot.services.checkins import Checkins, span, spec_of
from bot.services.guides import host
from bot.services.guides.audience import picker_facts
from bot.storage import audit
from bot.storage.audiences import count_audience
from bot.storage.models import Member


@host("schedule")
class ScheduleHost:
    """A new schedule: the conversations, the audience picker's choices and size, the
    partnership's zone and date, the summary to confirm; creating it."""

    def __init__(self, checkins: Checkins, catalogs: Catalogs, clock: Clock) -> None:
        self.checkins, self.catalogs, self.clock = checkins, catalogs, clock

    async def facts(self, session: AsyncSession, member: Member, data: Data) -> Data:
        draft = ScheduleDraft.from_json(data) if data else ScheduleDraft()
        c, now = self.checkins, self.clock.now()
        picker = await picker_facts(session, draft.audience, c)
        found = {
            **picker,
            "flows": {f.id: f.title for f in c.schedulable},
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
            "count": await count_audience(session, c.audience_of(spec)),
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
