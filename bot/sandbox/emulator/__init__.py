"""Local Telegram Bot API emulator: an aiohttp server speaking the subset of the API aiogram uses.

Tests, the sandbox and benchmarks point a real aiogram ``Bot`` at it and act as users through
the class API (in process) or the ``/_emulator/`` control API (over HTTP).

Where things are:
- types.py: messages, files, callback answers, events, stats, chats and users as JSON
- limits.py: flood limits (429) and injected or random faults
- state.py: the memory every part shares (chats, users, the update queue, subscribers)
- the Bot API, one family a module, each method marked ``@bot_api("name")``:
  messages.py (send*, deleteMessage, sendChatAction), edits.py (editMessage*),
  callbacks.py (answerCallbackQuery), files.py (getFile, downloads),
  profile.py (getMe, *MyCommands, close, logOut), updates.py (getUpdates, *Webhook*)
- control.py: acting as users and observing the bot, in process and under /_emulator/
- saving.py: the memory as JSON, so that a restarted sandbox goes on where it stopped
- server.py: ``BotAPIEmulator`` (all of the above over HTTP) and the standalone command
"""

from bot.sandbox.emulator.callbacks import QUERY_TOO_OLD
from bot.sandbox.emulator.edits import NOT_MODIFIED
from bot.sandbox.emulator.limits import RandomFaults, RateLimits
from bot.sandbox.emulator.params import BAD_BUTTON, BAD_MARKUP
from bot.sandbox.emulator.server import BotAPIEmulator, main, serve_until_signalled
from bot.sandbox.emulator.types import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    MAX_UPLOAD_BYTES,
    TEXT_LIMIT,
    APIError,
    CallbackAnswer,
    EmulatorEvent,
    EmulatorStats,
    EventKind,
    MessageKind,
    SentMessage,
    StoredFile,
    UnknownMessageError,
)
from bot.sandbox.emulator.updates import POLL_CONFLICT, WEBHOOK_CONFLICT

__all__ = [
    "BAD_BUTTON",
    "BAD_MARKUP",
    "CALLBACK_DATA_LIMIT",
    "CAPTION_LIMIT",
    "MAX_UPLOAD_BYTES",
    "NOT_MODIFIED",
    "POLL_CONFLICT",
    "QUERY_TOO_OLD",
    "TEXT_LIMIT",
    "WEBHOOK_CONFLICT",
    "APIError",
    "BotAPIEmulator",
    "CallbackAnswer",
    "EmulatorEvent",
    "EmulatorStats",
    "EventKind",
    "MessageKind",
    "RandomFaults",
    "RateLimits",
    "SentMessage",
    "StoredFile",
    "UnknownMessageError",
    "main",
    "serve_until_signalled",
]
