"""`Checkins.run_due` on a real database, driven by explicit moments: who gets what, when."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time, timedelta

import pytest
from checkin_world import CREATED, World, open_world, utc, weekly

from bot.domain.audiences import Audience
from bot.domain.schedules import Recurrence
from bot.storage import checkin_opening as store
from bot.storage.models import (
    CheckInStatus,
    MemberStatus,
    OccurrenceStatus,
    OutboxStatus,
    RunStatus,
    ScheduleStatus,
)

MONDAY = (2026, 1, 5)


@pytest.fixture
async def world(database_url: str, database_schema: str | None) -> AsyncIterator[World]:
    async with open_world(database_url, database_schema) as opened:
        yield opened


async def test_members_get_it_at_ten_on_their_own_clocks(world: World) -> None:
    here = await world.member()
    tokyo = await world.member(zone="Asia/Tokyo")
    new_york = await world.member(zone="America/New_York")
    schedule = await world.schedule("trust_pulse", weekly(0))

    assert (await world.run(utc(*MONDAY, 0, 59))).sent == 0
    assert (await world.run(utc(*MONDAY, 1, 0))).sent == 1  # 10:00 in Tokyo
    assert [m.member_id for m in await world.outbox()] == [tokyo.id]
    assert (await world.run(utc(*MONDAY, 10, 0))).sent == 1
    assert (await world.run(utc(*MONDAY, 14, 59))).sent == 0
    assert (await world.run(utc(*MONDAY, 15, 0))).sent == 1  # 10:00 in New York
    assert [m.member_id for m in await world.outbox()] == [tokyo.id, here.id, new_york.id]

    due = {c.member_id: c.due_at for c in await world.checkins_of()}
    assert due == {
        tokyo.id: utc(*MONDAY, 1),
        here.id: utc(*MONDAY, 10),
        new_york.id: utc(*MONDAY, 15),
    }
    assert [(o.occurrence, o.status) for o in await world.occurrences(schedule)] == [
        ("2026-01-05", OccurrenceStatus.OPEN)
    ]
    assert (await world.run(utc(*MONDAY, 16, 0))).sent == 0
    assert len(await world.outbox()) == 3


async def test_the_first_message_is_the_flow_start_in_the_members_language(world: World) -> None:
    french = await world.member(language="fr")
    await world.schedule("trust_pulse", weekly(0))
    await world.run(utc(*MONDAY, 10))
    [message] = await world.outbox(french)
    [run] = await world.runs(french)
    assert (run.flow_id, run.node_id, run.status) == ("trust_pulse", "municipality", "running")
    # Kept as data, written when sent.
    assert (message.kind, message.text, message.reply_markup) == ("checkin", "", None)
    assert (message.run_id, message.flow_id, message.node_id, message.part) == (
        run.id,
        "trust_pulse",
        "municipality",
        0,
    )
    assert (message.language, message.status, message.chat_id) == ("fr", "queued", french.chat_id)
    assert message.dedupe_key == f"checkin:1:2026-01-05:{french.id}"
    [written] = await world.written(french)
    assert written is not None
    assert written.text.startswith("<b>Baromètre de confiance de la semaine</b>")
    assert "Quelle confiance faites-vous en ce moment à la <b>municipalité</b>" in written.text
    assert written.reply_markup is not None
    buttons = [b for row in written.reply_markup["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["1", "2", "3", "4", "5", "Passer"]
    assert buttons[2]["callback_data"] == f"a:{run.id}:municipality:3"


async def test_partnership_time_waits_for_the_end_of_quiet_hours(world: World) -> None:
    here = await world.member()
    tokyo = await world.member(zone="Asia/Tokyo")  # 19:00 at 10:00 UTC
    sydney = await world.member(zone="Australia/Sydney")  # 21:00: quiet
    await world.schedule("trust_pulse", weekly(0), basis="partnership")

    assert (await world.run(utc(*MONDAY, 10))).sent == 2
    assert {m.member_id for m in await world.outbox()} == {here.id, tokyo.id}
    assert (await world.run(utc(*MONDAY, 20, 59))).sent == 0
    assert (await world.run(utc(*MONDAY, 21, 0))).sent == 1  # 08:00 in Sydney
    [late] = await world.checkins_of(sydney)
    assert (late.due_at, late.sent_at) == (utc(*MONDAY, 10), utc(*MONDAY, 21))
    assert late.next_reminder_at == utc(2026, 1, 6, 21)


async def test_a_member_in_a_conversation_gets_it_when_it_ends(world: World) -> None:
    busy = await world.member()
    await world.schedule("trust_pulse", weekly(0))
    roles = await world.start_flow(busy, "roles", at=utc(*MONDAY, 9, 50))
    assert (await world.run(utc(*MONDAY, 10))).sent == 0
    assert (await world.run(utc(*MONDAY, 10, 30))).sent == 0
    await world.end_run(roles.id or 0, at=utc(*MONDAY, 10, 40), status=RunStatus.ABANDONED)
    assert (await world.run(utc(*MONDAY, 10, 41))).sent == 1
    [checkin] = await world.checkins_of(busy)
    assert checkin.sent_at == utc(*MONDAY, 10, 41)
    assert [r.flow_id for r in await world.runs(busy)] == ["roles", "trust_pulse"]


async def test_busy_until_the_window_closed_is_recorded_as_missed(world: World) -> None:
    busy = await world.member()
    other = await world.member()
    schedule = await world.schedule("trust_pulse", weekly(0))
    await world.start_flow(busy, "roles", at=utc(*MONDAY, 9))
    assert (await world.run(utc(*MONDAY, 10))).sent == 1
    # Member-local occurrences close when the last zone's window does: 12 h + 72 h later.
    report = await world.run(utc(2026, 1, 8, 22))
    assert (report.expired, report.missed) == (1, 1)
    statuses = {c.member_id: c.status for c in await world.checkins_of()}
    assert statuses == {busy.id: CheckInStatus.MISSED, other.id: CheckInStatus.EXPIRED}
    assert [o.status for o in await world.occurrences(schedule)] == [OccurrenceStatus.CLOSED]
    assert await world.outbox(busy) == []


async def test_window_close_expires_runs_and_drops_anonymous_answers(world: World) -> None:
    pulse = await world.member()
    roles_member = await world.member(group="municipality")
    await world.schedule("trust_pulse", weekly(0), audience=Audience(groups=("community",)))
    await world.schedule("roles", weekly(0), audience=Audience(groups=("municipality",)))
    await world.run(utc(*MONDAY, 10))
    [pulse_run] = await world.runs(pulse)
    [roles_run] = await world.runs(roles_member)
    await world.move_run(
        pulse_run.id or 0, "civil_society", {"municipality": 4, "private_sector": 2}
    )
    kept = {"brings": ["funding"], "expect_municipality": "Clear rules"}
    await world.move_run(roles_run.id or 0, "expect_private_sector", kept)

    assert (await world.run(utc(2026, 1, 8, 9, 59))).expired == 0
    assert (await world.run(utc(2026, 1, 8, 10))).expired == 2
    [pulse_run] = await world.runs(pulse)
    [roles_run] = await world.runs(roles_member)
    assert (pulse_run.status, pulse_run.answers) == (RunStatus.EXPIRED, {})
    assert (roles_run.status, roles_run.answers) == (RunStatus.EXPIRED, kept)
    assert {c.status for c in await world.checkins_of()} == {CheckInStatus.EXPIRED}


async def test_reminders_go_only_to_members_who_have_not_finished(world: World) -> None:
    done, partway, silent = await world.member(), await world.member(), await world.member()
    await world.schedule("trust_pulse", weekly(0), basis="partnership")
    assert (await world.run(utc(*MONDAY, 10))).sent == 3
    runs = {m.id: (await world.runs(m))[0].id or 0 for m in (done, partway, silent)}
    await world.end_run(runs[done.id], at=utc(*MONDAY, 12))
    await world.move_run(runs[partway.id], "heard", {"municipality": 3})

    early = await world.run(utc(2026, 1, 6, 9, 59))
    assert (early.reminded, early.settled) == (0, 1)
    assert (await world.run(utc(2026, 1, 6, 10))).reminded == 2
    [_, nudge] = await world.outbox(partway)
    assert nudge.text.startswith("⏰ Reminder: “Trust pulse” is still waiting for your answers.")
    assert "Do you feel <b>heard</b> in the partnership?" in nudge.text
    assert nudge.reply_markup is not None
    assert nudge.reply_markup["inline_keyboard"][0][0]["callback_data"] == (
        f"a:{runs[partway.id]}:heard:1"
    )
    [_, silent_nudge] = await world.outbox(silent)
    assert "<b>municipality</b>" in silent_nudge.text
    assert silent_nudge.dedupe_key is not None and silent_nudge.dedupe_key.endswith(":reminder:1")

    assert (await world.run(utc(2026, 1, 7, 9))).reminded == 0
    assert (await world.run(utc(2026, 1, 7, 10))).reminded == 2
    assert (await world.run(utc(2026, 1, 8, 9, 59))).reminded == 0  # at most two
    assert (await world.run(utc(2026, 1, 8, 10))).expired == 2
    assert [len(await world.outbox(m)) for m in (done, partway, silent)] == [1, 3, 3]
    statuses = {c.member_id: c.status for c in await world.checkins_of()}
    assert statuses == {
        done.id: CheckInStatus.DONE,
        partway.id: CheckInStatus.EXPIRED,
        silent.id: CheckInStatus.EXPIRED,
    }


async def test_a_reminder_due_at_night_waits_for_the_morning(world: World) -> None:
    member = await world.member()
    await world.schedule("trust_pulse", weekly(0), reminders=(timedelta(hours=12),))
    await world.run(utc(*MONDAY, 10))
    assert (await world.run(utc(*MONDAY, 22))).reminded == 0  # quiet hours from 21:00
    assert (await world.run(utc(2026, 1, 6, 7, 59))).reminded == 0
    assert (await world.run(utc(2026, 1, 6, 8, 0))).reminded == 1
    assert len(await world.outbox(member)) == 2


async def test_downtime_is_coalesced_and_missed_occurrences_recorded(world: World) -> None:
    member = await world.member()
    schedule = await world.schedule("trust_pulse", weekly(0, 3), basis="partnership")
    assert (await world.run(utc(*MONDAY, 10))).sent == 1
    # Down from Monday until the Tuesday after: Thursday's occurrence closed meanwhile,
    # the second Monday's is still open.
    report = await world.run(utc(2026, 1, 13, 9))
    assert (report.sent, report.expired, report.occurrences) == (1, 1, 2)
    assert [(o.occurrence, o.status) for o in await world.occurrences(schedule)] == [
        ("2026-01-05", OccurrenceStatus.CLOSED),
        ("2026-01-08", OccurrenceStatus.MISSED),
        ("2026-01-12", OccurrenceStatus.OPEN),
    ]
    assert [c.occurrence for c in await world.checkins_of(member)] == ["2026-01-05", "2026-01-12"]
    assert (await world.run(utc(2026, 1, 13, 9))).sent == 0
    assert len(await world.outbox(member)) == 2


async def test_stopped_blocked_and_other_audiences_get_nothing(world: World) -> None:
    community = await world.member()
    french = await world.member(language="fr", group="municipality")
    await world.member(status=MemberStatus.STOPPED)
    await world.member(status=MemberStatus.BLOCKED)
    await world.schedule("trust_pulse", weekly(0), audience=Audience(groups=("community",)))
    await world.schedule("roles", weekly(0), audience=Audience(languages=("fr",)))
    assert (await world.run(utc(*MONDAY, 10))).sent == 2
    assert {(c.member_id, c.schedule_id) for c in await world.checkins_of()} == {
        (community.id, 1),
        (french.id, 2),
    }


async def test_a_member_who_joined_after_the_send_time_waits_for_the_next(world: World) -> None:
    await world.schedule("trust_pulse", weekly(0))
    late = await world.member(joined=utc(*MONDAY, 10, 5))
    assert (await world.run(utc(*MONDAY, 10, 10))).sent == 0
    assert (await world.run(utc(2026, 1, 12, 10))).sent == 1
    assert [c.occurrence for c in await world.checkins_of(late)] == ["2026-01-12"]


async def test_nothing_is_sent_twice_even_when_opened_again(world: World) -> None:
    member = await world.member()
    schedule = await world.schedule("trust_pulse", weekly(0))
    for _ in range(3):
        await world.run(utc(*MONDAY, 10))
    assert len(await world.outbox(member)) == 1
    # Opening the same occurrence by hand finds nobody left to send to.
    async with world.sessions() as session:
        spec_groups = [store.Group(utc(*MONDAY, 10), utc(2026, 1, 8, 10), zones=[None])]
        opening = store.Opening(
            schedule_id=schedule.id or 0,
            occurrence="2026-01-05",
            flow_id="trust_pulse",
            flow_version=1,
            node_id="municipality",
            next_reminder_at=None,
            source="checkin:1",
            dedupe_prefix="checkin:1:2026-01-05:",
            parts={"en": 1},
            default_locale="en",
        )
        # The member is in the check-in's conversation, and has the occurrence already.
        opened = await store.open_checkins(
            session,
            opening,
            audience=Audience(),
            groups=spec_groups,
            now=utc(*MONDAY, 10, 1),
        )
        await session.commit()
    assert opened.count == 0
    assert len(await world.outbox(member)) == 1


async def test_default_schedules_are_created_once(world: World) -> None:
    async with world.sessions() as session:
        first = await world.checkins.ensure_defaults(session, now=CREATED)
        again = await world.checkins.ensure_defaults(session, now=CREATED)
        await session.commit()
    assert [s.flow_id for s in first] == ["trust_pulse", "partnership_review"]
    assert again == []
    async with world.sessions() as session:
        await world.checkins.set_status(
            session, schedule_id=first[0].id or 0, status=ScheduleStatus.DELETED, now=CREATED
        )
        assert await world.checkins.ensure_defaults(session, now=CREATED) == []
        assert [s.flow_id for s in await world.checkins.all(session)] == ["partnership_review"]
        await session.commit()


async def test_a_paused_schedule_skips_what_comes_due_meanwhile(world: World) -> None:
    member = await world.member()
    schedule = await world.schedule("trust_pulse", weekly(0), basis="partnership")
    async with world.sessions() as session:
        await world.checkins.set_status(
            session, schedule_id=schedule.id or 0, status=ScheduleStatus.PAUSED, now=utc(2026, 1, 4)
        )
        await session.commit()
    assert (await world.run(utc(*MONDAY, 10))).sent == 0
    async with world.sessions() as session:
        await world.checkins.set_status(
            session,
            schedule_id=schedule.id or 0,
            status=ScheduleStatus.ACTIVE,
            now=utc(*MONDAY, 11),
        )
        await session.commit()
    assert (await world.run(utc(*MONDAY, 11))).sent == 0
    assert (await world.run(utc(2026, 1, 12, 10))).sent == 1
    assert [c.occurrence for c in await world.checkins_of(member)] == ["2026-01-12"]


async def test_relative_to_joining(world: World) -> None:
    await world.member(joined=utc(2025, 12, 2, 9))  # due before the schedule existed
    early = await world.member(joined=utc(2025, 12, 28, 9))  # due 4 Jan, closes 7 Jan
    recent = await world.member(joined=utc(2025, 12, 30, 9))  # due 6 Jan, closes 9 Jan
    newcomer = await world.member(joined=utc(*MONDAY, 8))  # due 12 Jan at 10:00
    rec = Recurrence(kind="relative", at=time(10), after_days=7)
    await world.schedule("roles", rec)

    first = await world.run(utc(2026, 1, 6, 12))
    assert (first.sent, first.missed) == (2, 0)
    assert {c.member_id for c in await world.checkins_of()} == {early.id, recent.id}
    report = await world.run(utc(2026, 1, 10, 9))
    assert (report.sent, report.missed, report.expired) == (0, 0, 2)
    assert (await world.run(utc(2026, 1, 12, 9, 59))).sent == 0
    assert (await world.run(utc(2026, 1, 12, 10))).sent == 1
    assert (await world.run(utc(2026, 1, 12, 11))).sent == 0
    [checkin] = await world.checkins_of(newcomer)
    assert (checkin.occurrence, checkin.due_at) == ("2026-01-12", utc(2026, 1, 12, 10))


async def test_relative_missed_while_down(world: World) -> None:
    early = await world.member(joined=utc(2025, 12, 28, 9))
    await world.schedule("roles", Recurrence(kind="relative", at=time(10), after_days=7))
    report = await world.run(utc(2026, 1, 10, 9))
    assert (report.sent, report.missed) == (0, 1)
    [checkin] = await world.checkins_of(early)
    assert (checkin.status, checkin.occurrence) == (CheckInStatus.MISSED, "2026-01-04")
    assert (await world.run(utc(2026, 1, 11))).missed == 0


async def test_relative_to_the_last_finished_run_of_a_flow(world: World) -> None:
    member = await world.member()
    rec = Recurrence(kind="relative", at=time(10), after_days=3, event_flow="roles")
    await world.schedule("trust_pulse", rec, window=timedelta(hours=24), reminders=())
    first = await world.start_flow(member, "roles", at=utc(*MONDAY, 14))
    await world.end_run(first.id or 0, at=utc(*MONDAY, 15))
    second = await world.start_flow(member, "roles", at=utc(2026, 1, 6, 14))
    await world.end_run(second.id or 0, at=utc(2026, 1, 6, 15))
    # Only the latest run counts: 6 Jan + 3 days.
    assert (await world.run(utc(2026, 1, 8, 10))).sent == 0
    assert (await world.run(utc(2026, 1, 9, 10))).sent == 1
    [checkin] = await world.checkins_of(member)
    assert checkin.occurrence == "2026-01-09"


async def test_jobs_fire_at_the_first_zone_due(world: World) -> None:
    await world.member(zone="Asia/Tokyo")
    await world.member(zone="America/New_York")
    schedule = await world.schedule("trust_pulse", weekly(0))
    await world.schedule("roles", Recurrence(kind="relative", at=time(10), after_days=7))
    async with world.sessions() as session:
        assert await world.checkins.next_fire_times(session, utc(2026, 1, 4, 12)) == {
            schedule.id: utc(*MONDAY, 1)
        }
        assert await world.checkins.next_fire_times(session, utc(*MONDAY, 2)) == {
            schedule.id: utc(*MONDAY, 15)
        }


async def test_the_outbox_rows_are_queued_check_in_messages(world: World) -> None:
    await world.member()
    await world.schedule("trust_pulse", weekly(0))
    await world.run(utc(*MONDAY, 10))
    [row] = await world.outbox()
    assert (row.kind, row.status, row.attempts, row.source) == (
        "checkin",
        OutboxStatus.QUEUED,
        0,
        "checkin:1",
    )
    assert row.next_attempt_at == utc(*MONDAY, 10)
