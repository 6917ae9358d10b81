"""Schedules in words, for the coordinators' screens and the CLI: when one sends, to whom, with
which reminders, and a schedule's summary line. Plain values in, wording out: no queries."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.domain.audiences import Audience
from bot.domain.flows import FlowRegistry
from bot.domain.guides.schedule import span as span_label
from bot.domain.schedules import DAY_CODES, NTH_CODES, ScheduleSpec
from bot.domain.timing import zone
from bot.i18n import Translator
from bot.storage.models import CheckInStatus, Schedule, ScheduleKind, ScheduleStatus


@dataclass(frozen=True)
class Figures:
    """What a schedule's summary line says besides its definition."""

    counts: dict[str, int]
    upcoming: datetime | None
    title: str  # HTML


class ScheduleWording:
    """Schedules described in a member's language, on the partnership's clock."""

    def __init__(self, flows: FlowRegistry, *, partnership_timezone: str) -> None:
        self.flows = flows
        self.partnership_timezone = partnership_timezone
        self.tz = zone(None, partnership_timezone)

    def describe(self, spec: ScheduleSpec, t: Translator) -> str:
        """When a schedule sends, in words: `every week on Monday at 10:00 (…)`."""
        rec = spec.recurrence
        at = rec.at.strftime("%H:%M")
        if rec.kind == "weekly":
            days = ", ".join(t(f"schedules.day.{DAY_CODES[d]}") for d in rec.days)
            key = "schedules.rec.weekly" if rec.every == 1 else "schedules.rec.weekly_every"
            text = t(key, days=days, time=at, every=rec.every)
        elif rec.kind == "monthly":
            key = "schedules.rec.monthly" if rec.every == 1 else "schedules.rec.monthly_every"
            text = t(
                key,
                nth=t(f"schedules.nth.{NTH_CODES[rec.nth]}"),
                day=t(f"schedules.day.{DAY_CODES[rec.weekday]}"),
                time=at,
                every=rec.every,
            )
        elif rec.kind == "once":
            text = t("schedules.rec.once", date=rec.on.isoformat() if rec.on else "", time=at)
        elif rec.event_flow is None:
            text = t("schedules.rec.after_joining", days=rec.after_days, time=at)
        else:
            text = t(
                "schedules.rec.after_flow",
                days=rec.after_days,
                flow=self.flow_title(rec.event_flow, t),
                time=at,
            )
        if spec.basis == "member":
            return f"{text} {t('schedules.basis.member_short')}"
        return f"{text} {t('schedules.basis.partnership_short', tz=self.partnership_timezone)}"

    def summary(
        self, schedule: Schedule, spec: ScheduleSpec, figures: Figures, t: Translator
    ) -> str:
        """A schedule in a few lines: what, when, to whom, its next send and its figures."""
        counts = figures.counts
        sent = sum(n for status, n in counts.items() if status != CheckInStatus.MISSED)
        done = counts.get(CheckInStatus.DONE, 0)
        if spec.recurrence.relative and schedule.status == ScheduleStatus.ACTIVE:
            following = t("schedules.next_relative", sent=sent, done=done)
        elif figures.upcoming is None:
            following = t("schedules.next_none", sent=sent, done=done)
        else:
            when = self.format_moment(figures.upcoming, t)
            following = t("schedules.next", when=when, sent=sent, done=done)
        return t(
            "schedules.line",
            id=schedule.id,
            flow=figures.title,
            status=t(f"schedules.status.{schedule.status}"),
            when=html.escape(self.describe(spec, t)),
            audience=html.escape(
                t("digest.audience.committee")
                if schedule.kind == ScheduleKind.VOICE_DIGEST
                else self.describe_audience(spec.audience, t)
            ),
            window=span(spec.window, t),
            reminders=self.describe_reminders(spec, t),
            next=following,
        )

    def describe_audience(self, audience: Audience, t: Translator) -> str:
        if audience.everyone:
            return t("schedules.everyone")
        return ", ".join(t(key, **params) for key, params in audience.labels())

    def describe_reminders(self, spec: ScheduleSpec, t: Translator) -> str:
        if not spec.reminders:
            return t("schedules.no_reminders")
        return ", ".join(span(r, t) for r in spec.reminders)

    def schedule_title(self, schedule: Schedule, committee: str | None, t: Translator) -> str:
        """A check-in's flow, or what a digest schedule sends (and to which committee), as HTML."""
        if schedule.kind == ScheduleKind.YOU_SAID_WE_DID:
            return t("digest.kind.you_said_we_did")
        if schedule.kind == ScheduleKind.VOICE_DIGEST:
            return t("digest.kind.voice_digest", committee=html.escape(committee or "?"))
        return html.escape(self.flow_title(schedule.flow_id, t))

    def flow_title(self, flow_id: str, t: Translator) -> str:
        flow = self.flows.get(flow_id)
        return t(flow.title) if flow else flow_id

    def format_moment(self, moment: datetime, t: Translator) -> str:
        """`Mon 2026-01-12 10:00` in the partnership's zone."""
        local = moment.astimezone(self.tz)
        day = t(f"schedules.day.{DAY_CODES[local.weekday()]}")
        return f"{day} {local:%Y-%m-%d %H:%M}"


def span(duration: timedelta, t: Translator) -> str:
    """`72 h`, `3 d`, `90 min`: a duration in its largest whole unit."""
    said = span_label(duration)
    return t(said.key, **said.params)
