"""Local Telegram Bot API emulator: an aiohttp server speaking the subset of the API aiogram uses.

Tests, the sandbox and benchmarks point a real aiogram ``Bot`` at it and act as users through
the class API (in process) or the ``/_emulator/`` control API (over HTTP).
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import collections
import contextlib
import dataclasses
import json
import logging
import math
import mimetypes
import random
import re
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
from aiohttp import BodyPartReader, hdrs, web

from bot.sandbox.htmlcheck import HTMLParseError, parse_telegram_html, utf16_len

logger = logging.getLogger(__name__)

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
MAX_UPLOAD_BYTES = 64 * 1024 * 1024

NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)
QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
BAD_BUTTON = "Bad Request: can't parse inline keyboard button: "

_TOKEN_RE = re.compile(r"(\d+):(\S+)")
_COMMAND_RE = re.compile(r"/\S+")
_BOT_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")
_BUTTON_ACTIONS = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)
_CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
_MEMBER_STATUSES = frozenset({"member", "kicked", "left"})
_MESSAGE_KEYS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)
_RATE_LIMITED = frozenset(
    {
        "sendmessage",
        "sendphoto",
        "senddocument",
        "editmessagetext",
        "editmessagecaption",
        "editmessagereplymarkup",
    }
)
_SUPERGROUP_ID_BELOW = -1_000_000_000_000
_SEND_METHODS = frozenset({"sendmessage", "sendphoto", "senddocument"})

MessageKind = Literal["text", "photo", "document"]
EventKind = Literal["message", "edit", "delete", "callback_answer", "update"]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class RateLimits:
    """Flood limits to enforce; None disables one (Telegram: 1/s per chat, 30/s, 20/min)."""

    per_chat_per_s: float | None = None
    global_per_s: float | None = None
    group_per_min: float | None = None
    # Telegram's limits are for bulk notifications: a call to a private chat within this many
    # seconds of its user's message or button press answers them and is not refused (it still
    # takes its place in that chat's window). None: every call counts.
    answer_window_s: float | None = None


@dataclass
class RandomFaults:
    """Seeded random server errors on send methods (benchmarks): `error_rate` of them fail."""

    error_rate: float = 0.0
    seed: int = 0
    status: int = 502
    description: str = "Bad Gateway"


@dataclass
class StoredFile:
    """A file the bot sent, addressable by file_id (data is None for files sent by URL)."""

    file_id: str
    file_unique_id: str
    file_path: str
    file_name: str | None
    mime_type: str | None
    data: bytes | None
    width: int = 0
    height: int = 0

    @property
    def file_size(self) -> int | None:
        """Size in bytes, when the content is known."""
        return None if self.data is None else len(self.data)


@dataclass(eq=False)
class SentMessage:
    """A message the bot sent, with edits applied in place."""

    message_id: int
    chat_id: int
    date: int
    kind: MessageKind
    text: str  # text or caption exactly as the bot sent it (interpret with parse_mode)
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    edited: bool = False
    edit_count: int = 0
    plain_text: str = ""  # what the user sees, markup parsed
    entities: list[dict[str, Any]] = field(default_factory=list)
    edit_date: int | None = None
    deleted: bool = False
    file: StoredFile | None = None
    chat: dict[str, Any] = field(default_factory=dict, repr=False)
    sender: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def file_name(self) -> str | None:
        """Name of the attached file, if any."""
        return None if self.file is None else self.file.file_name

    @property
    def file_bytes(self) -> bytes | None:
        """Content of the uploaded file, if any."""
        return None if self.file is None else self.file.data

    @property
    def file_id(self) -> str | None:
        """file_id of the attached file, if any."""
        return None if self.file is None else self.file.file_id

    @property
    def button_rows(self) -> list[list[tuple[str, str | None]]]:
        """Inline keyboard as rows of (text, callback_data)."""
        rows = (self.reply_markup or {}).get("inline_keyboard") or []
        return [[(str(b.get("text", "")), b.get("callback_data")) for b in row] for row in rows]

    @property
    def buttons(self) -> list[tuple[str, str | None]]:
        """Inline keyboard flattened to (text, callback_data) pairs."""
        return [button for row in self.button_rows for button in row]

    def button_data(self, text: str) -> str:
        """callback_data of the inline button labelled `text` (KeyError if absent)."""
        for label, data in self.buttons:
            if label == text and data is not None:
                return data
        raise KeyError(f"no callback button {text!r} on message {self.message_id}: {self.buttons}")

    def to_api(self) -> dict[str, Any]:
        """The Telegram Message JSON for this message."""
        message: dict[str, Any] = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat,
            "date": self.date,
        }
        if self.edit_date is not None:
            message["edit_date"] = self.edit_date
        if self.kind == "text":
            message["text"] = self.plain_text
            if self.entities:
                message["entities"] = self.entities
        else:
            stored = self.file
            if stored is not None and self.kind == "photo":
                message["photo"] = [
                    _drop_none(
                        {
                            "file_id": stored.file_id,
                            "file_unique_id": stored.file_unique_id,
                            "width": stored.width,
                            "height": stored.height,
                            "file_size": stored.file_size,
                        }
                    )
                ]
            elif stored is not None:
                message["document"] = _drop_none(
                    {
                        "file_id": stored.file_id,
                        "file_unique_id": stored.file_unique_id,
                        "file_name": stored.file_name,
                        "mime_type": stored.mime_type,
                        "file_size": stored.file_size,
                    }
                )
            if self.plain_text:
                message["caption"] = self.plain_text
                if self.entities:
                    message["caption_entities"] = self.entities
        # Message.reply_markup only ever carries inline keyboards; reply keyboards are not echoed
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup
        return message

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe summary for the control API (file content omitted)."""
        return {
            "message_id": self.message_id,
            "chat_id": self.chat_id,
            "date": self.date,
            "kind": self.kind,
            "text": self.text,
            "plain_text": self.plain_text,
            "parse_mode": self.parse_mode,
            "entities": self.entities,
            "reply_markup": self.reply_markup,
            "buttons": [list(b) for b in self.buttons],
            "button_rows": [[list(b) for b in row] for row in self.button_rows],
            "edited": self.edited,
            "edit_count": self.edit_count,
            "file_id": self.file_id,
            "file_name": self.file_name,
            "file_size": None if self.file is None else self.file.file_size,
        }


@dataclass
class CallbackAnswer:
    """An answerCallbackQuery call."""

    callback_query_id: str
    chat_id: int
    text: str | None
    show_alert: bool
    url: str | None = None
    cache_time: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the control API."""
        return dataclasses.asdict(self)


@dataclass
class EmulatorEvent:
    """Something observable happened: a bot message/edit/delete, a callback answer, an update."""

    kind: EventKind
    chat_id: int | None
    message: SentMessage | None = None
    answer: CallbackAnswer | None = None
    update: dict[str, Any] | None = None


@dataclass
class EmulatorStats:
    """Counters of what went through the emulator."""

    requests: int = 0
    errors: collections.Counter[int] = field(default_factory=collections.Counter)
    messages_sent: int = 0
    messages_edited: int = 0
    messages_deleted: int = 0
    callback_answers: int = 0
    chat_actions: int = 0
    updates_posted: int = 0
    updates_confirmed: int = 0
    faults_triggered: int = 0
    random_errors: int = 0
    webhook_posts: int = 0  # updates POSTed to the webhook, and those not answered 2xx
    webhook_failures: int = 0
    throttled: int = 0  # 429s from the rate limits (injected ones are not counted here)
    first_message_at: float | None = None  # emulator clock of the first and last message sent
    last_message_at: float | None = None

    @property
    def too_many_requests(self) -> int:
        """Number of 429 responses sent."""
        return self.errors[429]

    @property
    def forbidden(self) -> int:
        """Number of 403 responses sent."""
        return self.errors[403]

    @property
    def bad_requests(self) -> int:
        """Number of 400 responses sent."""
        return self.errors[400]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the control API."""
        data = dataclasses.asdict(self)
        data["errors"] = {str(code): n for code, n in self.errors.items()}
        data["too_many_requests"] = self.too_many_requests
        data["forbidden"] = self.forbidden
        data["bad_requests"] = self.bad_requests
        return data


class UnknownMessageError(KeyError):
    """The chat has no bot message with that id."""


class APIError(Exception):
    """A Bot API error response."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


@dataclass
class _Upload:
    filename: str
    data: bytes
    content_type: str | None


@dataclass
class _Params:
    values: dict[str, Any]
    files: dict[str, _Upload]
    bot_id: int

    def get_str(self, name: str) -> str | None:
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else str(value)

    def get_int(self, name: str) -> int | None:
        value = self.values.get(name)
        if value is None or isinstance(value, bool):
            return None
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            return None

    def get_bool(self, name: str) -> bool:
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str, error: str) -> Any:
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise APIError(400, error) from None


@dataclass
class _Fault:
    status: int
    description: str
    remaining: int
    parameters: dict[str, Any] | None
    delay: float
    # A raw body instead of a Bot API error (a proxy's HTML page, JSON of another API).
    body: str | None = None
    content_type: str = "text/html"


@dataclass(slots=True)
class _Pending:
    update_id: int
    update: dict[str, Any]
    delivered: bool = False
    chat_id: int | None = None
    retry_at: float = 0.0  # webhook mode: not before this (loop time) after a failed POST


class _Window:
    """Sliding-window limiter allowing `rate` events per `period` seconds."""

    __slots__ = ("capacity", "span", "stamps")

    def __init__(self, rate: float, period: float) -> None:
        # fractional rates (0.5/s) become one event per stretched window (2 s)
        self.capacity = max(1, math.floor(rate))
        self.span = period * self.capacity / rate
        self.stamps: collections.deque[float] = collections.deque()

    def wait(self, now: float) -> float:
        stamps = self.stamps
        cutoff = now - self.span
        while stamps and stamps[0] <= cutoff:
            stamps.popleft()
        if len(stamps) < self.capacity:
            return 0.0
        return stamps[0] + self.span - now


class _Signal:
    """Wakes every current waiter on fire(); waiters re-check their condition."""

    __slots__ = ("_event", "_waiting")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._waiting = 0

    def fire(self) -> None:
        # hot path (every message): only pay for a fresh Event when someone is waiting
        if self._waiting:
            self._event.set()
            self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        event = self._event
        self._waiting += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(timeout, 0.0)):
                    await event.wait()
        finally:
            self._waiting -= 1


@dataclass(eq=False)
class _Chat:
    id: int
    info: dict[str, Any]
    known: bool = False
    messages: list[SentMessage] = field(default_factory=list)
    by_id: dict[int, SentMessage] = field(default_factory=dict)
    user_message_ids: set[int] = field(default_factory=set)
    next_message_id: int = 1
    live_count: int = 0
    answers: list[CallbackAnswer] = field(default_factory=list)
    member_status: str = "member"
    signal: _Signal = field(default_factory=_Signal)
    last_user_at: float = -math.inf  # emulator clock of the user's last message or press

    def allocate_message_id(self) -> int:
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None}


def _dumps(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _json_response(payload: Any, status: int = 200) -> web.Response:
    return web.Response(body=_dumps(payload), status=status, content_type="application/json")


def _default_chat_info(chat_id: int) -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "User"}
    kind = "supergroup" if chat_id <= _SUPERGROUP_ID_BELOW else "group"
    return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}


def _image_size(data: bytes | None) -> tuple[int, int]:
    if data is not None and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 512, 512


def _now() -> int:
    return int(time.time())


class BotAPIEmulator:
    """An in-process fake of the Telegram Bot API server plus a control API to act as users."""

    def __init__(
        self,
        *,
        limits: RateLimits | None = None,
        bot_username: str = "partnerbot_sandbox_bot",
        clock: Callable[[], float] = time.monotonic,
        strict_html: bool = True,
        bot_id: int | None = None,
        random_faults: RandomFaults | None = None,
    ) -> None:
        self.bot_username = bot_username
        self.commands: list[dict[str, Any]] = []
        self.commands_by_scope: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.webhook: dict[str, Any] | None = None
        self.calls: collections.Counter[str] = collections.Counter()
        self.stats = EmulatorStats()
        self._clock = clock
        self._strict_html = strict_html
        self._limits = limits or RateLimits()
        self._global_window: _Window | None = None
        self._chat_windows: dict[int, _Window] = {}
        self._reset_windows()

        self._chats: dict[int, _Chat] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._open_queries: dict[str, int] = {}
        self._query_seq = 0
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_seq = 0
        self._faults: dict[str, collections.deque[_Fault]] = {}
        self._random_faults = RandomFaults()
        self._random = random.Random(0)
        self.set_random_faults(random_faults or RandomFaults())
        self._bot_users: dict[int, dict[str, Any]] = {}
        # the bot's own id for updates built before it calls us; else learnt from its token
        self._bot_id = bot_id or 1
        self._bot_id_fixed = bot_id is not None

        self._pending: list[_Pending] = []
        self._pending_counts: collections.Counter[int] = collections.Counter()
        self._next_update_id = 1
        self._max_update_id = 0
        self._updates_signal = _Signal()
        self._confirm_signal = _Signal()
        self._calls_signal = _Signal()
        self._poll_generation: dict[str, int] = {}
        self._subscribers: list[asyncio.Queue[EmulatorEvent]] = []
        self._closing = asyncio.Event()
        # Webhook mode: pending updates are POSTed to the webhook by this task.
        self.webhook_retry_s = 0.2
        self._webhook_wake = asyncio.Event()
        self._pusher: asyncio.Task[None] | None = None

        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None
        self._methods: dict[str, tuple[str, Callable[[_Params], Awaitable[Any]]]] = {
            name.lower(): (name, handler)
            for name, handler in (
                ("getMe", self._get_me),
                ("getUpdates", self._get_updates),
                ("sendMessage", self._send_message),
                ("editMessageText", self._edit_message_text),
                ("editMessageCaption", self._edit_message_caption),
                ("editMessageReplyMarkup", self._edit_message_reply_markup),
                ("deleteMessage", self._delete_message),
                ("answerCallbackQuery", self._answer_callback_query),
                ("sendPhoto", self._send_photo),
                ("sendDocument", self._send_document),
                ("getFile", self._get_file),
                ("sendChatAction", self._send_chat_action),
                ("setMyCommands", self._set_my_commands),
                ("deleteMyCommands", self._delete_my_commands),
                ("getMyCommands", self._get_my_commands),
                ("setWebhook", self._set_webhook),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("close", self._trivial),
                ("logOut", self._trivial),
            )
        }
        self.app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        self.app.on_shutdown.append(self._on_shutdown)
        self._add_routes(self.app.router)

    # ----------------------------------------------------------------- lifecycle

    @property
    def base_url(self) -> str:
        """Base URL of the running server, e.g. http://127.0.0.1:PORT."""
        if self._base_url is None:
            raise RuntimeError("emulator is not started")
        return self._base_url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port) and return the base URL."""
        self._closing.clear()
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._base_url = f"http://{shown}:{bound_port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving, releasing long polls and delayed answers first."""
        self._begin_close()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
            self._pusher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _begin_close(self) -> None:
        self._closing.set()
        self._updates_signal.fire()

    async def _on_shutdown(self, app: web.Application) -> None:
        self._begin_close()

    # ----------------------------------------------------------------- acting as users

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "User",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        chat_id: int | None = None,
    ) -> int:
        """Deliver a text message from a user (private chat unless chat_id); return update_id."""
        user = self._remember_user(user_id, first_name, last_name, username, language_code)
        chat = self._user_chat(user, chat_id)
        message_id = chat.allocate_message_id()
        chat.user_message_ids.add(message_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": user,
            "chat": chat.info,
            "date": _now(),
            "text": text,
        }
        command = _COMMAND_RE.match(text)
        if command is not None and len(command.group()) > 1:
            length = utf16_len(command.group())
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
        return self._enqueue({"message": message}, chat.id)

    def press_button(
        self, user_id: int, message_id: int, data: str, *, chat_id: int | None = None
    ) -> int:
        """Press an inline button on a bot message (callback_query update); return update_id."""
        target = user_id if chat_id is None else chat_id
        chat = self._chats.get(target)
        message = None if chat is None else chat.by_id.get(message_id)
        if chat is None or message is None:
            raise UnknownMessageError(f"chat {target} has no bot message {message_id}")
        user = self._users.get(user_id) or self._remember_user(user_id, "User", None, None, "en")
        self._query_seq += 1
        query_id = str(4_000_000_000_000_000 + self._query_seq)
        self._open_queries[query_id] = chat.id
        query = {
            "id": query_id,
            "from": user,
            "message": message.to_api(),
            "chat_instance": str(-abs(chat.id) * 7919),
            "data": data,
        }
        return self._enqueue({"callback_query": query}, chat.id)

    def post_update(self, update: dict[str, Any]) -> int:
        """Inject a raw update (an explicit update_id is kept, so duplicates are possible)."""
        update = dict(update)
        chat_id = self._register_update(update)
        return self._enqueue(update, chat_id)

    def set_member_status(self, user_id: int, status: str) -> int:
        """Send my_chat_member for the user's private chat; "kicked" also blocks the bot."""
        if status not in _MEMBER_STATUSES:
            raise ValueError(f"status must be one of {sorted(_MEMBER_STATUSES)}, not {status!r}")
        user = self._users.get(user_id) or self._remember_user(user_id, "User", None, None, "en")
        chat = self._user_chat(user, None)
        old_status, chat.member_status = chat.member_status, status
        if status == "kicked":
            self._blocked.add(user_id)
        else:
            self._blocked.discard(user_id)
        bot_user = self._bot_user(self._bot_id)
        update = {
            "my_chat_member": {
                "chat": chat.info,
                "from": user,
                "date": _now(),
                "old_chat_member": _member(old_status, bot_user),
                "new_chat_member": _member(status, bot_user),
            }
        }
        return self._enqueue(update, chat.id)

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """Make sends to chat_id fail with 403 (or stop doing so)."""
        if blocked:
            self._blocked.add(chat_id)
        else:
            self._blocked.discard(chat_id)

    def inject_fault(
        self,
        method: str,
        *,
        status: int,
        description: str,
        count: int = 1,
        retry_after: int | None = None,
        parameters: dict[str, Any] | None = None,
        delay: float = 0.0,
        body: str | None = None,
        content_type: str = "text/html",
    ) -> None:
        """Make the next `count` calls of `method` ("*" = any) fail; status < 400 only delays.

        With `body`, the answer is that body as it is (any status), as a proxy in front of the
        Bot API or a misconfigured URL would answer.
        """
        params = dict(parameters or {})
        if retry_after is not None:
            params["retry_after"] = retry_after
        fault = _Fault(status, description, count, params or None, delay, body, content_type)
        self._faults.setdefault(method.lower(), collections.deque()).append(fault)

    def set_random_faults(self, faults: RandomFaults) -> None:
        """Fail a seeded random share of send calls with a server error (0 turns it off)."""
        if not 0 <= faults.error_rate <= 1:
            raise ValueError("error_rate must be within [0, 1]")
        self._random_faults = faults
        self._random = random.Random(faults.seed)

    def open_chat(self, chat_id: int, *, first_name: str = "User") -> None:
        """Make chat_id known, as if its user had written first, without posting an update."""
        info = _default_chat_info(chat_id)
        if chat_id > 0:
            info["first_name"] = first_name
        existing = self._chats.get(chat_id)
        if existing is None or not existing.known:
            self._register_chat(info)

    def message_counts(self) -> dict[int, int]:
        """How many bot messages each chat holds (chats without any are left out)."""
        return {chat.id: chat.live_count for chat in self._chats.values() if chat.live_count}

    @property
    def limits(self) -> RateLimits:
        """Current rate limits."""
        return self._limits

    def set_limits(self, limits: RateLimits) -> None:
        """Replace the rate limits and forget past traffic."""
        self._limits = limits
        self._reset_windows()

    # ----------------------------------------------------------------- observing the bot

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to chat_id that still exist, in order, edits applied."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages if not m.deleted]

    def callback_answers(self, chat_id: int) -> list[CallbackAnswer]:
        """answerCallbackQuery calls for queries that came from chat_id."""
        chat = self._chats.get(chat_id)
        return [] if chat is None else list(chat.answers)

    @property
    def pending_updates(self) -> int:
        """Number of updates not yet confirmed by the bot."""
        return len(self._pending)

    async def wait_for_messages(
        self, chat_id: int, count: int, timeout: float = 10.0
    ) -> list[SentMessage]:
        """Wait until chat_id holds at least `count` bot messages; TimeoutError otherwise."""
        chat = self._chat(chat_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while chat.live_count < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                got = self.messages(chat_id)
                listing = "; ".join(f"#{m.message_id} {m.kind} {m.plain_text!r}" for m in got)
                raise TimeoutError(
                    f"waited {timeout}s for {count} message(s) in chat {chat_id}, "
                    f"got {len(got)}: [{listing}]"
                )
            await chat.signal.wait(remaining)
        return self.messages(chat_id)

    def is_update_confirmed(self, update_id: int) -> bool:
        """Whether update_id was posted and the bot has since confirmed it."""
        return update_id <= self._max_update_id and update_id not in self._pending_counts

    async def wait_for_update_confirmed(self, update_id: int, timeout: float = 10.0) -> None:
        """Wait until the bot confirms update_id via a later getUpdates offset."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self.is_update_confirmed(update_id):
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(
                    f"update {update_id} not confirmed within {timeout}s "
                    f"({len(self._pending)} update(s) pending)"
                )
            await self._confirm_signal.wait(remaining)

    async def wait_for_calls(self, method: str, count: int = 1, timeout: float = 10.0) -> None:
        """Wait until `method` was called `count` times (the last call's handler is running)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        name = self._canonical(method)
        while self.calls[name] < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"{name} called {self.calls[name]} time(s), wanted {count}")
            await self._calls_signal.wait(remaining)

    def subscribe(self) -> asyncio.Queue[EmulatorEvent]:
        """A queue receiving every message, edit, delete, callback answer and update."""
        queue: asyncio.Queue[EmulatorEvent] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[EmulatorEvent]) -> None:
        """Stop feeding a queue returned by subscribe()."""
        with contextlib.suppress(ValueError):
            self._subscribers.remove(queue)

    # ----------------------------------------------------------------- internals: state

    def _canonical(self, method: str) -> str:
        entry = self._methods.get(method.lower())
        return method if entry is None else entry[0]

    def _reset_windows(self) -> None:
        rate = self._limits.global_per_s
        self._global_window = _Window(rate, 1.0) if rate else None
        self._chat_windows = {}

    def _chat(self, chat_id: int) -> _Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = _Chat(chat_id, _default_chat_info(chat_id))
            self._chats[chat_id] = chat
        return chat

    def _register_chat(self, info: dict[str, Any]) -> _Chat:
        chat = self._chat(int(info["id"]))
        chat.info = dict(info)
        chat.known = True
        return chat

    def _remember_user(
        self,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> dict[str, Any]:
        user = _drop_none(
            {
                "id": user_id,
                "is_bot": False,
                "first_name": first_name,
                "last_name": last_name,
                "username": username,
                "language_code": language_code,
            }
        )
        self._users[user_id] = user
        return user

    def _user_chat(self, user: dict[str, Any], chat_id: int | None) -> _Chat:
        if chat_id is None or chat_id == user["id"]:
            info = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            for key in ("last_name", "username"):
                if key in user:
                    info[key] = user[key]
            return self._register_chat(info)
        existing = self._chats.get(chat_id)
        if existing is not None and existing.known:
            return existing
        return self._register_chat(_default_chat_info(chat_id))

    def _register_update(self, update: dict[str, Any]) -> int | None:
        """Learn chats, users, message ids and callback queries from a raw update."""
        chat_id: int | None = None
        for key in _MESSAGE_KEYS:
            message = update.get(key)
            if isinstance(message, dict):
                chat_id = self._register_message(message)
        query = update.get("callback_query")
        if isinstance(query, dict):
            message = query.get("message")
            sender = query.get("from")
            if isinstance(message, dict) and isinstance(message.get("chat"), dict):
                chat_id = self._register_chat(message["chat"]).id
            elif isinstance(sender, dict) and "id" in sender:
                chat_id = int(sender["id"])
            if "id" in query and chat_id is not None:
                self._open_queries[str(query["id"])] = chat_id
        for key in ("my_chat_member", "chat_member", "chat_join_request"):
            member = update.get(key)
            if isinstance(member, dict) and isinstance(member.get("chat"), dict):
                chat_id = self._register_chat(member["chat"]).id
        return chat_id

    def _register_message(self, message: dict[str, Any]) -> int | None:
        if not isinstance(message.get("chat"), dict):
            return None
        chat = self._register_chat(message["chat"])
        message_id = message.get("message_id")
        if isinstance(message_id, int):
            chat.user_message_ids.add(message_id)
            chat.next_message_id = max(chat.next_message_id, message_id + 1)
        sender = message.get("from")
        if isinstance(sender, dict) and isinstance(sender.get("id"), int):
            self._users.setdefault(sender["id"], sender)
        return chat.id

    def _enqueue(self, update: dict[str, Any], chat_id: int | None) -> int:
        if "update_id" in update:
            update_id = int(update["update_id"])
        else:
            update_id = self._next_update_id
            update = {"update_id": update_id, **update}
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._max_update_id = max(self._max_update_id, update_id)
        item = _Pending(update_id, update, chat_id=chat_id)
        if chat_id is not None and ("message" in update or "callback_query" in update):
            self._chat(chat_id).last_user_at = self._clock()
        if not self._pending or self._pending[-1].update_id <= update_id:
            self._pending.append(item)
        else:
            bisect.insort(self._pending, item, key=lambda p: p.update_id)
        self._pending_counts[update_id] += 1
        self.stats.updates_posted += 1
        self._updates_signal.fire()
        self._webhook_wake.set()
        self._publish("update", chat_id, update=update)
        return update_id

    def _confirm(self, offset: int) -> None:
        """Apply getUpdates' offset: forget delivered updates below it."""
        pending = self._pending
        if offset < 0:
            keep = -offset
            dropped, self._pending = pending[:-keep], pending[-keep:]
        else:
            cut = bisect.bisect_left(pending, offset, key=lambda p: p.update_id)
            head = pending[:cut]
            dropped = [p for p in head if p.delivered]
            if not dropped:
                return
            # a re-injected update below the offset that was never handed out is still due
            self._pending = [p for p in head if not p.delivered] + pending[cut:]
        self._forget(dropped)

    def _forget(self, dropped: list[_Pending]) -> None:
        if not dropped:
            return
        counts = self._pending_counts
        for item in dropped:
            left = counts[item.update_id] - 1
            if left > 0:
                counts[item.update_id] = left
            else:
                del counts[item.update_id]
        self.stats.updates_confirmed += len(dropped)
        self._confirm_signal.fire()

    def _drop_pending(self) -> None:
        dropped, self._pending = self._pending, []
        self._forget(dropped)

    def _publish(
        self,
        kind: EventKind,
        chat_id: int | None,
        *,
        message: SentMessage | None = None,
        answer: CallbackAnswer | None = None,
        update: dict[str, Any] | None = None,
    ) -> None:
        if not self._subscribers:
            return
        if message is not None:
            # snapshot: the stored message keeps changing as the bot edits it
            message = dataclasses.replace(message)
        event = EmulatorEvent(kind, chat_id, message, answer, update)
        for queue in self._subscribers:
            queue.put_nowait(event)

    def _bot_user(self, bot_id: int) -> dict[str, Any]:
        user = self._bot_users.get(bot_id)
        if user is None:
            user = {
                "id": bot_id,
                "is_bot": True,
                "first_name": "partnerbot",
                "username": self.bot_username,
                "can_join_groups": True,
                "can_read_all_group_messages": False,
                "supports_inline_queries": False,
                "can_connect_to_business": False,
                "has_main_web_app": False,
            }
            self._bot_users[bot_id] = user
        return user

    # ----------------------------------------------------------------- internals: HTTP

    def _add_routes(self, router: web.UrlDispatcher) -> None:
        router.add_route("*", "/bot{token}/{method}", self._handle_api)
        router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        prefix = "/_emulator"
        control: list[tuple[str, str, Handler]] = [
            ("POST", "/users/{user_id}/text", self._c_text),
            ("POST", "/users/{user_id}/press", self._c_press),
            ("POST", "/users/{user_id}/status", self._c_status),
            ("POST", "/updates", self._c_update),
            ("GET", "/updates/{update_id}/confirmed", self._c_confirmed),
            ("POST", "/chats/{chat_id}/block", self._c_block),
            ("POST", "/chats/open", self._c_open_chats),
            ("GET", "/chats/counts", self._c_counts),
            ("PUT", "/random_faults", self._c_random_faults),
            ("GET", "/chats/{chat_id}/messages", self._c_messages),
            ("GET", "/chats/{chat_id}/callback_answers", self._c_answers),
            ("GET", "/chats/{chat_id}/wait", self._c_wait),
            ("POST", "/faults", self._c_fault),
            ("PUT", "/limits", self._c_limits),
            ("GET", "/limits", self._c_get_limits),
            ("GET", "/stats", self._c_stats),
        ]
        for verb, path, handler in control:
            router.add_route(verb, prefix + path, _guarded(handler))

    def _error(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> web.Response:
        self.stats.errors[code] += 1
        payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            payload["parameters"] = parameters
        return _json_response(payload, code)

    def _take_fault(self, method: str) -> _Fault | None:
        for key in (method, "*"):
            queue = self._faults.get(key)
            if queue:
                fault = queue[0]
                fault.remaining -= 1
                if fault.remaining <= 0:
                    queue.popleft()
                self.stats.faults_triggered += 1
                return fault
        return None

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        match = _TOKEN_RE.fullmatch(token)
        if match is None:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        key = method.lower()
        entry = self._methods.get(key)
        bot_id = int(match.group(1))
        if not self._bot_id_fixed:
            self._bot_id = bot_id
        params: _Params | None = None
        bad_params: APIError | None = None
        try:
            params = await self._read_params(request, bot_id)
        except APIError as exc:
            bad_params = exc
        # counted only once the body is read: a waiter woken by wait_for_calls() then knows
        # the handler already runs (a getUpdates long poll is parked, for instance)
        self.calls[method if entry is None else entry[0]] += 1
        self.stats.requests += 1
        self._calls_signal.fire()
        fault = self._take_fault(key)
        if fault is not None:
            if fault.delay > 0:
                await self._pause(fault.delay)
            if fault.body is not None:
                self.stats.errors[fault.status] += 1
                return web.Response(
                    status=fault.status, text=fault.body, content_type=fault.content_type
                )
            if fault.status >= 400:
                return self._error(fault.status, fault.description, fault.parameters)
        chance = self._random_faults
        if key in _SEND_METHODS and chance.error_rate and self._random.random() < chance.error_rate:
            self.stats.random_errors += 1
            return self._error(chance.status, chance.description)
        if entry is None:
            return self._error(404, "Not Found: method not found")
        try:
            if params is None:
                raise bad_params or APIError(400, "Bad Request: invalid parameters")
            result = await entry[1](params)
        except APIError as exc:
            return self._error(exc.code, exc.description, exc.parameters)
        return _json_response({"ok": True, "result": result})

    async def _read_params(self, request: web.Request, bot_id: int) -> _Params:
        values: dict[str, Any] = dict(request.query)
        files: dict[str, _Upload] = {}
        if request.method == "POST" and request.can_read_body:
            content_type = request.content_type
            if content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError:
                    raise APIError(400, "Bad Request: can't parse JSON object") from None
                if isinstance(body, dict):
                    values.update(body)
            elif content_type == "multipart/form-data":
                reader = await request.multipart()
                while (part := await reader.next()) is not None:
                    if not isinstance(part, BodyPartReader) or part.name is None:
                        continue
                    if part.filename is not None:
                        data = bytes(await part.read(decode=True))
                        ctype = part.headers.get(hdrs.CONTENT_TYPE)
                        files[part.name] = _Upload(part.filename, data, ctype)
                    else:
                        values[part.name] = await part.text()
            else:
                form = await request.post()
                values.update((k, v) for k, v in form.items() if isinstance(v, str))
        return _Params(values, files, bot_id)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if _TOKEN_RE.fullmatch(request.match_info["token"]) is None:
            return self._error(401, "Unauthorized")
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None or stored.data is None:
            return self._error(404, "Not Found")
        ctype = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=ctype)

    # ----------------------------------------------------------------- internals: validation

    def _target_chat(self, p: _Params) -> _Chat:
        chat_id = p.get_int("chat_id")
        if chat_id is None:
            if p.values.get("chat_id") in (None, ""):
                raise APIError(400, "Bad Request: chat_id is empty")
            raise APIError(400, "Bad Request: chat not found")
        if chat_id in self._blocked:
            if chat_id > 0:
                raise APIError(403, "Forbidden: bot was blocked by the user")
            kind = "supergroup" if chat_id <= _SUPERGROUP_ID_BELOW else "group"
            raise APIError(403, f"Forbidden: bot was kicked from the {kind} chat")
        chat = self._chats.get(chat_id)
        if chat is None or not chat.known:
            raise APIError(400, "Bad Request: chat not found")
        return chat

    def _render(self, p: _Params, text: str, *, caption: bool) -> tuple[str, list[dict[str, Any]]]:
        parse_mode = p.get_str("parse_mode")
        entities: list[dict[str, Any]] = []
        if parse_mode:
            mode = parse_mode.lower()
            if mode == "html":
                try:
                    parsed = parse_telegram_html(text, strict_ampersand=self._strict_html)
                except HTMLParseError as exc:
                    raise APIError(400, f"Bad Request: can't parse entities: {exc}") from None
                plain, entities = parsed.text, parsed.entities
            elif mode in ("markdown", "markdownv2"):
                plain = text
            else:
                raise APIError(400, "Bad Request: unsupported parse_mode")
        else:
            plain = text
            name = "caption_entities" if caption else "entities"
            given = p.get_json(name, "Bad Request: can't parse entities JSON object")
            if isinstance(given, list):
                entities = given
        if caption:
            if utf16_len(plain) > CAPTION_LIMIT:
                raise APIError(400, "Bad Request: message caption is too long")
        else:
            if not plain.strip():
                raise APIError(400, "Bad Request: message text is empty")
            if utf16_len(plain) > TEXT_LIMIT:
                raise APIError(400, "Bad Request: message is too long")
        return plain, entities

    def _markup(self, p: _Params) -> dict[str, Any] | None:
        markup = p.get_json("reply_markup", BAD_MARKUP)
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise APIError(400, BAD_MARKUP)
        if "inline_keyboard" in markup:
            _check_inline_keyboard(markup["inline_keyboard"])
        return markup

    def _check_reply(self, chat: _Chat, p: _Params) -> None:
        target = p.get_int("reply_to_message_id")
        allow = p.get_bool("allow_sending_without_reply")
        reply = p.get_json("reply_parameters", "Bad Request: can't parse reply parameters")
        if isinstance(reply, dict):
            if reply.get("chat_id") not in (None, chat.id):
                return
            raw = reply.get("message_id")
            target = raw if isinstance(raw, int) else None
            allow = bool(reply.get("allow_sending_without_reply"))
        if target is None or allow:
            return
        if target not in chat.by_id and target not in chat.user_message_ids:
            raise APIError(400, "Bad Request: message to be replied not found")

    def _check_rate(self, chat_id: int) -> None:
        now = self._clock()
        rate, per = (
            (self._limits.per_chat_per_s, 1.0)
            if chat_id > 0
            else (self._limits.group_per_min, 60.0)
        )
        own: _Window | None = None
        if rate:
            own = self._chat_windows.get(chat_id)
            if own is None:
                own = self._chat_windows[chat_id] = _Window(rate, per)
        answer_window = self._limits.answer_window_s
        if answer_window and chat_id > 0 and now - self._chat(chat_id).last_user_at < answer_window:
            if own is not None:
                own.stamps.append(now)
            return
        windows = [w for w in (self._global_window, own) if w is not None]
        if not windows:
            return
        wait = max(w.wait(now) for w in windows)
        if wait > 0:
            self.stats.throttled += 1
            retry_after = max(1, math.ceil(round(wait, 6)))
            raise APIError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )
        for w in windows:
            w.stamps.append(now)

    def _message_to_edit(self, chat: _Chat, p: _Params) -> SentMessage:
        if p.values.get("inline_message_id"):
            raise APIError(400, "Bad Request: MESSAGE_ID_INVALID")
        message_id = p.get_int("message_id")
        message = None if message_id is None else chat.by_id.get(message_id)
        if message is None:
            if message_id is not None and message_id in chat.user_message_ids:
                raise APIError(400, "Bad Request: message can't be edited")
            raise APIError(400, "Bad Request: message to edit not found")
        return message

    def _store_message(
        self,
        chat: _Chat,
        p: _Params,
        kind: MessageKind,
        text: str,
        rendered: tuple[str, list[dict[str, Any]]],
        markup: dict[str, Any] | None,
        stored: StoredFile | None = None,
    ) -> SentMessage:
        message = SentMessage(
            message_id=chat.allocate_message_id(),
            chat_id=chat.id,
            date=_now(),
            kind=kind,
            text=text,
            parse_mode=p.get_str("parse_mode"),
            reply_markup=markup,
            plain_text=rendered[0],
            entities=rendered[1],
            file=stored,
            chat=chat.info,
            sender=self._bot_user(p.bot_id),
        )
        chat.messages.append(message)
        chat.by_id[message.message_id] = message
        chat.live_count += 1
        self.stats.messages_sent += 1
        now = self._clock()
        if self.stats.first_message_at is None:
            self.stats.first_message_at = now
        self.stats.last_message_at = now
        chat.signal.fire()
        self._publish("message", chat.id, message=message)
        return message

    def _apply_edit(
        self,
        chat: _Chat,
        message: SentMessage,
        p: _Params,
        markup: dict[str, Any] | None,
        text: tuple[str, str, list[dict[str, Any]]] | None,
    ) -> dict[str, Any]:
        new_plain, new_entities = (
            (message.plain_text, message.entities) if text is None else (text[1], text[2])
        )
        if (
            new_plain == message.plain_text
            and new_entities == message.entities
            and markup == message.reply_markup
        ):
            raise APIError(400, NOT_MODIFIED)
        self._check_rate(chat.id)
        if text is not None:
            message.text, message.plain_text, message.entities = text
            message.parse_mode = p.get_str("parse_mode")
        message.reply_markup = markup
        message.edited = True
        message.edit_count += 1
        message.edit_date = _now()
        self.stats.messages_edited += 1
        chat.signal.fire()
        self._publish("edit", chat.id, message=message)
        return message.to_api()

    def _input_file(self, p: _Params, name: str, kind: MessageKind) -> StoredFile:
        value = p.values.get(name)
        upload: _Upload | None = None
        if isinstance(value, str) and value.startswith("attach://"):
            upload = p.files.get(value[len("attach://") :])
        elif name in p.files:
            upload = p.files[name]
        if upload is not None:
            if not upload.data:
                raise APIError(400, "Bad Request: file must be non-empty")
            mime = upload.content_type
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(upload.filename)[0] or mime
            return self._new_file(kind, upload.filename, mime, upload.data)
        if isinstance(value, str) and value:
            known = self._files.get(value)
            if known is not None:
                return known
            if value.startswith(("http://", "https://")):
                file_name = urlsplit(value).path.rsplit("/", 1)[-1] or None
                mime = mimetypes.guess_type(file_name)[0] if file_name else None
                return self._new_file(kind, file_name, mime, None)
            raise APIError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        raise APIError(400, f"Bad Request: there is no {name} in the request")

    def _new_file(
        self, kind: MessageKind, file_name: str | None, mime: str | None, data: bytes | None
    ) -> StoredFile:
        self._file_seq += 1
        seq = self._file_seq
        if kind == "photo":
            path = f"photos/file_{seq}.jpg"
            width, height = _image_size(data)
            file_name = None
        else:
            suffix = ""
            if file_name and "." in file_name:
                suffix = "." + file_name.rsplit(".", 1)[1]
            path = f"documents/file_{seq}{suffix}"
            width = height = 0
        stored = StoredFile(
            file_id=f"EMU{kind[:3].upper()}{seq:010d}",
            file_unique_id=f"EmuU{seq:08d}",
            file_path=path,
            file_name=file_name,
            mime_type=mime,
            data=data,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[path] = stored
        return stored

    # ----------------------------------------------------------------- Bot API methods

    async def _get_me(self, p: _Params) -> Any:
        return self._bot_user(p.bot_id)

    async def _trivial(self, p: _Params) -> Any:
        return True

    async def _get_updates(self, p: _Params) -> Any:
        if self.webhook is not None:
            raise APIError(409, WEBHOOK_CONFLICT)
        offset = p.get_int("offset")
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = max(p.get_int("timeout") or 0, 0)
        token = str(p.bot_id)
        generation = self._poll_generation.get(token, 0) + 1
        self._poll_generation[token] = generation
        # wakes a poller that is still waiting so that it answers 409, as Telegram does
        self._updates_signal.fire()
        if offset:
            self._confirm(offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            batch = self._pending[:limit]
            if batch or self._closing.is_set():
                break
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            await self._updates_signal.wait(remaining)
            if self._poll_generation.get(token) != generation:
                raise APIError(409, POLL_CONFLICT)
        for item in batch:
            item.delivered = True
        return [item.update for item in batch]

    async def _send_message(self, p: _Params) -> Any:
        chat = self._target_chat(p)
        text = p.get_str("text") or ""
        rendered = self._render(p, text, caption=False)
        markup = self._markup(p)
        self._check_reply(chat, p)
        self._check_rate(chat.id)
        return self._store_message(chat, p, "text", text, rendered, markup).to_api()

    async def _send_photo(self, p: _Params) -> Any:
        return self._send_media(p, "photo")

    async def _send_document(self, p: _Params) -> Any:
        return self._send_media(p, "document")

    def _send_media(self, p: _Params, kind: MessageKind) -> Any:
        chat = self._target_chat(p)
        caption = p.get_str("caption") or ""
        rendered = self._render(p, caption, caption=True)
        markup = self._markup(p)
        stored = self._input_file(p, kind, kind)
        self._check_reply(chat, p)
        self._check_rate(chat.id)
        message = self._store_message(chat, p, kind, caption, rendered, markup, stored)
        return message.to_api()

    async def _edit_message_text(self, p: _Params) -> Any:
        chat = self._target_chat(p)
        message = self._message_to_edit(chat, p)
        if message.kind != "text":
            raise APIError(400, "Bad Request: there is no text in the message to edit")
        text = p.get_str("text") or ""
        plain, entities = self._render(p, text, caption=False)
        return self._apply_edit(chat, message, p, self._markup(p), (text, plain, entities))

    async def _edit_message_caption(self, p: _Params) -> Any:
        chat = self._target_chat(p)
        message = self._message_to_edit(chat, p)
        if message.kind == "text":
            raise APIError(400, "Bad Request: there is no caption in the message to edit")
        text = p.get_str("caption") or ""
        plain, entities = self._render(p, text, caption=True)
        return self._apply_edit(chat, message, p, self._markup(p), (text, plain, entities))

    async def _edit_message_reply_markup(self, p: _Params) -> Any:
        chat = self._target_chat(p)
        message = self._message_to_edit(chat, p)
        return self._apply_edit(chat, message, p, self._markup(p), None)

    async def _delete_message(self, p: _Params) -> Any:
        chat = self._target_chat(p)
        message_id = p.get_int("message_id")
        if message_id is None:
            raise APIError(400, "Bad Request: message identifier is not specified")
        message = chat.by_id.pop(message_id, None)
        if message is not None:
            message.deleted = True
            chat.live_count -= 1
            self.stats.messages_deleted += 1
            chat.signal.fire()
            self._publish("delete", chat.id, message=message)
            return True
        if message_id in chat.user_message_ids:
            chat.user_message_ids.discard(message_id)
            return True
        raise APIError(400, "Bad Request: message to delete not found")

    async def _answer_callback_query(self, p: _Params) -> Any:
        query_id = p.get_str("callback_query_id") or ""
        chat_id = self._open_queries.pop(query_id, None)
        if chat_id is None:
            raise APIError(400, QUERY_TOO_OLD)
        answer = CallbackAnswer(
            callback_query_id=query_id,
            chat_id=chat_id,
            text=p.get_str("text"),
            show_alert=p.get_bool("show_alert"),
            url=p.get_str("url"),
            cache_time=p.get_int("cache_time") or 0,
        )
        chat = self._chat(chat_id)
        chat.answers.append(answer)
        self.stats.callback_answers += 1
        chat.signal.fire()
        self._publish("callback_answer", chat_id, answer=answer)
        return True

    async def _get_file(self, p: _Params) -> Any:
        stored = self._files.get(p.get_str("file_id") or "")
        if stored is None:
            raise APIError(400, "Bad Request: invalid file_id")
        return _drop_none(
            {
                "file_id": stored.file_id,
                "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size,
                "file_path": stored.file_path,
            }
        )

    async def _send_chat_action(self, p: _Params) -> Any:
        self._target_chat(p)
        if p.get_str("action") not in _CHAT_ACTIONS:
            raise APIError(400, "Bad Request: wrong parameter action in request")
        self.stats.chat_actions += 1
        return True

    def _commands_key(self, p: _Params) -> tuple[str, str]:
        scope = p.get_json("scope", "Bad Request: can't parse BotCommandScope JSON object")
        if not isinstance(scope, dict) or scope.get("type", "default") == "default":
            scope_key = "default"
        else:
            scope_key = json.dumps(scope, sort_keys=True, separators=(",", ":"))
        return scope_key, p.get_str("language_code") or ""

    async def _set_my_commands(self, p: _Params) -> Any:
        commands = p.get_json("commands", "Bad Request: can't parse commands JSON object")
        if not isinstance(commands, list):
            raise APIError(400, 'Bad Request: parameter "commands" is required')
        for command in commands:
            if not isinstance(command, dict):
                raise APIError(400, "Bad Request: can't parse BotCommand JSON object")
            name = command.get("command")
            if not isinstance(name, str) or _BOT_COMMAND_RE.fullmatch(name) is None:
                raise APIError(400, "Bad Request: BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description) <= 256:
                raise APIError(400, "Bad Request: BOT_COMMAND_DESCRIPTION_INVALID")
        self.commands = commands
        self.commands_by_scope[self._commands_key(p)] = commands
        return True

    async def _delete_my_commands(self, p: _Params) -> Any:
        self.commands_by_scope.pop(self._commands_key(p), None)
        return True

    async def _get_my_commands(self, p: _Params) -> Any:
        return self.commands_by_scope.get(self._commands_key(p), [])

    async def _set_webhook(self, p: _Params) -> Any:
        url = p.get_str("url") or ""
        if p.get_bool("drop_pending_updates"):
            self._drop_pending()
        if not url:
            self.webhook = None
            return True
        webhook: dict[str, Any] = {"url": url}
        for name in ("secret_token", "ip_address"):
            if p.get_str(name):
                webhook[name] = p.get_str(name)
        if p.get_int("max_connections") is not None:
            webhook["max_connections"] = p.get_int("max_connections")
        allowed = p.get_json("allowed_updates", "Bad Request: can't parse allowed updates")
        if isinstance(allowed, list):
            webhook["allowed_updates"] = allowed
        self.webhook = webhook
        if self._pusher is None or self._pusher.done():
            self._pusher = asyncio.create_task(self._push_updates(), name="emulator-webhook")
        self._webhook_wake.set()
        return True

    async def _push_updates(self) -> None:
        """POST pending updates to the webhook as Telegram does, until the webhook is removed.

        Up to `max_connections` (40) at a time, one chat's updates one at a time and in order;
        an update is forgotten once the webhook answers 2xx, else POSTed again after
        `webhook_retry_s`. The secret token goes in X-Telegram-Bot-Api-Secret-Token.
        """
        loop = asyncio.get_running_loop()
        posting: set[asyncio.Task[None]] = set()
        busy: set[int] = set()
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            try:
                while (hook := self.webhook) is not None and not self._closing.is_set():
                    self._webhook_wake.clear()
                    now = loop.time()
                    held: set[int] = set()  # chats whose earlier update is not done yet
                    next_retry = math.inf
                    for item in list(self._pending):
                        if len(posting) >= int(hook.get("max_connections") or 40):
                            break
                        chat = item.chat_id
                        if chat is not None and (chat in busy or chat in held):
                            continue
                        if item.delivered or item.retry_at > now:
                            if not item.delivered:
                                next_retry = min(next_retry, item.retry_at)
                            if chat is not None:
                                held.add(chat)
                            continue
                        item.delivered = True
                        if chat is not None:
                            busy.add(chat)
                        task = asyncio.create_task(self._post_update(http, hook, item, busy))
                        posting.add(task)
                        task.add_done_callback(posting.discard)
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(min(1.0, max(0.0, next_retry - now))):
                            await self._webhook_wake.wait()
            finally:
                for task in posting:
                    task.cancel()
                await asyncio.gather(*posting, return_exceptions=True)

    async def _post_update(
        self, http: aiohttp.ClientSession, hook: dict[str, Any], item: _Pending, busy: set[int]
    ) -> None:
        headers = {"Content-Type": "application/json"}
        if hook.get("secret_token"):
            headers["X-Telegram-Bot-Api-Secret-Token"] = str(hook["secret_token"])
        ok = False
        try:
            self.stats.webhook_posts += 1
            async with http.post(hook["url"], data=_dumps(item.update), headers=headers) as resp:
                await resp.read()
                ok = 200 <= resp.status < 300
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            logger.info("webhook POST of update %s failed: %s", item.update_id, exc)
        finally:
            if item.chat_id is not None:
                busy.discard(item.chat_id)
            if ok:
                with contextlib.suppress(ValueError):
                    self._pending.remove(item)
                    self._forget([item])
            else:
                self.stats.webhook_failures += 1
                item.delivered = False
                item.retry_at = asyncio.get_running_loop().time() + self.webhook_retry_s
            self._webhook_wake.set()

    async def _delete_webhook(self, p: _Params) -> Any:
        if p.get_bool("drop_pending_updates"):
            self._drop_pending()
        self.webhook = None
        return True

    async def _get_webhook_info(self, p: _Params) -> Any:
        info: dict[str, Any] = {
            "url": "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._pending),
        }
        if self.webhook is not None:
            info["url"] = self.webhook["url"]
            for name in ("ip_address", "max_connections", "allowed_updates"):
                if name in self.webhook:
                    info[name] = self.webhook[name]
        return info

    # ----------------------------------------------------------------- control API

    async def _c_text(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        chat_id = body.get("chat_id")
        update_id = self.send_text(
            int(request.match_info["user_id"]),
            str(body["text"]),
            first_name=str(body.get("first_name") or "User"),
            last_name=body.get("last_name"),
            username=body.get("username"),
            language_code=body.get("language_code", "en"),
            chat_id=None if chat_id is None else int(chat_id),
        )
        return _json_response({"update_id": update_id})

    async def _c_press(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        chat_id = body.get("chat_id")
        update_id = self.press_button(
            int(request.match_info["user_id"]),
            int(body["message_id"]),
            str(body["data"]),
            chat_id=None if chat_id is None else int(chat_id),
        )
        return _json_response({"update_id": update_id})

    async def _c_status(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        user_id = int(request.match_info["user_id"])
        return _json_response({"update_id": self.set_member_status(user_id, str(body["status"]))})

    async def _c_update(self, request: web.Request) -> web.StreamResponse:
        return _json_response({"update_id": self.post_update(await _body(request))})

    async def _c_confirmed(self, request: web.Request) -> web.StreamResponse:
        update_id = int(request.match_info["update_id"])
        timeout = float(request.query.get("timeout", "10"))
        try:
            await self.wait_for_update_confirmed(update_id, timeout)
        except TimeoutError as exc:
            return _json_response({"error": str(exc), "confirmed": False}, 408)
        return _json_response({"update_id": update_id, "confirmed": True})

    async def _c_block(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        blocked = bool(body.get("blocked", True))
        self.block(int(request.match_info["chat_id"]), blocked)
        return _json_response({"blocked": blocked})

    async def _c_open_chats(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        chat_ids = [int(chat_id) for chat_id in body["chat_ids"]]
        for chat_id in chat_ids:
            self.open_chat(chat_id)
        return _json_response({"opened": len(chat_ids)})

    async def _c_counts(self, request: web.Request) -> web.StreamResponse:
        return _json_response({str(k): n for k, n in self.message_counts().items()})

    async def _c_random_faults(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        names = {f.name for f in dataclasses.fields(RandomFaults)}
        unknown = set(body) - names
        if unknown:
            raise ValueError(f"unknown field(s): {sorted(unknown)}")
        self.set_random_faults(RandomFaults(**body))
        return _json_response(dataclasses.asdict(self._random_faults))

    async def _c_messages(self, request: web.Request) -> web.StreamResponse:
        chat_id = int(request.match_info["chat_id"])
        return _json_response([m.to_dict() for m in self.messages(chat_id)])

    async def _c_answers(self, request: web.Request) -> web.StreamResponse:
        chat_id = int(request.match_info["chat_id"])
        return _json_response([a.to_dict() for a in self.callback_answers(chat_id)])

    async def _c_wait(self, request: web.Request) -> web.StreamResponse:
        chat_id = int(request.match_info["chat_id"])
        count = int(request.query.get("count", "1"))
        timeout = float(request.query.get("timeout", "10"))
        try:
            got = await self.wait_for_messages(chat_id, count, timeout)
        except TimeoutError as exc:
            current = [m.to_dict() for m in self.messages(chat_id)]
            return _json_response({"error": str(exc), "messages": current}, 408)
        return _json_response([m.to_dict() for m in got])

    async def _c_fault(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        retry_after = body.get("retry_after")
        parameters = body.get("parameters")
        self.inject_fault(
            str(body["method"]),
            status=int(body["status"]),
            description=str(body.get("description", "")),
            count=int(body.get("count", 1)),
            retry_after=None if retry_after is None else int(retry_after),
            parameters=parameters if isinstance(parameters, dict) else None,
            delay=float(body.get("delay", 0.0)),
            body=None if body.get("body") is None else str(body["body"]),
            content_type=str(body.get("content_type", "text/html")),
        )
        return _json_response({"ok": True})

    async def _c_limits(self, request: web.Request) -> web.StreamResponse:
        body = await _body(request)
        names = {f.name for f in dataclasses.fields(RateLimits)}
        unknown = set(body) - names
        if unknown:
            raise ValueError(f"unknown limit(s): {sorted(unknown)}")
        values = {k: None if v is None else float(v) for k, v in body.items()}
        self.set_limits(RateLimits(**values))
        return _json_response(dataclasses.asdict(self._limits))

    async def _c_get_limits(self, request: web.Request) -> web.StreamResponse:
        return _json_response(dataclasses.asdict(self._limits))

    async def _c_stats(self, request: web.Request) -> web.StreamResponse:
        payload = self.stats.to_dict()
        payload["calls"] = dict(self.calls)
        payload["updates_pending"] = len(self._pending)
        return _json_response(payload)


def _member(status: str, bot_user: dict[str, Any]) -> dict[str, Any]:
    member: dict[str, Any] = {"status": status, "user": bot_user}
    if status == "kicked":
        member["until_date"] = 0
    return member


def _check_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise APIError(400, BAD_BUTTON + 'field "inline_keyboard" must be an Array of Arrays')
    for row in rows:
        for button in row:
            if not isinstance(button, dict):
                raise APIError(400, BAD_BUTTON + "InlineKeyboardButton must be an Object")
            if not isinstance(button.get("text"), str):
                raise APIError(400, BAD_BUTTON + 'Field "text" must be of type String')
            data = button.get("callback_data")
            if data is not None:
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                    raise APIError(400, "Bad Request: BUTTON_DATA_INVALID")
            elif not _BUTTON_ACTIONS.intersection(button):
                raise APIError(
                    400, BAD_BUTTON + "Text buttons are unallowed in the inline keyboard"
                )


async def _body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def _guarded(handler: Handler) -> Handler:
    """Turn bad control-API input into JSON 400/404 answers instead of 500s."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except UnknownMessageError as exc:
            return _json_response({"error": str(exc.args[0])}, 404)
        except KeyError as exc:
            return _json_response({"error": f"missing field {exc}"}, 400)
        except (ValueError, TypeError) as exc:
            return _json_response({"error": str(exc)}, 400)

    return wrapper


async def _serve(args: argparse.Namespace) -> None:
    limits = RateLimits(
        per_chat_per_s=args.per_chat,
        global_per_s=args.global_rate,
        group_per_min=args.group,
        answer_window_s=args.answer_window,
    )
    faults = RandomFaults(error_rate=args.error_rate, seed=args.seed)
    emulator = BotAPIEmulator(limits=limits, bot_username=args.username, random_faults=faults)
    await serve_until_signalled(await emulator.start(args.host, args.port), emulator.stop)


async def serve_until_signalled(url: str, stop_server: Callable[[], Awaitable[None]]) -> None:
    """Print a standalone server's base URL (its parent reads it), then stop it on SIGINT or
    SIGTERM."""
    sys.stdout.write(url + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await stop_server()


def main(argv: list[str] | None = None) -> None:
    """Run the emulator standalone until SIGINT/SIGTERM, printing its base URL first."""
    parser = argparse.ArgumentParser(description="Local Telegram Bot API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--per-chat", type=float, default=None, help="sends/s per private chat")
    parser.add_argument("--global", dest="global_rate", type=float, default=None, help="sends/s")
    parser.add_argument("--group", type=float, default=None, help="sends/min per group chat")
    parser.add_argument(
        "--answer-window",
        type=float,
        default=None,
        help="seconds after a user's message in which calls to that chat answer it: not refused",
    )
    parser.add_argument("--username", default="partnerbot_sandbox_bot")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="share of sends failing with 502 (0..1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random errors")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
