"""Ties to parent organisations: the parent check's figures per partner group over periods, the
coordinators' alert when "marginalised" rises two periods in a row, and a representative's
one-page briefing pack (`/brief`).

Figures are read like every report's: answers of closed periods only (the parent checks'
occurrence windows, else ISO weeks), means per (group, period) through `mean_table`, so a
period under k respondents is withheld and the rest suppressed together. The alert reads the
visible figures only, once per closed occurrence (`ScheduleOccurrence.results_sent_at` marks
it looked at), and goes through the outbox in the same transaction as that mark.
"""

from __future__ import annotations

import asyncio
import html
import logging
from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.anonymity import SuppressedTable
from bot.domain.concerns import ABOUT, CATEGORIES
from bot.domain.digests import ActedOn, acted_on
from bot.domain.figures import in_periods
from bot.domain.flows import FlowRegistry
from bot.domain.parent_ties import (
    ALERT_MEASURE,
    PARENT_FLOW,
    BriefPage,
    BriefSection,
    Rise,
    figure_lines,
    format_figure,
    is_representative,
    latest_chart,
    latest_figures,
    rising,
    trends,
)
from bot.domain.releases import Periods
from bot.domain.reports import HIDDEN_MARK, group_label
from bot.domain.timing import quiet_hours_end, zone
from bot.i18n import Catalogs, Translator
from bot.services.brief_page import render_brief
from bot.services.commitments import open_commitments_of
from bot.storage import committees as committee_store
from bot.storage import digests as digest_queries
from bot.storage import outbox
from bot.storage import parent_ties as store
from bot.storage.db import SessionFactory
from bot.storage.models import Member
from bot.storage.reports import list_answer_rows, list_pulse_windows

log = logging.getLogger(__name__)
# Decisions a briefing page has room for, newest first.
DECIDED_ON_PAGE = 6


@dataclass(frozen=True)
class Brief:
    """A representative's briefing pack: the page (data and PNG) and its caption (HTML)."""

    page: BriefPage
    png: bytes
    caption: str


class ParentTies:
    """Figures, alerts and briefing packs of the ties to parent organisations."""

    def __init__(
        self,
        *,
        flows: FlowRegistry,
        catalogs: Catalogs,
        min_group: int,
        partnership_timezone: str,
        quiet_start: time,
        quiet_end: time,
    ) -> None:
        self.k = min_group
        self.partnership_timezone = partnership_timezone
        self.quiet_start = quiet_start
        self.quiet_end = quiet_end
        self.use(flows, catalogs)

    def use(self, flows: FlowRegistry, catalogs: Catalogs) -> None:
        """Work with these flows and this wording from now on (the sandbox reloads them)."""
        self.catalogs = catalogs
        self.groups = flows.options_for("stakeholder_group")

    def representative(self, member: Member | None) -> bool:
        """Whether the member speaks for a partner organisation (who may ask for /brief)."""
        return member is not None and is_representative(member.stakeholder_group, self.groups)

    async def tables(self, session: AsyncSession, *, now: datetime) -> dict[str, SuppressedTable]:
        """Every measure's k-anonymous trend over the periods closed by `now`."""
        windows = await list_pulse_windows(session, flow_ids=[PARENT_FLOW])
        periods = Periods(windows.get(PARENT_FLOW, ()))
        rows = await list_answer_rows(session, flow_ids=[PARENT_FLOW], own_only=True, named=False)
        closed = in_periods(rows, lambda _: periods, closed_by=now)
        return await asyncio.to_thread(trends, closed, groups=self.groups, k=self.k)

    # -- the alert ----------------------------------------------------------------------------

    async def run_due(self, session: AsyncSession, now: datetime) -> int:
        """Look at the figures once a parent check's occurrence closed; tell every coordinator
        of each partner group whose "marginalised" rose two periods in a row. Works in the
        caller's transaction; how many messages were queued."""
        due = await store.closed_unchecked(session, now=now)
        if not due:
            return 0
        rises = rising((await self.tables(session, now=now))[ALERT_MEASURE])
        queued = 0
        if rises:
            for coordinator in await committee_store.list_coordinators(session):
                queued += await self._alert(session, coordinator, rises, now)
            log.info("parent check: marginalised rising in %s", [r.group for r in rises])
        for occurrence, _ in due:
            await digest_queries.mark_results_sent(session, occurrence=occurrence, now=now)
        return queued

    async def _alert(
        self, session: AsyncSession, coordinator: Member, rises: list[Rise], now: datetime
    ) -> int:
        t = self.catalogs.translator(coordinator.language)
        tz = zone(coordinator.time_zone, self.partnership_timezone)
        queued = 0
        for rise in rises:
            trail = " → ".join(format_figure(ALERT_MEASURE, v, HIDDEN_MARK) for v in rise.values)
            rows = await outbox.enqueue(
                session,
                chat_id=coordinator.chat_id,
                member_id=coordinator.id,
                text=t(
                    "parent.alert",
                    group=html.escape(group_label(t, rise.group)),
                    trail=trail,
                    period=rise.period,
                ),
                language=t.locale,
                source="parent:alert",
                # Once per group and period, whatever restarts happen.
                dedupe_key=f"parent:rise:{rise.group}:{rise.period}:{coordinator.id}",
                not_before=quiet_hours_end(now, tz, self.quiet_start, self.quiet_end),
                now=now,
            )
            queued += bool(rows)
        return queued

    # -- the briefing pack --------------------------------------------------------------------

    async def brief(
        self, reads: SessionFactory, *, member: Member, now: datetime, t: Translator
    ) -> Brief:
        """The member's briefing pack, read in one snapshot of `reads`, drawn off the loop."""
        organisation = (member.organisation or "").strip()
        async with reads() as session:
            tables = await self.tables(session, now=now)
            tickets = await store.decided_tickets(session, limit=DECIDED_ON_PAGE)
            summaries = await digest_queries.status_summaries(session, tickets=tickets)
            taken = await store.organisation_roles(
                session, organisation=organisation, group=member.stakeholder_group
            )
            commitments = await organisation_commitments(session, organisation, t=t)
        decided = acted_on(tickets, summaries)
        latest = latest_figures(tables, groups=self.groups)
        area = lambda a: t(f"roles.brings.{a}")  # noqa: E731
        taken_lines = [
            *(
                [t("parent.brief.leads", areas=", ".join(map(area, taken.leads)))]
                if taken.leads
                else []
            ),
            *(
                [t("parent.brief.brings", areas=", ".join(map(area, taken.brings)))]
                if taken.brings
                else []
            ),
            *commitments,
        ]
        group = group_label(t, member.stakeholder_group or "")
        page = BriefPage(
            title=t("parent.brief.title"),
            subtitle=t(
                "parent.brief.subtitle",
                organisation=organisation or "—",
                group=group,
                day=now.date().isoformat(),
            ),
            sections=(
                BriefSection(
                    t("parent.brief.decided"),
                    tuple(self._decided_line(line, t) for line in decided),
                    t("parent.brief.decided_none"),
                ),
                BriefSection(
                    t("parent.brief.taken_on"), tuple(taken_lines), t("parent.brief.taken_none")
                ),
            ),
            figures=BriefSection(
                t("parent.brief.figures", k=self.k),
                figure_lines(latest, words=t, hidden=HIDDEN_MARK),
                t("parent.brief.figures_none"),
            ),
            footer=t("parent.brief.footer", k=self.k),
            chart=latest_chart(latest, words=t),
        )
        png = await asyncio.to_thread(render_brief, page)
        return Brief(page, png, _caption(page))

    def _decided_line(self, line: ActedOn, t: Translator) -> str:
        category = t(f"digest.category.{line.category}") if line.category in CATEGORIES else ""
        about = t(f"digest.about.{line.about}") if line.about in ABOUT else ""
        text = t(
            "parent.brief.decided_line",
            category=category or line.category,
            about=about or line.about,
            outcome=t(f"digest.yswd.status.{line.status}"),
        )
        text = text[:1].upper() + text[1:]  # a line starts with the category's name
        extra = line.summary or line.reason
        return f"{text}: {extra}" if extra else text


async def organisation_commitments(
    session: AsyncSession, organisation: str, *, t: Translator
) -> list[str]:
    """What the organisation committed to and has not yet delivered, a line each (the
    commitments register)."""
    if not organisation:
        return []
    return [
        t("parent.brief.committed", what=c.what, beneficiary=c.beneficiary, due=c.due_on)
        for c in await open_commitments_of(session, organisation)
    ]


def _caption(page: BriefPage) -> str:
    """The page's figures again as the photo's caption (HTML), for readers of the chat."""
    lines = page.figures.lines or (page.figures.empty,)
    return "\n".join(
        [
            f"<b>{html.escape(page.title)}</b>",
            html.escape(page.subtitle),
            "",
            f"<b>{html.escape(page.figures.heading)}</b>",
            *(html.escape(line) for line in lines),
            "",
            html.escape(page.footer),
        ]
    )
