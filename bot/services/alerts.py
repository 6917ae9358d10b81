"""Trust alerts: coordinators hear once when a group's trust index falls between two periods.

The figures are the trust report's own (`Reports` with no start: closed periods, members' own
answers, k-anonymity and secondary suppression), so an alert never rests on a hidden cell.
Each alert names the group, both figures and a follow-up question coordinators may ask; it goes
through the outbox and the audit log, in the pass's transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.domain.alerts import TrustDrop, trust_drops
from bot.domain.anonymity import SuppressedTable
from bot.domain.clock import Clock
from bot.domain.figures import counted, in_periods
from bot.domain.releases import Periods
from bot.domain.reports import TRUST_FLOW, group_label, trust_over_time
from bot.storage import alerts as store
from bot.storage import audit, outbox
from bot.storage.committees import list_coordinators
from bot.storage.reports import list_answer_rows, list_pulse_windows

# The trust figures change only when a period closes: looked at no more often than this.
CHECK_EVERY = timedelta(hours=1)


class TrustAlerts:
    """Compares each group's trust index in the last two closed periods."""

    def __init__(self, *, content: Content, clock: Clock, min_group: int, drop: float) -> None:
        self.content = content
        self.clock = clock
        self.k = min_group
        self.drop = drop
        self._checked_at: datetime | None = None

    async def run_due(self, session: AsyncSession) -> list[TrustDrop]:
        """Tell coordinators of every drop not told yet; the drops told."""
        now = self.clock.now()
        if self._checked_at is not None and now - self._checked_at < CHECK_EVERY:
            return []
        self._checked_at = now
        told = []
        for found in trust_drops(await self.trust_table(session, now=now), drop=self.drop):
            if await store.claim_trust_alert(
                session, group=found.group, period=found.period, now=now
            ):
                await self._tell(session, found, now=now)
                told.append(found)
        return told

    async def trust_table(self, session: AsyncSession, *, now: datetime) -> SuppressedTable:
        """The trust report's table: every closed period, as `/report` shows it."""
        windows = await list_pulse_windows(session, flow_ids=[TRUST_FLOW])
        periods = Periods(windows.get(TRUST_FLOW, ()))
        rows = await list_answer_rows(session, flow_ids=[TRUST_FLOW])
        closed = counted(in_periods(rows, lambda _row: periods, closed_by=now))
        groups = self.content.flows.options_for("stakeholder_group")
        return trust_over_time(closed, groups=groups, k=self.k)

    async def _tell(self, session: AsyncSession, found: TrustDrop, *, now: datetime) -> None:
        for coordinator in await list_coordinators(session):
            t = self.content.catalogs.translator(coordinator.language)
            group = group_label(t, found.group)
            text = t(
                "trust.alert",
                group=group,
                period=found.period,
                before=f"{found.before:.2f}",
                after=f"{found.after:.2f}",
                question=t("trust.alert.question", group=group),
            )
            await outbox.enqueue(
                session,
                chat_id=coordinator.chat_id,
                member_id=coordinator.id,
                text=text,
                language=coordinator.language,
                source="trust_alert",
                now=now,
            )
        await audit.record(
            session,
            actor=None,
            action="trust.alert",
            detail={
                "group": found.group,
                "period": found.period,
                "before": found.before,
                "after": found.after,
            },
            now=now,
        )
