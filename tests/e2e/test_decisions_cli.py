"""`partnerbot decisions add|list|close`: proposals and their outcomes from the shell."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from conftest import Phone
from test_decisions import AMINA, QUESTION, committee, person

from bot.app import BotApp
from bot.cli import main
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator


@pytest.fixture
def clock() -> ManualClock:
    """The bot's time is the shell's (see `shell`)."""
    return ManualClock(datetime.now(UTC))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["decisions", *args])
    out, err = capsys.readouterr()
    own = [line for line in err.splitlines() if line.startswith("partnerbot:")]
    return code, out.strip(), "\n".join(own)


async def shell(
    clock: ManualClock, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    """The command runs its own event loop: off the test's loop."""
    done = await asyncio.to_thread(cli, capsys, *args)
    clock.advance(max(timedelta(0), datetime.now(UTC) - clock.now()))
    return done


async def test_the_shell_puts_lists_and_closes_proposals(
    emulator: BotAPIEmulator,
    app: BotApp,
    admin: Phone,
    cli_env: Settings,
    capsys: pytest.CaptureFixture[str],
    clock: ManualClock,
) -> None:
    amina = await person(emulator, app, AMINA, "Amina")
    await committee(admin, AMINA)
    assert await shell(clock, capsys, "add", "Pave?", "--closes", "2000-01-01 10:00") == (
        1,
        "",
        "partnerbot: The closing time must be in the future.",
    )
    closes = (datetime.now(UTC) + timedelta(days=2)).strftime("%Y-%m-%d %H:%M")
    assert await shell(
        clock, capsys, "add", QUESTION, "--closes", closes, "--committee", "Water board"
    ) == (0, "Proposal #1 put to 1 member(s), in private.", "")
    await amina.wait_for("Proposal #1")
    await amina.press("Block")
    code, out, _ = await shell(clock, capsys, "list")
    assert code == 0 and f"· {QUESTION}" in out and "Block 1 (1 of 1 voted)" in out
    code, out, _ = await shell(clock, capsys, "close", "1", "--statement", "Not now.")
    assert code == 0
    assert out.splitlines() == [
        "Proposal #1: votes are closed.",
        "Decision #1: the outcome went to 1 member(s) and is in the decision log.",
    ]
    assert "Result: not passed" in (await amina.wait_for("Decision #1")).plain_text
