"""Coordinator broadcasts: the guided draft, confirmation, release at the chosen time, progress.

Messages go to members through the durable outbox, enqueued in the same transaction that marks
the broadcast as sending, so a crash can neither lose nor double a recipient.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import Content
from bot.domain.audiences import Audience
from bot.domain.broadcasts import Draft
from bot.domain.clock import Clock
from bot.domain.timing import quiet_hours_end, zone
from bot.storage import audiences, audit, outbox_figures, repo
from bot.storage.models import Broadcast, BroadcastStatus, Member, OutboxStatus
from bot.storage.outbox_rows import Queued, enqueue_many

PENDING = (OutboxStatus.QUEUED, OutboxStatus.SENDING)


@dataclass(frozen=True)
class Progress:
    """Where a broadcast stands, counted in recipients (a long update is several messages)."""

    broadcast: Broadcast
    counts: dict[str, int]
    reasons: dict[str, int]

    @property
    def delivered(self) -> int:
        return self.counts.get(OutboxStatus.SENT, 0)

    @property
    def done(self) -> bool:
        # Every recipient's messages were queued with the release; a recipient who erased
        # their data since has none left, so `total` cannot be waited for.
        return not any(self.counts.get(s, 0) for s in PENDING)

    @property
    def blocked(self) -> int:
        return sum(n for reason, n in self.reasons.items() if _is_blocked(reason))

    @property
    def failed(self) -> int:
        return self.counts.get(OutboxStatus.FAILED, 0)

    @property
    def skipped(self) -> int:
        return self.counts.get(OutboxStatus.SKIPPED, 0) - self.blocked


def _is_blocked(reason: str) -> bool:
    lowered = reason.lower()
    return "blocked" in lowered or "deactivated" in lowered or "kicked" in lowered


class Broadcasts:
    """Sends, schedules and follows coordinator broadcasts (drafts: `domain.guides.broadcast`)."""

    def __init__(
        self,
        *,
        clock: Clock,
        content: Content,
        partnership_timezone: str,
        quiet_start: time,
        quiet_end: time,
    ) -> None:
        self.clock = clock
        self.content = content
        self.partnership_timezone = partnership_timezone
        self.quiet_start = quiet_start
        self.quiet_end = quiet_end

    @property
    def locales(self) -> tuple[str, ...]:
        return self.content.locales

    @property
    def groups(self) -> tuple[str, ...]:
        return self.content.groups

    # -- sending ----------------------------------------------------------------------------

    async def confirm(
        self, session: AsyncSession, *, coordinator: Member, draft: Draft
    ) -> Broadcast:
        """Turn the draft into a broadcast: sent now, or kept until its time."""
        now = self.clock.now()
        due = draft.send_at is None or draft.send_at <= now
        broadcast = await repo.create_broadcast(
            session,
            created_by=coordinator.id,
            audience=draft.audience.to_json(),
            texts=draft.variants(),
            media_kind=draft.media_kind,
            media_file_id=draft.media_file_id,
            urgent=draft.urgent,
            send_at=draft.send_at or now,
            status=BroadcastStatus.SCHEDULED,
            now=now,
        )
        broadcast.progress_chat_id = coordinator.chat_id
        if due:
            await self._release(session, broadcast)
        await audit.record(
            session,
            actor=coordinator,
            action="broadcast.confirmed",
            detail={
                "broadcast": broadcast.id,
                "audience": broadcast.audience,
                "send_at": broadcast.send_at.isoformat(timespec="minutes"),
                "urgent": broadcast.urgent,
            },
            now=now,
        )
        return broadcast

    async def release_due(self, session: AsyncSession) -> list[Broadcast]:
        """Start every scheduled broadcast whose time has come."""
        now = self.clock.now()
        due = await repo.list_broadcasts(
            session, statuses=[BroadcastStatus.SCHEDULED], due_before=now, limit=100
        )
        for broadcast in due:
            await self._release(session, broadcast)
        return due

    async def _release(self, session: AsyncSession, broadcast: Broadcast) -> None:
        now = self.clock.now()
        audience = Audience.from_json(broadcast.audience)
        draft = Draft(texts=broadcast.texts)
        members = await audiences.list_audience(session, audience)
        queued = []
        for member in members:
            not_before = None
            if not broadcast.urgent:
                tz = zone(member.time_zone, self.partnership_timezone)
                not_before = quiet_hours_end(now, tz, self.quiet_start, self.quiet_end)
            queued.append(
                Queued(
                    chat_id=member.chat_id,
                    member_id=member.id,
                    text=draft.text_for(member.language),
                    kind=broadcast.media_kind or "text",
                    media_file_id=broadcast.media_file_id,
                    language=member.language,
                    source=f"broadcast:{broadcast.id}",
                    broadcast_id=broadcast.id,
                    dedupe_key=f"broadcast:{broadcast.id}:member:{member.id}",
                    not_before=not_before,
                )
            )
        await enqueue_many(session, queued, now=now)
        broadcast.total = len(members)
        broadcast.status = BroadcastStatus.SENDING if members else BroadcastStatus.DONE
        if not members:
            broadcast.finished_at = now
        session.add(broadcast)
        await session.flush()

    async def cancel(
        self, session: AsyncSession, *, broadcast_id: int, actor: Member | None = None
    ) -> bool:
        """Cancel a broadcast that has not started; False when it has (or does not exist)."""
        broadcast = await repo.get_broadcast(session, broadcast_id=broadcast_id)
        if broadcast is None or broadcast.status != BroadcastStatus.SCHEDULED:
            return False
        broadcast.status = BroadcastStatus.CANCELLED
        broadcast.finished_at = self.clock.now()
        session.add(broadcast)
        await session.flush()
        await audit.record(
            session,
            actor=actor,
            action="broadcast.cancelled",
            detail={"broadcast": broadcast.id},
            now=self.clock.now(),
        )
        return True

    async def progress(self, session: AsyncSession, broadcast: Broadcast) -> Progress:
        """Counts by status, and the reasons of what was not delivered."""
        counts = await outbox_figures.broadcast_counts(session, broadcast_id=_id(broadcast))
        reasons = await outbox_figures.broadcast_failures(session, broadcast_id=_id(broadcast))
        return Progress(broadcast=broadcast, counts=counts, reasons=reasons)

    async def sending(self, session: AsyncSession) -> list[Progress]:
        """Progress of every broadcast being sent."""
        rows = await repo.list_broadcasts(session, statuses=[BroadcastStatus.SENDING], limit=100)
        return [await self.progress(session, b) for b in rows]

    async def finish(self, session: AsyncSession, broadcast: Broadcast) -> None:
        """Mark a broadcast whose every message reached a final state as done."""
        broadcast.status = BroadcastStatus.DONE
        broadcast.finished_at = self.clock.now()
        session.add(broadcast)
        await session.flush()

    async def recent(self, session: AsyncSession, *, limit: int = 10) -> list[Progress]:
        """The latest broadcasts with their figures, newest first."""
        rows = await repo.list_broadcasts(session, limit=limit)
        return [await self.progress(session, b) for b in rows]

    async def remember_progress_message(
        self, session: AsyncSession, broadcast: Broadcast, *, chat_id: int, message_id: int
    ) -> None:
        """Where the coordinator's progress message is, to edit it as sending goes on."""
        broadcast.progress_chat_id = chat_id
        broadcast.progress_message_id = message_id
        session.add(broadcast)
        await session.flush()

    def scheduled_for(self, moment: datetime) -> datetime:
        """A UTC moment in the partnership's time zone, for display."""
        return moment.astimezone(zone(None, self.partnership_timezone))


def _id(row: Member | Broadcast) -> int:
    assert row.id is not None, "row was not flushed"
    return row.id
