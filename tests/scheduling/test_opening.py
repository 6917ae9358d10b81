"""The set-based opening of check-ins: several zones at once, names, texts of several parts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import time
from pathlib import Path

import pytest
import yaml
from checkin_world import World, open_world, utc, weekly

from bot.content import load_flows
from bot.domain.text import split_html
from bot.services.checkins import Checkins
from bot.storage import checkins as store
from bot.storage import outbox, repo
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
    messages = await world.outbox()
    for message, written in zip(messages, await world.written(), strict=True):
        assert written is not None and written.reply_markup is not None
        data = written.reply_markup["inline_keyboard"][0][0]["callback_data"]
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


async def test_names_are_filled_in_escaped_and_long_texts_split(
    world: World, tmp_path: Path
) -> None:
    # A flow whose first step greets the reader by name, too long for one message.
    greetings = [
        {"id": f"hello{n}", "say": "onboarding.welcome", "next": f"hello{n + 1}"} for n in range(20)
    ]
    flow = {
        "schema": 1,
        "id": "greeting",
        "version": 1,
        "title": "roles.title",
        "start": "hello0",
        "nodes": [
            *greetings,
            {"id": "hello20", "ask": "yes_no", "text": "onboarding.offer_roles", "next": "bye"},
            {"id": "bye", "end": "roles.thanks"},
        ],
    }
    (tmp_path / "greeting.yaml").write_text(yaml.safe_dump(flow), encoding="utf-8")
    catalogs = world.checkins.catalogs
    checkins = Checkins(
        flows=load_flows(tmp_path, locale_keys=catalogs.keys()),
        catalogs=catalogs,
        partnership_timezone="UTC",
        quiet_start=time(21, 0),
        quiet_end=time(8, 0),
    )
    world = World(world.sessions, checkins)
    english = await world.member(name="Ada <3 & co")
    french = await world.member(language="fr", name="Zoé")
    other = await world.member(language="de", name="Jo")  # reads the default locale
    await world.schedule("greeting", weekly(0))
    assert (await world.run(utc(*MONDAY, 10))).sent == 3

    runs: dict[int | None, int | None] = {c.member_id: c.run_id for c in await world.checkins_of()}
    messages = await world.outbox()
    written = await world.written()
    parts = 1 + max(m.part or 0 for m in messages)
    assert parts > 1
    key = "checkin:1:2026-01-05:"
    rows = sorted((m.member_id or 0, m.language, m.dedupe_key, m.run_id, m.part) for m in messages)
    assert rows == [
        (member.id, locale, f"{key}{member.id}:part{n + 1}", runs[member.id], n)
        for member, locale in ((english, "en"), (french, "fr"), (other, "en"))
        for n in range(parts)
    ]
    texts = {(m.member_id, m.part): w for m, w in zip(messages, written, strict=True)}
    shown = [texts[(english.id, n)] for n in range(parts)]
    assert all(part is not None and split_html(part.text) == [part.text] for part in shown)
    assert shown[0] is not None and shown[0].text.startswith(
        "Hello Ada &lt;3 &amp; co! I am <b>partnerbot</b>"
    )
    whole = "".join(part.text for part in shown if part is not None)
    assert whole.count("Hello Ada &lt;3 &amp; co!") == 20 and "Ada <3" not in whole
    # The buttons come with the last part only, and answer the reader's own run.
    assert [part.reply_markup is None for part in shown if part is not None] == [
        n < parts - 1 for n in range(parts)
    ]
    last = shown[-1]
    assert last is not None and last.reply_markup is not None
    [yes, _no] = last.reply_markup["inline_keyboard"][0]
    assert yes["callback_data"] == f"a:{runs[english.id]}:hello20:yes"
    french_first = texts[(french.id, 0)]
    assert french_first is not None and french_first.text.startswith("Bonjour Zoé !")
    other_first = texts[(other.id, 0)]
    assert other_first is not None and other_first.text.startswith("Hello Jo!")
    # Parts go out in order: every first part has a lower id than its second.
    ids = {(m.member_id, m.dedupe_key): m.id or 0 for m in messages}
    assert (
        ids[(english.id, f"{key}{english.id}:part1")]
        < ids[(english.id, f"{key}{english.id}:part2")]
    )


async def test_a_large_occurrence_is_committed_in_batches(world: World) -> None:
    members = [await world.member() for _ in range(26)]
    # In a conversation: skipped, and the batches go on past them.
    await world.start_flow(members[4], "roles", at=utc(*MONDAY, 9))
    await world.schedule("trust_pulse", weekly(0))
    world.checkins.runner.open_batch = 10
    seen: list[tuple[int, int]] = []
    async with world.sessions() as session:

        async def checkpoint() -> None:
            await session.commit()
            # Another connection (a member answering) sees each batch, and may write at once.
            async with world.sessions() as other:
                checkins = len(await store.list_checkins(other))
                queued = len(await outbox.list_messages(other))
                await repo.update_member(
                    other, member=members[0], changes={"time_zone": None}, now=utc(*MONDAY, 10)
                )
                await other.commit()
            seen.append((checkins, queued))

        report = await world.checkins.run_due(session, utc(*MONDAY, 10), checkpoint=checkpoint)
        await session.commit()
    assert report.sent == 25
    assert seen == [(10, 10), (20, 20)]
    assert len(await world.checkins_of()) == len(await world.outbox()) == 25
    # A second pass finds every member served.
    assert (await world.run(utc(*MONDAY, 10, 1))).sent == 0
