"""A database with members and the check-in service, driven by explicit `now`s (no bot)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.content import load_flows
from bot.delivery.transport import Composed
from bot.domain.audiences import Audience
from bot.domain.schedules import Recurrence, ScheduleSpec
from bot.i18n import Catalogs
from bot.services.checkins import Checkins, TickReport
from bot.storage import checkins as checkin_store
from bot.storage import migrate, repo
from bot.storage import schedules as store
from bot.storage.db import SessionFactory, create_engine, create_session_factory
from bot.storage.models import (
    CHECKIN_KIND,
    CheckIn,
    FlowRun,
    Member,
    OutboxMessage,
    RunStatus,
    Schedule,
    ScheduleOccurrence,
)

ROOT = Path(__file__).resolve().parents[2]
CREATED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # a Thursday


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def weekly(*days: int, at: time = time(10, 0)) -> Recurrence:
    return Recurrence(kind="weekly", at=at, days=days)


class World:
    """Members, schedules and `run_due` at chosen moments, on a real database."""

    def __init__(self, sessions: SessionFactory, checkins: Checkins) -> None:
        self.sessions = sessions
        self.checkins = checkins
        self._next_user = 5000

    async def member(
        self,
        *,
        zone: str | None = None,
        language: str = "en",
        group: str = "community",
        joined: datetime = CREATED - timedelta(days=30),
        status: str = "active",
        name: str = "Member",
    ) -> Member:
        self._next_user += 1
        async with self.sessions() as session:
            member = await repo.create_member(
                session,
                telegram_user_id=self._next_user,
                chat_id=self._next_user,
                display_name=name,
                language=language,
                now=joined,
            )
            changes = {"stakeholder_group": group, "time_zone": zone, "status": status}
            await repo.update_member(session, member=member, changes=changes, now=joined)
            await session.commit()
        return member

    async def schedule(
        self,
        flow_id: str,
        recurrence: Recurrence,
        *,
        created: datetime = CREATED,
        **changes: Any,
    ) -> Schedule:
        spec = ScheduleSpec(flow_id=flow_id, recurrence=recurrence, **changes)
        async with self.sessions() as session:
            schedule = await self.checkins.create(session, spec, now=created)
            await session.commit()
        assert schedule is not None
        return schedule

    async def run(self, now: datetime) -> TickReport:
        async with self.sessions() as session:
            report = await self.checkins.run_due(session, now)
            await session.commit()
        return report

    async def start_flow(self, member: Member, flow_id: str, *, at: datetime) -> FlowRun:
        """The member is in a conversation (e.g. typed /roles)."""
        async with self.sessions() as session:
            run = await repo.create_run(
                session,
                member_id=member.id or 0,
                flow_id=flow_id,
                flow_version=1,
                node_id="brings",
                answers={},
                selected=(),
                now=at,
            )
            await session.commit()
        return run

    async def end_run(
        self, run_id: int, *, at: datetime, status: RunStatus = RunStatus.DONE
    ) -> None:
        async with self.sessions() as session:
            run = await repo.get_run(session, run_id=run_id)
            assert run is not None
            if status == RunStatus.DONE:
                await repo.save_run_state(
                    session, run=run, node_id=None, answers={}, selected=(), now=at
                )
            else:
                await repo.end_run(session, run=run, status=status, now=at)
            await session.commit()

    async def move_run(self, run_id: int, node_id: str, answers: dict[str, Any]) -> None:
        """The member answered up to `node_id`."""
        async with self.sessions() as session:
            run = await repo.get_run(session, run_id=run_id)
            assert run is not None
            await repo.save_run_state(
                session, run=run, node_id=node_id, answers=answers, selected=(), now=CREATED
            )
            await session.commit()

    async def set_member(self, member: Member, **changes: Any) -> None:
        async with self.sessions() as session:
            row = await repo.get_member(session, member_id=member.id or 0)
            assert row is not None
            await repo.update_member(session, member=row, changes=changes, now=CREATED)
            await session.commit()

    async def outbox(self, member: Member | None = None) -> list[OutboxMessage]:
        async with self.sessions() as session:
            query = select(OutboxMessage).order_by(col(OutboxMessage.id))
            if member is not None:
                query = query.where(col(OutboxMessage.member_id) == member.id)
            return list((await session.exec(query)).all())

    async def written(self, member: Member | None = None) -> list[Composed | None]:
        """What the outbox's messages say, check-ins written as the sender writes them."""
        messages = await self.outbox(member)
        async with self.sessions() as session:
            return await written(session, self.checkins, messages)

    async def checkins_of(self, member: Member | None = None) -> list[CheckIn]:
        async with self.sessions() as session:
            return await checkin_store.list_checkins(
                session, member_id=member.id if member is not None else None
            )

    async def runs(self, member: Member) -> list[FlowRun]:
        async with self.sessions() as session:
            return await repo.list_runs(session, member_id=member.id or 0)

    async def occurrences(self, schedule: Schedule) -> list[ScheduleOccurrence]:
        async with self.sessions() as session:
            return await store.list_occurrences(session, schedule_id=schedule.id)


async def written(
    session: AsyncSession, checkins: Checkins, messages: Sequence[OutboxMessage]
) -> list[Composed | None]:
    """The text and buttons of each message, as the sender sends it."""
    stored = [m for m in messages if m.kind == CHECKIN_KIND]
    composed = await checkins.compose(session, stored) if stored else {}
    return [
        composed[m.id or 0] if m.kind == CHECKIN_KIND else Composed(m.text, m.reply_markup)
        for m in messages
    ]


def load_checkins(*, partnership_timezone: str = "UTC") -> Checkins:
    catalogs = Catalogs.load(ROOT / "locales", default="en")
    flows = load_flows(ROOT / "flows", locale_keys=catalogs.keys())
    return Checkins(
        flows=flows,
        catalogs=catalogs,
        partnership_timezone=partnership_timezone,
        quiet_start=time(21, 0),
        quiet_end=time(8, 0),
    )


@contextlib.asynccontextmanager
async def open_world(
    database_url: str, database_schema: str | None, *, partnership_timezone: str = "UTC"
) -> AsyncIterator[World]:
    """A migrated database of its own and a Checkins service over the shipped flows."""
    engine = create_engine(database_url, schema=database_schema)
    await migrate.upgrade(engine)
    try:
        yield World(
            create_session_factory(engine), load_checkins(partnership_timezone=partnership_timezone)
        )
    finally:
        await engine.dispose()


EVERYONE = Audience()
