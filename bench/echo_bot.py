"""A bare aiogram 3 bot, the baseline for flow_steps: it answers every text with that text.

"/start" is answered with two messages so that a member's steps have the same shape as with
partnerbot (welcome + consent question). No database, no middlewares, no wording: what is left
is aiogram, its polling loop and the HTTP round trips, the floor partnerbot is compared with.

Environment: BOT_TOKEN, TELEGRAM_API_URL (the emulator), LOG_LEVEL (default WARNING).
Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import asyncio
import logging
import os

from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import Message


async def echo(message: Message) -> None:
    """The text back; "/start" twice."""
    text = message.text or ""
    await message.answer(text)
    if text.startswith("/start"):
        await message.answer(text)


def build_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    dispatcher.message.register(echo, F.text)
    return dispatcher


async def main() -> None:
    api_url = os.environ["TELEGRAM_API_URL"].rstrip("/")
    session = AiohttpSession(api=TelegramAPIServer.from_base(api_url))
    bot = Bot(token=os.environ["BOT_TOKEN"], session=session)
    dispatcher = build_dispatcher()
    await dispatcher.start_polling(
        bot, allowed_updates=dispatcher.resolve_used_update_types(), handle_signals=True
    )


if __name__ == "__main__":
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "WARNING").upper())
    asyncio.run(main())
