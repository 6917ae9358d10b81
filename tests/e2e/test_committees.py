"""Committees end to end: created and staffed in chat and from the shell, concerns routed to
their coordinators, and a committee as the audience of a broadcast and of a schedule."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN, Database, Phone, go_on_without_media, onboard
from sqlmodel import select

from bot.app import BotApp
from bot.cli import main
from bot.domain.audiences import Audience
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.audiences import audience_filter
from bot.storage.models import Committee, CommitteeMember, Member, Schedule, Ticket

ROOT = Path(__file__).resolve().parents[2]


async def rows(db: Database, model: type[Any]) -> list[Any]:
    async with db.session_factory() as session:
        return list((await session.exec(select(model))).all())


async def test_committees_are_created_and_staffed_in_chat(
    admin: Phone, marc: Phone, phone: Phone, db: Database
) -> None:
    await onboard(phone, "Other")
    await admin.send("/committees")
    assert "No committee yet." in admin.new_text()
    await admin.send("/committee new Steering group")
    assert "Committee #1 “Steering group” created." in admin.new_text()
    await marc.send("/committee new Evaluation committee")
    assert "Committee #2 “Evaluation committee” created." in marc.new_text()
    await admin.send("/committee new steering GROUP")
    assert "There is already a committee called “steering GROUP”." in admin.new_text()

    await admin.send("/committee staff Steering group 1003 chair")
    assert "Marc now chairs Steering group." in admin.new_text()
    await admin.send(f"/committee staff 1 {ADMIN}")
    assert "Ada now sits on Steering group." in admin.new_text()
    await admin.send("/committee staff 2 1001")
    assert "Amina now sits on Evaluation committee." in admin.new_text()
    await admin.send("/committee staff 2 424242")
    assert "No member has the Telegram id 424242." in admin.new_text()
    await admin.send("/committee staff Nowhere 1001")
    assert "There is no committee “Nowhere”." in admin.new_text()
    await admin.send("/committee staff 2")
    assert "Usage: /committee" in admin.new_text()

    await admin.send("/committees")
    assert admin.new_text() == (
        "Committees\n#1 Steering group: Marc (chair), Ada\n#2 Evaluation committee: Amina"
    )
    await admin.send("/committee unstaff 2 1001")
    assert "Amina no longer sits on Evaluation committee." in admin.new_text()
    await admin.send("/committee archive Evaluation committee")
    assert "Evaluation committee is archived." in admin.new_text()
    await admin.send("/committees")
    assert admin.new_text() == "Committees\n#1 Steering group: Marc (chair), Ada"

    await phone.send("/committee new Mine")
    assert "Only coordinators can manage committees." in phone.new_text()
    await phone.send("/committees")
    assert "Only coordinators" in phone.new_text()
    assert [c.name for c in await rows(db, Committee)] == ["Steering group", "Evaluation committee"]


async def test_concerns_go_to_the_steering_committees_coordinators(
    admin: Phone, marc: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    member = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(member, "Civil-society organisation")
    await admin.send("/committee new Steering group")
    await admin.send("/committee staff 1 1003")
    await admin.send("/committee staff 1 1001")  # a plain member sits on it too
    admin.new()

    await member.send("/concern")
    for label in (". Trust", ". The municipality", ". Soon"):
        await member.press(label)
    await member.send("Decisions are taken before meetings.")
    await member.press("Stay anonymous")
    await go_on_without_media(member)
    card = await marc.wait_for("New concern")
    assert "From: anonymous" in card.plain_text
    assert app.sender is not None
    await app.sender.wait_idle()
    # Ada coordinates but is not on the committee; Amina is on it but coordinates nothing.
    assert [m for m in admin.messages if "New concern" in m.plain_text] == []
    assert [m for m in member.messages if "New concern" in m.plain_text] == []
    [ticket] = await rows(db, Ticket)
    [committee] = await rows(db, Committee)
    assert ticket.committee_id == committee.id

    # Archived, the committee is routed to no more: every coordinator receives concerns.
    await admin.send("/committee archive 1")
    await member.send("/concern")
    for label in (". Something else", ". The private sector", ". Not urgent"):
        await member.press(label)
    await member.send("Too much noise at night.")
    await member.press("Give my name")
    await go_on_without_media(member)
    await admin.wait_for("Too much noise")
    await marc.wait_for("Too much noise")
    assert [t.committee_id for t in await rows(db, Ticket)] == [committee.id, None]


async def test_a_broadcast_to_a_committee(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp, db: Database
) -> None:
    inside = Phone(emulator, app, user_id=1001, first_name="Amina")
    outside = Phone(emulator, app, user_id=1002, first_name="Sam")
    await onboard(inside, "Municipality")
    await onboard(outside, "Municipality")
    await admin.send("/committee new Evaluation committee")
    await admin.send("/committee staff 1 1001")
    admin.new()

    await admin.send("/broadcast")
    await admin.send("Evaluation meeting on Thursday")
    assert "Now: 3 members." in admin.new_text()
    await admin.press("Committee: Evaluation committee")
    assert "Now: 1 members." in admin.last.plain_text or "Now: 1 member" in admin.last.plain_text
    await admin.press("Continue")
    await admin.press("One text for all")
    await admin.press("No")
    await admin.press("Send now")
    await admin.press("Send")
    await inside.wait_for("Evaluation meeting on Thursday")
    await admin.wait_for("Delivery report")
    assert [m for m in outside.messages if "Evaluation" in m.plain_text] == []
    [broadcast] = await db.broadcasts()
    assert broadcast.audience["committees"] == [1]

    # Membership is read when sending: someone who joins later receives the next one.
    await admin.send("/committee staff 1 1002")
    async with db.session_factory() as session:
        audience = Audience.from_json(broadcast.audience)
        members = (await session.exec(select(Member).where(*audience_filter(audience)))).all()
    assert sorted(m.telegram_user_id for m in members) == [1001, 1002]


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, database_schema: str | None
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    if database_schema:
        monkeypatch.setenv("DATABASE_SCHEMA", database_schema)
    monkeypatch.setenv("FLOWS_DIR", str(ROOT / "flows"))
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))


# A log line of the bot running beside the command (its loop-lag warning under load, say): the
# command's logging setup sends every logger of this process to stderr.
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ [A-Z]+ \S+: ")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """The command's exit code, output and own messages on stderr."""
    code = main(["committees", *args])
    out, err = capsys.readouterr()
    own = [line for line in err.splitlines(keepends=True) if not LOG_LINE.match(line)]
    return code, out, "".join(own)


async def test_committees_from_the_shell(
    admin: Phone, capsys: pytest.CaptureFixture[str], environment: None, db: Database
) -> None:
    run = cli
    assert await _in_thread(run, capsys, "add", "Steering group", "--purpose", "Steers") == (
        0,
        "Committee #1 “Steering group” created.\n",
        "",
    )
    assert await _in_thread(run, capsys, "add", "2024") == (
        1,
        "",
        "partnerbot: A committee needs a name of at most 80 characters, not only digits.\n",
    )
    assert await _in_thread(run, capsys, "staff", "Steering group", str(ADMIN), "--chair") == (
        0,
        "Ada now chairs Steering group.\n",
        "",
    )
    assert await _in_thread(run, capsys, "list") == (
        0,
        f"Committees\n#1 Steering group: Ada ({ADMIN}) (chair)\n",
        "",
    )
    assert await _in_thread(run, capsys, "unstaff", "1", "1001") == (
        1,
        "",
        "partnerbot: No member has the Telegram id 1001.\n",
    )
    assert await _in_thread(run, capsys, "unstaff", "1", str(ADMIN)) == (
        0,
        "Ada no longer sits on Steering group.\n",
        "",
    )
    assert await _in_thread(run, capsys, "archive", "1") == (0, "Steering group is archived.\n", "")
    assert await _in_thread(run, capsys, "staff", "1", str(ADMIN)) == (
        1,
        "",
        "partnerbot: There is no committee “1”.\n",
    )
    assert await db.count(CommitteeMember) == 0
    await admin.send("/committees")
    assert "No committee yet." in admin.new_text()

    # A committee as the audience of scheduled check-ins.
    code = await asyncio.to_thread(
        main, ["schedules", "add", "roles", "--weekly", "mon", "--to-committee", "1"]
    )
    capsys.readouterr()
    assert code == 0
    [schedule] = [s for s in await rows(db, Schedule) if s.flow_id == "roles"]
    assert Audience.from_json(schedule.audience).committees == (1,)


async def _in_thread(*args: Any) -> Any:
    """The CLI runs its own event loop: run it off the test's loop."""
    return await asyncio.to_thread(*args)


async def test_a_schedule_for_a_committee_in_chat(admin: Phone, db: Database) -> None:
    await admin.send("/committee new Steering group")
    await admin.send(f"/committee staff 1 {ADMIN}")
    await admin.send("/schedules")
    admin.new()
    await admin.press("New schedule")
    await admin.press("Our objectives")
    await admin.press("Committee: Steering group")
    assert "☑ Committee: Steering group" in [label for label, _ in admin.last.buttons]
    await admin.press("Continue")
    await admin.press("On days of the week")
    await admin.press("Wednesday")
    await admin.press("Continue")
    await admin.press("1")
    admin.new()
    await admin.send("18:30")
    await admin.press("The partnership’s time (UTC)")
    await admin.press("2 d")
    admin.new()
    await admin.press("After 1 d")
    assert "To: committee #1 (1 members now)." in admin.new_text()
    await admin.press("Create")
    [schedule] = [s for s in await rows(db, Schedule) if s.flow_id == "objectives"]
    assert schedule.audience["committees"] == [1]
