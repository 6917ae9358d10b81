"""The set-based opening of check-ins: several zones at once, names, texts of several parts."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from checkin_world import World, open_world, utc, weekly

from bot.storage import schedules as store
from bot.storage.models import CheckInStatus

MONDAY = (2026, 1, 5)


@pytest.fixture
async def world(database_url: str, database_schema: str | None) -> AsyncIterator[World]:
    async with open_world(database_url, database_schema) as opened:
        yield opened


async def test_one_pass_opens_every_zone_due_each_at_its_own_moment(world: World) -> None:
    here = await world.member()
    tokyo = await world.member(zone="Asia/Tokyo")
    new_york = await world.member(zone="America/New_York")
    unknown = await world.member(zone="Mars/Olympus_Mons")  # read in the partnership's zone
    joined_late_here = await world.member(joined=utc(*MONDAY, 12))
    joined_early_there = await world.member(zone="America/New_York", joined=utc(*MONDAY, 12))
    los_angeles = await world.member(zone="America/Los_Angeles")  # 10:00 there is 18:00 UTC
    await world.schedule("trust_pulse", weekly(0))

    # 15:30 UTC is 00:30 in Tokyo: quiet hours hold Kenji's back until 08:00 there.
    assert (await world.run(utc(*MONDAY, 15, 30))).sent == 4
    assert (await world.run(utc(*MONDAY, 22, 59))).sent == 1  # Los Angeles
    assert (await world.run(utc(*MONDAY, 23, 0))).sent == 1  # Tokyo
    due = {c.member_id: (c.due_at, c.closes_at) for c in await world.checkins_of()}
    assert due == {
        here.id: (utc(*MONDAY, 10), utc(2026, 1, 8, 10)),
        tokyo.id: (utc(*MONDAY, 1), utc(2026, 1, 8, 1)),
        new_york.id: (utc(*MONDAY, 15), utc(2026, 1, 8, 15)),
        unknown.id: (utc(*MONDAY, 10), utc(2026, 1, 8, 10)),
        joined_early_there.id: (utc(*MONDAY, 15), utc(2026, 1, 8, 15)),
        los_angeles.id: (utc(*MONDAY, 18), utc(2026, 1, 8, 18)),
    }
    assert joined_late_here.id not in due
    runs: dict[int | None, int | None] = {c.member_id: c.run_id for c in await world.checkins_of()}
    for message in await world.outbox():
        assert message.reply_markup is not None
        data = message.reply_markup["inline_keyboard"][0][0]["callback_data"]
        assert data == f"a:{runs[message.member_id]}:municipality:1"


async def test_a_missed_pass_records_each_zone_at_its_own_moment(world: World) -> None:
    here = await world.member()
    new_york = await world.member(zone="America/New_York")
    for member in (here, new_york):
        await world.start_flow(member, "roles", at=utc(*MONDAY, 0))
    await world.schedule("trust_pulse", weekly(0))
    await world.run(utc(*MONDAY, 1))
    assert (await world.run(utc(2026, 1, 9))).missed == 2
    due = {c.member_id: (c.status, c.due_at) for c in await world.checkins_of()}
    assert due == {
        here.id: (CheckInStatus.MISSED, utc(*MONDAY, 10)),
        new_york.id: (CheckInStatus.MISSED, utc(*MONDAY, 15)),
    }


async def test_names_are_filled_in_escaped_and_long_texts_split(world: World) -> None:
    english = await world.member(name="Ada <3 & co")
    french = await world.member(language="fr", name="Zoé")
    other = await world.member(language="de", name="Jo")  # reads the default locale
    schedule = await world.schedule("roles", weekly(0))
    keyboard = json.dumps({"inline_keyboard": [[{"text": "x", "callback_data": "a:0:q:v"}]]})
    message = store.FirstMessage(
        parts={"en": ["Hello NAME!", "Second part"], "fr": ["Bonjour NAME"]},
        keyboards={"en": keyboard, "fr": keyboard},
        default_locale="en",
        name_marker="NAME",
        run_marker='"a:0:',
        run_prefix='"a:',
        run_suffix=":",
    )
    opening = store.Opening(
        schedule_id=schedule.id or 0,
        occurrence="2026-01-05",
        flow_id="roles",
        flow_version=1,
        node_id="brings",
        next_reminder_at=None,
        source="checkin:1",
        dedupe_prefix="checkin:1:2026-01-05:",
    )
    groups = [store.Group(utc(*MONDAY, 10), utc(2026, 1, 8, 10), zones=[None])]
    async with world.sessions() as session:
        opened = await store.open_checkins(
            session,
            opening,
            audience=store.Selection(),
            groups=groups,
            message=message,
            now=utc(*MONDAY, 10),
        )
        await session.commit()
    assert opened == 3
    runs = {c.member_id: c.run_id for c in await world.checkins_of()}
    rows = [
        (m.member_id, m.text, m.language, m.dedupe_key, m.reply_markup)
        for m in await world.outbox()
    ]
    markup: dict[int | None, object] = {
        m: {"inline_keyboard": [[{"text": "x", "callback_data": f"a:{r}:q:v"}]]}
        for m, r in runs.items()
    }
    key = "checkin:1:2026-01-05:"
    assert sorted(rows, key=lambda r: (r[0], r[3])) == [
        (english.id, "Hello Ada &lt;3 &amp; co!", "en", f"{key}{english.id}:part1", None),
        (english.id, "Second part", "en", f"{key}{english.id}:part2", markup[english.id]),
        (french.id, "Bonjour Zoé", "fr", f"{key}{french.id}", markup[french.id]),
        (other.id, "Hello Jo!", "en", f"{key}{other.id}:part1", None),
        (other.id, "Second part", "en", f"{key}{other.id}:part2", markup[other.id]),
    ]
    # Parts go out in order: every first part has a lower id than its second.
    ids = {(m.member_id, m.dedupe_key): m.id or 0 for m in await world.outbox()}
    assert (
        ids[(english.id, f"{key}{english.id}:part1")]
        < ids[(english.id, f"{key}{english.id}:part2")]
    )
