"""The audit log: broadcasts, exports, role, schedule and committee changes, read by admins
only."""

from __future__ import annotations

import asyncio

import pytest
from conftest import ADMIN, ROOT, Database, Phone, onboard
from test_broadcasts import schedule

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import audit
from bot.storage.models import AuditEntry


async def entries(app: BotApp) -> list[AuditEntry]:
    """In the order they were recorded (the bot's clock is the test's, the CLI's is real)."""
    assert app.session_factory is not None
    async with app.session_factory() as session:
        return sorted(await audit.list_entries(session), key=lambda e: e.id or 0)


async def test_who_did_what_is_recorded(
    admin: Phone,
    emulator: BotAPIEmulator,
    app: BotApp,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    helper = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(helper, "Civil-society organisation")
    await admin.send("/promote 1001")
    await admin.send("/demote 1001")

    await schedule(admin, "12:00")
    await admin.press("Send")
    await admin.send("/broadcasts")
    await admin.press("Cancel #1")

    await admin.send("/schedules")
    await admin.press("Pause #1")
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if settings.database_schema:
        monkeypatch.setenv("DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("FLOWS_DIR", str(ROOT / "flows"))
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))
    assert await asyncio.to_thread(main, ["schedules", "resume", "1"]) == 0

    await admin.send("/export csv")
    admin.new()

    recorded = [(e.actor_label, e.action) for e in await entries(app)]
    assert recorded == [
        ("admin 9001", "role.promoted"),
        ("admin 9001", "role.demoted"),
        ("admin 9001", "broadcast.confirmed"),
        ("admin 9001", "broadcast.cancelled"),
        ("admin 9001", "schedule.paused"),
        ("cli", "schedule.resumed"),
        ("admin 9001", "export"),
    ]
    promoted, demoted, confirmed, cancelled, paused, resumed, _ = await entries(app)
    assert promoted.detail["target"] == "member 1001" and promoted.detail["role"] == "coordinator"
    assert (demoted.detail["previous"], demoted.detail["role"]) == ("coordinator", "member")
    assert confirmed.detail["broadcast"] == cancelled.detail["broadcast"] == 1
    assert paused.detail["schedule"] == resumed.detail["schedule"] == 1

    await admin.send("/audit")
    shown = admin.new_text()
    assert "Audit log, newest first (1–7 of 7, times in UTC):" in shown
    assert "admin 9001 · role.promoted (target_member_id=" in shown
    assert "cli · schedule.resumed (schedule=1" in shown
    assert shown.index("schedule.resumed") < shown.index("export") < shown.index("role.promoted")


async def test_committee_changes_are_recorded_in_chat_and_from_the_shell(
    admin: Phone,
    emulator: BotAPIEmulator,
    app: BotApp,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    amina = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(amina, "Civil-society organisation")
    await admin.send("/committee new Steering group")
    await admin.send("/committee staff 1 1001 chair")
    await admin.send("/committee unstaff Steering group 1001")
    await admin.send("/committee staff 1 424242")  # nobody has that id: nothing changed
    await admin.send("/committee new steering GROUP")  # taken: nothing changed
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    if settings.database_schema:
        monkeypatch.setenv("DATABASE_SCHEMA", settings.database_schema)
    monkeypatch.setenv("FLOWS_DIR", str(ROOT / "flows"))
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))
    assert await asyncio.to_thread(main, ["committees", "add", "Evaluation committee"]) == 0
    assert await asyncio.to_thread(main, ["committees", "staff", "1", "1001"]) == 0
    assert await asyncio.to_thread(main, ["committees", "unstaff", "1", "1001"]) == 0
    assert await asyncio.to_thread(main, ["committees", "archive", "Steering group"]) == 0
    amina_member = await Database(app).member(1001)
    assert amina_member is not None

    steering = {"committee": 1, "name": "Steering group"}
    about_amina = {"target_member_id": amina_member.id, "target": "member 1001"}
    recorded = [(e.actor_label, e.action, e.detail) for e in await entries(app)]
    assert recorded == [
        ("admin 9001", "committee.created", steering),
        ("admin 9001", "committee.staffed", {**steering, **about_amina, "chair": True}),
        ("admin 9001", "committee.unstaffed", {**steering, **about_amina}),
        ("cli", "committee.created", {"committee": 2, "name": "Evaluation committee"}),
        ("cli", "committee.staffed", {**steering, **about_amina, "chair": False}),
        ("cli", "committee.unstaffed", {**steering, **about_amina}),
        ("cli", "committee.archived", steering),
    ]
    assert "Amina" not in str(recorded)  # who a change is about, never by name
    [created, *_] = await entries(app)
    assert created.actor_member_id == (await Database(app).member(ADMIN)).id  # type: ignore[union-attr]

    await admin.send("/audit")
    shown = admin.new_text()
    assert "cli · committee.archived (committee=1, name=Steering group)" in shown
    assert "admin 9001 · committee.staffed (committee=1, name=Steering group, " in shown

    # Once Amina is forgotten, the entries about her keep the change, not her.
    await amina.send("/forget")
    await amina.send("yes")
    about = [e.detail for e in await entries(app) if "target" in e.detail]
    assert len(about) == 4
    assert all(d["target"] == d["target_member_id"] == "former member" for d in about)


async def test_audit_pages_and_admins_only(
    admin: Phone, emulator: BotAPIEmulator, app: BotApp
) -> None:
    helper = Phone(emulator, app, user_id=1001, first_name="Amina")
    await onboard(helper, "Other")
    await helper.send("/audit")
    assert "Only admins can read the audit log." in helper.new_text()

    for _ in range(11):
        await admin.send("/promote 1001")
        await admin.send("/demote 1001")
    await admin.send("/promote 1001 admin")
    await admin.send("/audit")
    first = admin.new()[-1]
    assert "(1–20 of 23," in first.plain_text
    await admin.press("Older", message=first)
    assert "(21–23 of 23," in first.plain_text
    assert [b for b, _ in first.buttons] == ["‹ Newer"]
    await admin.press("Newer", message=first)
    assert "(1–20 of 23," in first.plain_text

    await helper.send("/audit")
    page = helper.new()[-1]
    assert "(1–20 of 23," in page.plain_text
    await admin.send("/demote 1001")
    await helper.press("Older", message=page)
    assert helper.toast() == "You are no longer allowed to do this."
    assert "(1–20 of 23," in page.plain_text


def test_the_audit_command_prints_the_log(
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
    database_schema: str | None,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    if database_schema:
        monkeypatch.setenv("DATABASE_SCHEMA", database_schema)
    monkeypatch.setenv("FLOWS_DIR", str(ROOT / "flows"))
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))
    assert main(["audit"]) == 0
    assert capsys.readouterr().out == "the audit log is empty\n"
    assert main(["schedules", "add", "roles", "--after-joining", "7"]) == 0
    capsys.readouterr()
    assert main(["audit", "--since", "2000-01-01"]) == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.endswith(" · cli · schedule.created (flow=roles)")
    assert main(["audit", "--since", "2999-01-01"]) == 0
    assert capsys.readouterr().out == "the audit log is empty\n"
