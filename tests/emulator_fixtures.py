"""Fixtures of the emulator's own tests (tests/sandbox): emulators started in process and
aiogram Bots on them. A plugin of tests/conftest.py: a second conftest.py would shadow the
root one, which tests import by name."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from bot.sandbox.emulator import BotAPIEmulator

TOKEN = "123:abc"

Launch = Callable[..., Awaitable[tuple[BotAPIEmulator, Bot]]]


def make_bot(base_url: str) -> Bot:
    return Bot(TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(base_url)))


async def close_bot(bot: Bot) -> None:
    # closing the client directly skips AiohttpSession.close()'s fixed 250 ms grace sleep
    client = await bot.session.create_session()  # type: ignore[attr-defined]
    await client.close()


@pytest.fixture
async def bot_at() -> AsyncIterator[Callable[[str], Bot]]:
    """A Bot on the Bot API server at a base URL, closed after the test."""
    made: list[Bot] = []

    def _bot_at(base_url: str) -> Bot:
        made.append(make_bot(base_url))
        return made[-1]

    yield _bot_at
    for bot in made:
        await close_bot(bot)


@pytest.fixture
async def launch() -> AsyncIterator[Launch]:
    started: list[tuple[BotAPIEmulator, Bot]] = []

    async def _launch(**kwargs: Any) -> tuple[BotAPIEmulator, Bot]:
        emulator = BotAPIEmulator(**kwargs)
        await emulator.start()
        bot = make_bot(emulator.base_url)
        started.append((emulator, bot))
        return emulator, bot

    yield _launch
    for emulator, bot in started:
        await close_bot(bot)
        await emulator.stop()


@pytest.fixture
async def emu_bot(launch: Launch) -> tuple[BotAPIEmulator, Bot]:
    return await launch()


@pytest.fixture
def emu(emu_bot: tuple[BotAPIEmulator, Bot]) -> BotAPIEmulator:
    return emu_bot[0]


@pytest.fixture
def bot(emu_bot: tuple[BotAPIEmulator, Bot]) -> Bot:
    return emu_bot[1]
