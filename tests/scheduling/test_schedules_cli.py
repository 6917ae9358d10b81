"""`partnerbot schedules …`: clear errors and exit 1 for invalid input, and the changes made."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def environment(
    monkeypatch: pytest.MonkeyPatch, database_url: str, database_schema: str | None
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    if database_schema:
        monkeypatch.setenv("DATABASE_SCHEMA", database_schema)
    monkeypatch.setenv("FLOWS_DIR", str(ROOT / "flows"))
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))
    monkeypatch.setenv("PARTNERSHIP_TIMEZONE", "UTC")


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["schedules", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("add", "trust_pulse", "--weekly", "mon", "--at", "25:00"),
            "partnerbot: “25:00” is not a time of day. Type it as HH:MM, from 00:00 to 23:59.\n",
        ),
        (
            ("add", "roles", "--once", "2030-02-30"),
            "partnerbot: 2030-02-30 does not exist in the calendar.\n",
        ),
        (
            ("add", "nothing_like_it", "--weekly", "mon"),
            "partnerbot: There is no conversation “nothing_like_it” that can be scheduled.\n",
        ),
        (
            ("add", "onboarding", "--weekly", "mon"),
            "partnerbot: There is no conversation “onboarding” that can be scheduled.\n",
        ),
        (
            ("add", "trust_pulse", "--weekly", "mon,wed", "--window", "72h"),
            "partnerbot: An answer window of 72 h is longer than the time between two sends "
            "(48 h). Choose a shorter one.\n",
        ),
        (
            ("add", "trust_pulse", "--monthly", "fifth:tue"),
            "partnerbot: “fifth” is not a week of the month (first, second, third, fourth or "
            "last).\n",
        ),
        (
            ("add", "trust_pulse", "--weekly", "mon", "--reminders", "24h,48h,60h"),
            "partnerbot: At most 2 reminders.\n",
        ),
        (
            ("add", "trust_pulse", "--weekly", "mon", "--group", "aliens"),
            "partnerbot: “aliens” is not a stakeholder group (municipality, private_sector, "
            "civil_society, community, other).\n",
        ),
        (
            ("add", "trust_pulse"),
            "partnerbot: Say when: --weekly, --monthly, --once, --after-joining or --after-flow "
            "(one of them).\n",
        ),
        (("pause", "42"), "partnerbot: There is no schedule #42.\n"),
    ],
)
def test_invalid_input_exits_1_with_a_clear_message(
    environment: None, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], message: str
) -> None:
    code, out, err = run(capsys, *args)
    assert (code, out, err) == (1, "", message)


def test_add_list_pause_resume_delete(
    environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        "add",
        "partnership_review",
        "--monthly",
        "last:fri",
        "--every",
        "3",
        "--at",
        "9h30",
        "--basis",
        "partnership",
        "--window",
        "7d",
        "--reminders",
        "2d,4d",
        "--group",
        "municipality",
        "--language",
        "fr",
    )
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:3] == [
        "schedule #1 created",
        "#1 Partnership review – active",
        "every 3 months on the last Friday at 09:30 (UTC time)",
    ]
    assert "To: Municipality, Français. Answers within 7 d; reminders: 2 d, 4 d." in out
    assert lines[-6] == "next send times:"
    assert all(line.startswith("  Friday ") and line.endswith(" 09:30") for line in lines[-5:])

    code, out, _ = run(capsys, "add", "roles", "--after-joining", "7")
    assert code == 0
    assert "7 days after joining, at 10:00 (each member’s local time)" in out
    assert "next send times" not in out

    code, out, _ = run(capsys, "list")
    assert code == 0
    assert "#1 Partnership review – active" in out
    assert "#2 Roles and responsibilities – active" in out

    assert run(capsys, "pause", "1")[:2] == (0, "schedule #1 is now paused\n")
    assert "#1 Partnership review – paused" in run(capsys, "list")[1]
    assert run(capsys, "resume", "1")[:2] == (0, "schedule #1 is now active\n")
    assert run(capsys, "delete", "2")[:2] == (0, "schedule #2 is now deleted\n")
    code, out, _ = run(capsys, "list")
    assert "#2" not in out
    assert run(capsys, "delete", "2")[0] == 1
