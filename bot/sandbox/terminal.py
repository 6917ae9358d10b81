"""A Telegram chat in the terminal: type as a member, see the bot's replies and buttons."""

from __future__ import annotations

import asyncio
import sys
import textwrap
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TextIO

from bot.domain.clock import OffsetClock, parse_duration
from bot.sandbox.emulator import BotAPIEmulator, EmulatorEvent, SentMessage

HELP = """\
Type to answer the bot, as a member would on their phone (numbers work for options).
  :1, :2 …      press a button of the latest message that has buttons
  :advance 2d   move the sandbox clock forward (m, h, d, w)
  :time         show the sandbox clock
  :help         this help
  :quit         leave (Ctrl-D works too)"""


class TerminalChat:
    """One persona's chat with the bot, in a terminal."""

    def __init__(
        self,
        emulator: BotAPIEmulator,
        *,
        user_id: int,
        first_name: str,
        language: str,
        wait_handled: Callable[[int], Awaitable[None]],
        clock: OffsetClock,
        stdin: TextIO = sys.stdin,
        stdout: TextIO = sys.stdout,
        advance: Callable[[str], Awaitable[datetime]] | None = None,
    ) -> None:
        self.emulator = emulator
        self.user_id = user_id
        self.first_name = first_name
        self.language = language
        self.wait_handled = wait_handled
        self.clock = clock
        self.stdin = stdin
        self.stdout = stdout
        # Moves the clock and lets the bot act on what came due (scheduled check-ins).
        self.advance = advance
        self._shown: dict[int, tuple[str, list[str]]] = {}

    def say(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    async def run(self) -> None:
        """Chat until :quit or end of input."""
        events = self.emulator.subscribe()
        printer = asyncio.create_task(self._print_events(events))
        self.say(HELP)
        self.say("Start with /start.\n")
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = await loop.run_in_executor(None, self.stdin.readline)
                if not line:
                    break
                if not await self.handle(line.strip()):
                    break
                await asyncio.sleep(0)  # let the printer show the replies before the prompt
        finally:
            self.emulator.unsubscribe(events)
            while not events.empty():
                self._show(events.get_nowait())
            printer.cancel()

    async def handle(self, line: str) -> bool:
        """Act on one typed line; False to quit."""
        if not line:
            return True
        if line in (":quit", ":q", ":exit"):
            return False
        if line == ":help":
            self.say(HELP)
        elif line == ":time":
            self.say(f"sandbox time: {self.clock.now():%Y-%m-%d %H:%M} UTC")
        elif line.startswith(":advance"):
            try:
                by = line.removeprefix(":advance")
                if self.advance is not None:
                    moved = await self.advance(by)
                else:
                    moved = self.clock.advance(parse_duration(by))
                self.say(f"sandbox time is now {moved:%Y-%m-%d %H:%M} UTC")
            except ValueError as exc:
                self.say(str(exc))
        elif line.startswith(":") and line[1:].isdigit():
            await self._press(int(line[1:]))
        elif line.startswith(":"):
            self.say(f"unknown sandbox command {line!r}; :help lists them")
        else:
            update_id = self.emulator.send_text(
                self.user_id, line, first_name=self.first_name, language_code=self.language
            )
            await self.wait_handled(update_id)
        return True

    async def _press(self, number: int) -> None:
        with_buttons = [m for m in self.emulator.messages(self.user_id) if m.buttons]
        if not with_buttons:
            self.say("no buttons to press")
            return
        message = with_buttons[-1]
        if not 1 <= number <= len(message.buttons):
            self.say(f"that message has buttons :1 to :{len(message.buttons)}")
            return
        label, data = message.buttons[number - 1]
        if data is None:
            self.say(f"button {label!r} opens a link; nothing to press")
            return
        self.say(f"(you pressed “{label}”)")
        await self.wait_handled(self.emulator.press_button(self.user_id, message.message_id, data))

    async def _print_events(self, events: asyncio.Queue[EmulatorEvent]) -> None:
        while True:
            self._show(await events.get())

    def _show(self, event: EmulatorEvent) -> None:
        if event.chat_id != self.user_id:
            return
        message = event.message
        if event.kind in ("message", "edit") and message is not None:
            before = self._shown.get(message.message_id)
            now = (message.plain_text, [label for label, _ in message.buttons])
            self._shown[message.message_id] = now
            if event.kind == "edit" and before is not None and before[0] == now[0] and not now[1]:
                return  # only the buttons of an answered question went away
            self.say(render(message, edited=event.kind == "edit"))
        elif event.kind == "callback_answer" and event.answer is not None and event.answer.text:
            self.say(f"   ({event.answer.text})")


def render(message: SentMessage, *, edited: bool = False) -> str:
    """A bot message as text, its buttons numbered as `:N` to press them."""
    head = "bot (edited) ›" if edited else "bot ›"
    body = message.plain_text or (
        f"[{message.kind}: {message.file_name}]" if message.file_name else ""
    )
    lines = [head]
    for paragraph in body.split("\n"):
        lines.extend(
            textwrap.wrap(paragraph, 76, initial_indent="  ", subsequent_indent="  ") or [""]
        )
    buttons = [f"[:{i}] {label}" for i, (label, _) in enumerate(message.buttons, 1)]
    if sum(len(b) + 3 for b in buttons) <= 76:
        lines.append("  " + "   ".join(buttons))
    else:
        lines.extend(f"  {b}" for b in buttons)
    return "\n".join(lines) + "\n"
