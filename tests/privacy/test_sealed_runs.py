"""While a conversation is open, and after it ends however it ends, its anonymous answers are
nowhere in clear beside the member: not on the run, not in /mydata, not in a relay to them."""

from __future__ import annotations

import json
import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import Database, Phone, begin_flow, go_on_without_media, onboard
from sqlmodel import col, select

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import outbox
from bot.storage.models import Answer, Ballot, FlowRun, ScheduleStatus

REMARK = "the treasurer keeps the fees for himself"
RATINGS = ("municipality", "private_sector", "civil_society", "community", "heard", "commitment")
DISCARDING = """\
schema: 1
id: quick_poll
version: 1
title: trust_pulse.title
anonymous: true
start: mood
nodes:
  - id: mood
    ask: scale
    text: trust_pulse.heard
    min: 1
    max: 5
    low_label: trust_pulse.heard_low
    high_label: trust_pulse.heard_high
    next: keep
  - id: keep
    ask: yes_no
    text: digest.quote_consent
    next:
      - when: {equals: "no"}
        goto: dropped
      - goto: kept
  - id: dropped
    end: trust_pulse.thanks
    discard: true
  - id: kept
    end: trust_pulse.thanks
"""


@pytest.fixture
def flows_dir(tmp_path: Path) -> Path:
    copied = tmp_path / "flows"
    shutil.copytree(Path(__file__).resolve().parents[2] / "flows", copied)
    (copied / "quick_poll.yaml").write_text(DISCARDING)
    return copied


@pytest.fixture
def settings(settings: Settings, flows_dir: Path) -> Settings:
    return settings.model_copy(update={"flows_dir": flows_dir})


async def half_a_pulse(app: BotApp, phone: Phone) -> None:
    """Three ratings given, the rest still to come."""
    await onboard(phone)
    await begin_flow(app, phone, "trust_pulse")
    for value in ("4", "2", "5"):
        await phone.send(value)


async def run_of(db: Database, phone: Phone, flow_id: str) -> FlowRun:
    return next(r for r in reversed(await db.runs(phone.user_id)) if r.flow_id == flow_id)


async def rows(db: Database, model: type[Any]) -> list[Any]:
    async with db.session_factory() as session:
        return list((await session.exec(select(model))).all())


def in_clear(run: FlowRun) -> set[str]:
    return set(RATINGS) & set(run.answers)


async def test_open_and_cancelled_runs_keep_no_anonymous_answer(
    app: BotApp, phone: Phone, db: Database
) -> None:
    await half_a_pulse(app, phone)
    for value in ("3", "4", "1"):
        await phone.send(value)
    await phone.send(REMARK)
    run = await run_of(db, phone, "trust_pulse")
    assert in_clear(run) == set() and REMARK not in json.dumps(run.answers)

    phone.new()
    await phone.send("/mydata")
    document = json.loads(phone.new()[-1].file_bytes or b"")
    assert REMARK not in json.dumps(document)
    assert all(not {*RATINGS, "~sealed"} & set(r["answers"]) for r in document["runs"])

    await phone.send("/cancel")
    run = await run_of(db, phone, "trust_pulse")
    assert run.status == "abandoned" and run.answers == {}
    # The ratings already given are kept, in a ballot that names nobody.
    assert len(await rows(db, Ballot)) == 1
    assert [a for a in await rows(db, Answer) if a.flow_id == "trust_pulse"] == []


async def test_a_flow_reloaded_mid_run_leaves_no_anonymous_answer_on_it(
    app: BotApp, phone: Phone, db: Database, flows_dir: Path
) -> None:
    await half_a_pulse(app, phone)
    pulse = flows_dir / "trust_pulse.yaml"
    changed = pulse.read_text().replace("version: 2", "version: 3")
    changed = changed.replace("id: community", "id: locals").replace("t: community", "t: locals")
    pulse.write_text(changed)
    assert await app.reload_content() is None
    await phone.send("4")
    assert "updated" in phone.new_text()
    old = (await db.runs(phone.user_id))[-2]
    assert old.flow_id == "trust_pulse" and old.status == "abandoned"
    assert old.answers == {}
    assert len(await rows(db, Ballot)) == 1


async def test_a_discarded_run_keeps_nothing(app: BotApp, phone: Phone, db: Database) -> None:
    await onboard(phone)
    await begin_flow(app, phone, "quick_poll")
    await phone.send("2")
    run = await run_of(db, phone, "quick_poll")
    assert "mood" not in run.answers
    await phone.send("no")
    run = await run_of(db, phone, "quick_poll")
    assert run.status == "abandoned" and run.answers == {}
    assert await rows(db, Ballot) == []
    assert [a for a in await rows(db, Answer) if a.flow_id == "quick_poll"] == []


async def raise_up_to_identity(phone: Phone) -> None:
    await phone.send("/concern")
    for label in ("Trust", "The municipality", "Urgent"):
        await phone.press(f". {label}")
    await phone.send(REMARK)


async def test_a_concern_being_raised_is_not_in_clear_on_the_run(
    phone: Phone, db: Database
) -> None:
    await onboard(phone)
    await raise_up_to_identity(phone)
    run = await run_of(db, phone, "concerns")
    assert REMARK not in json.dumps(run.answers)
    assert {"category", "about", "urgency", "text"} & set(run.answers) == set()


async def test_relays_to_an_anonymous_raiser_carry_a_sealed_route(
    admin: Phone, phone: Phone, app: BotApp, db: Database
) -> None:
    await onboard(phone)
    await raise_up_to_identity(phone)
    await phone.press("Stay anonymous")
    await go_on_without_media(phone)
    card = await admin.wait_for("New concern")
    # What is stored while the relay waits: nothing sends it meanwhile.
    assert app.sender is not None
    await app.sender.stop()
    app.sender = None
    await admin.press("Answer", message=card)
    await admin.send("Thank you, we look into it.")
    [relay] = [m for m in await db.outbox() if m.source == outbox.ANONYMOUS_RELAY]
    assert relay.chat_id != phone.user_id and relay.member_id is None
    assert str(phone.user_id) not in json.dumps(relay.model_dump(mode="json"))
    assert app.sealer is not None and relay.route is not None
    assert app.sealer.open_route(relay.route) == phone.user_id


async def test_a_raiser_who_blocked_the_bot_is_not_named_in_the_logs(
    admin: Phone,
    phone: Phone,
    app: BotApp,
    db: Database,
    emulator: BotAPIEmulator,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await onboard(phone)
    await raise_up_to_identity(phone)
    await phone.press("Stay anonymous")
    await go_on_without_media(phone)
    handle = phone.new_text().split("ticket ")[1].split(" ")[0].rstrip(";")
    card = await admin.wait_for("New concern")
    emulator.block(phone.user_id)
    caplog.set_level(logging.DEBUG)
    await admin.press("Answer", message=card)
    await admin.send("Thank you, we look into it.")
    assert app.sender is not None
    await app.sender.wait_idle()
    relays = [m for m in await db.outbox() if m.source == outbox.ANONYMOUS_RELAY]
    assert relays == [] and app.sender.stats.skipped >= 1
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert str(phone.user_id) not in logged, logged
    assert handle not in logged or str(phone.user_id) not in logged
    async with db.session_factory() as session:
        found = await session.exec(select(Answer).where(col(Answer.flow_id) == "concerns"))
        assert found.all() == []


async def test_a_pulse_left_half_done_leaves_a_ballot_when_it_expires(
    app: BotApp, phone: Phone, db: Database, clock: ManualClock
) -> None:
    await onboard(phone)
    assert app.session_factory is not None and app.checkins is not None
    async with app.session_factory() as session:
        await app.checkins.set_status(
            session, schedule_id=2, status=ScheduleStatus.PAUSED, now=clock.now()
        )
        await session.commit()
    assert app.scheduler is not None
    clock.advance(timedelta(hours=1))  # Monday 10:00: the pulse goes out
    await app.scheduler.tick()
    await phone.wait_for("Weekly trust pulse")
    for value in ("4", "2", "5"):
        await phone.send(value)
    clock.advance(timedelta(days=4))  # its window closed days ago
    await app.scheduler.tick()
    run = await run_of(db, phone, "trust_pulse")
    assert run.status == "expired" and run.answers == {}
    # Fewer than k ballots: they wait, sealed, for more.
    assert len(await rows(db, Ballot)) == 1
    assert [a for a in await rows(db, Answer) if a.flow_id == "trust_pulse"] == []
