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
from playwright.async_api import Page, async_playwright

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
