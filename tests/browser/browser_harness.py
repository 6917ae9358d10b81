"""`partnerbot sandbox` in a subprocess, and Debian's headless Chromium driven by Playwright."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(os.environ.get("ARTIFACTS_DIR", ROOT / "artifacts")) / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STARTUP_TIMEOUT_S = 60
WAIT_MS = 20_000
_URL = re.compile(r"open (http://\S+/) in a browser")

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"no Chromium at {CHROMIUM}: apt-get install chromium (CI installs it)",
)


@dataclass
class Sandbox:
    """A running `partnerbot sandbox` and everything it printed."""

    url: str
    process: asyncio.subprocess.Process
    output: list[str] = field(default_factory=list)

    @property
    def printed(self) -> str:
        return "".join(self.output)


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace"))


@contextlib.asynccontextmanager
async def running_sandbox(
    tmp_path: Path, env: Mapping[str, str] | None = None
) -> AsyncIterator[Sandbox]:
    """Start `partnerbot sandbox` on a free port; stop it with Ctrl-C (SIGINT) afterwards."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot", "sandbox"),
        *("--port", "0", "--db", str(tmp_path / "sandbox.db")),
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output: list[str] = []
    reader: asyncio.Task[None] | None = None
    try:
        async with asyncio.timeout(STARTUP_TIMEOUT_S):
            while not (found := _URL.search(output[-1] if output else "")):
                line = await process.stdout.readline()
                if not line:
                    raise AssertionError("the sandbox stopped:\n" + "".join(output))
                output.append(line.decode(errors="replace"))
        reader = asyncio.create_task(_collect(process.stdout, output))
        sandbox = Sandbox(found.group(1), process, output)
        yield sandbox
        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            code = await process.wait()
        assert code == 0, "Ctrl-C did not stop the sandbox cleanly:\n" + sandbox.printed
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        if reader is not None:
            await reader


@contextlib.asynccontextmanager
async def browser_page(tmp_path: Path, name: str) -> AsyncIterator[Page]:
    """A page in a fresh headless Chromium profile; fails the test on a JavaScript error.

    When the test fails, the page is saved as `<name>-failed.png` beside the screenshots.
    """
    errors: list[str] = []
    async with async_playwright() as playwright:
        context = await playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1800, "height": 900},
            locale="en-GB",
        )
        try:
            page = context.pages[0] if context.pages else await context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            try:
                yield page
            except BaseException:
                with contextlib.suppress(Exception):
                    await save_screenshot(page, f"{name}-failed")
                raise
        finally:
            await context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


async def save_screenshot(page: Page, name: str) -> Path:
    """Save the whole page under artifacts/screenshots/ for a person to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


def phone_of(page: Page, name: str) -> Locator:
    """A persona's phone on the page."""
    return page.get_by_role("article", name=name)


async def tap(phone: Locator, label: str, *, latest: bool = False) -> None:
    """Press a button of the bot's messages in that phone's chat, by its label.

    The label may carry a number ("2. Français") or a symbol ("➜ Continue") in front. With
    `latest`, the newest of several buttons with that label (earlier cards may offer it too).
    """
    # A "/" in the label is escaped too: Playwright passes the pattern on as a /regex/ literal.
    escaped = re.escape(label).replace("/", r"\/")
    name = re.compile(rf"^(?:\d+\. |[^\w\s]+ )?{escaped}$")
    buttons = phone.get_by_role("log").get_by_role("button", name=name)
    await (buttons.last if latest else buttons).click()


async def type_in(phone: Locator, name: str, text: str) -> None:
    """Type `text` in the phone's message box and send it."""
    box = phone.get_by_label(f"Message from {name}")
    await box.fill(text)
    await box.press("Enter")


async def sees(phone: Locator, text: str) -> None:
    """Wait until the phone's chat shows `text`."""
    await expect(phone.get_by_role("log")).to_contain_text(text, timeout=WAIT_MS)


async def onboard_in_english(phone: Locator, name: str, group: str, organisation: str) -> None:
    """Start the bot on that phone and join in English, declining the roles questions."""
    await phone.get_by_role("button", name="Start").click()
    await sees(phone, "Do you agree?")
    await tap(phone, "Yes")
    await tap(phone, "English")
    await sees(phone, "Which time zone are you in?")
    await tap(phone, "Skip")
    await tap(phone, group)
    await sees(phone, "What is the name of your organisation?")
    await type_in(phone, name, organisation)
    await sees(phone, "What is your role?")
    await type_in(phone, name, "Officer")
    await sees(phone, "Would you like to answer a few questions about roles")
    await tap(phone, "No")
    await sees(phone, "Send /roles whenever you are ready")
