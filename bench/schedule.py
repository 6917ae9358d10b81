"""schedule: one check-in occurrence for 100,000 members across time zones, on SQLite.

Builds a database of N members spread over 40 time zones (a tenth with no zone, read in the
partnership's), creates a weekly check-in on Mondays at 09:00 in each member's local time with
a 72-hour window, and moves the clock to the Tuesday after, when every member is due. Then it
times one `run_due`: computing the due set, starting a flow run per member, recording each
check-in and queuing its first message (as data: run, flow, node, part), committed in batches
of `OPEN_BATCH` members as the scheduler does. A second pass at the same moment must send
nothing. Quiet hours are off, so the whole membership is due at once. Last, it times writing a
sample of the queued messages as the sender does when it sends them.

The last stdout line is the JSON result: members, sent, seconds, transactions and the longest
one (SQLite's write lock is held that long), compose_us_per_message, peak rss_mb (this process,
members' creation included), the second pass. Targets: under 2 s and under 300 MB.

    .venv/bin/python bench/schedule.py                 # 100,000 members
    .venv/bin/python bench/schedule.py --members 2000  # smoke
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

from _common import REPO_ROOT, emit, info, peak_rss_mb
from sqlalchemy import insert
from sqlmodel import select

from bot.content import load_flows
from bot.domain.schedules import Recurrence, ScheduleSpec
from bot.i18n import Catalogs
from bot.services.checkins import Checkins
from bot.storage import migrate
from bot.storage.db import create_engine, create_session_factory
from bot.storage.models import Member, OutboxMessage
from bot.storage.repo import count_rows

TARGET_SECONDS = 2.0
TARGET_RSS_MB = 300.0
COMPOSE_SAMPLE = 1000
ZONES = (
    "Pacific/Pago_Pago",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Denver",
    "America/Chicago",
    "America/New_York",
    "America/Caracas",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Atlantic/Azores",
    "Atlantic/Cape_Verde",
    "Europe/London",
    "Africa/Dakar",
    "Africa/Lagos",
    "Europe/Paris",
    "Africa/Johannesburg",
    "Africa/Cairo",
    "Africa/Nairobi",
    "Europe/Moscow",
    "Asia/Tehran",
    "Asia/Dubai",
    "Asia/Kabul",
    "Asia/Karachi",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Dhaka",
    "Asia/Yangon",
    "Asia/Bangkok",
    "Asia/Jakarta",
    "Asia/Manila",
    "Asia/Tokyo",
    "Australia/Darwin",
    "Australia/Sydney",
    "Pacific/Noumea",
    "Pacific/Auckland",
    "Pacific/Tongatapu",
    "Pacific/Kiritimati",
    "Pacific/Chatham",
    "America/Havana",
)
GROUPS = ("municipality", "private_sector", "civil_society", "community", "other")
CREATED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)  # a Thursday
NOW = datetime(2026, 1, 6, 12, 0, tzinfo=UTC)  # the Tuesday after Monday 5 January


async def populate(url: str, members: int, zones: int = len(ZONES)) -> None:
    """N active members, spread over `zones` zones, the groups and both languages."""
    engine = create_engine(url)
    await migrate.upgrade(engine)
    async with engine.begin() as conn:
        batch: list[dict[str, object]] = []
        for n in range(members):
            batch.append(
                {
                    "telegram_user_id": 10_000_000 + n,
                    "chat_id": 10_000_000 + n,
                    "display_name": f"Member {n}",
                    "language": "fr" if n % 3 == 0 else "en",
                    "stakeholder_group": GROUPS[n % len(GROUPS)],
                    "time_zone": None if n % 10 == 0 or not zones else ZONES[n % zones],
                    "role": "member",
                    "status": "active",
                    "consent_at": CREATED - timedelta(days=30),
                    "joined_at": CREATED - timedelta(days=30),
                    "updated_at": CREATED - timedelta(days=30),
                }
            )
            if len(batch) == 5000:
                await conn.execute(insert(Member), batch)
                batch = []
        if batch:
            await conn.execute(insert(Member), batch)
    await engine.dispose()


async def run(members: int, zones: int, directory: Path) -> dict[str, object]:
    url = f"sqlite:///{directory / 'schedule.db'}"
    started = time.perf_counter()
    await populate(url, members, zones)
    info(f"{members} members created in {time.perf_counter() - started:.1f}s")

    catalogs = Catalogs.load(REPO_ROOT / "locales", default="en")
    flows = load_flows(REPO_ROOT / "flows", locale_keys=catalogs.keys())
    checkins = Checkins(
        flows=flows,
        catalogs=catalogs,
        partnership_timezone="UTC",
        quiet_start=clock_time(0, 0),
        quiet_end=clock_time(0, 0),
    )
    engine = create_engine(url)
    sessions = create_session_factory(engine)
    try:
        spec = ScheduleSpec(
            flow_id="trust_pulse",
            recurrence=Recurrence(kind="weekly", at=clock_time(9, 0), days=(0,)),
        )
        async with sessions() as session:
            await checkins.create(session, spec, now=CREATED)
            await session.commit()

        info("run_due: computing the due set and queuing it, in batches as the scheduler does")
        started = time.perf_counter()
        held: list[float] = []
        async with sessions() as session:
            began = time.perf_counter()

            async def checkpoint() -> None:
                nonlocal began
                await session.commit()
                held.append(time.perf_counter() - began)
                began = time.perf_counter()

            report = await checkins.run_due(session, NOW, checkpoint=checkpoint)
            await session.commit()
            held.append(time.perf_counter() - began)
        seconds = time.perf_counter() - started
        info(f"sent {report.sent} check-ins in {seconds:.2f}s, {len(held)} transactions")

        # What the sender pays to write each check-in message when it sends it.
        async with sessions() as session:
            sample = list((await session.exec(select(OutboxMessage).limit(COMPOSE_SAMPLE))).all())
            composing = time.perf_counter()
            await checkins.compose(session, sample)
            compose_us = 1e6 * (time.perf_counter() - composing) / max(1, len(sample))

        started = time.perf_counter()
        async with sessions() as session:
            again = await checkins.run_due(session, NOW)
            await session.commit()
        second_seconds = time.perf_counter() - started
        async with sessions() as session:
            queued = await count_rows(session, OutboxMessage)
    finally:
        await engine.dispose()
    rss = peak_rss_mb(os.getpid())
    return {
        "bench": "schedule",
        "members": members,
        "zones": zones + 1,
        "sent": report.sent,
        "queued": queued,
        "seconds": round(seconds, 3),
        "transactions": len(held),
        "longest_transaction_s": round(max(held), 3),
        "compose_us_per_message": round(compose_us, 1),
        "rss_mb": rss,
        "second_pass_sent": again.sent,
        "second_pass_seconds": round(second_seconds, 3),
        "target_seconds": TARGET_SECONDS,
        "target_rss_mb": TARGET_RSS_MB,
        "ok": report.sent == members
        and queued == members
        and again.sent == 0
        and seconds < TARGET_SECONDS
        and (rss or 0) < TARGET_RSS_MB,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument(
        "--zones", type=int, default=len(ZONES), help=f"time zones in use, up to {len(ZONES)}"
    )
    parser.add_argument("--keep", action="store_true", help="keep the database (path on stderr)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-schedule-") as tmp:
        directory = Path(tmp)
        if args.keep:
            directory = Path(tempfile.mkdtemp(prefix="bench-schedule-"))
            info(f"database in {directory}")
        result = asyncio.run(run(args.members, min(args.zones, len(ZONES)), directory))
    emit(result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
