"""The control API: acting as users and watching the bot, in process (methods of
`BotAPIEmulator`) and over HTTP under /_emulator/ (for benchmarks and other processes)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.sandbox.emulator.limits import Fault, RandomFaults, RateLimits, Throttle
from bot.sandbox.emulator.params import json_response
from bot.sandbox.emulator.state import EmulatorState
from bot.sandbox.emulator.types import (
    CallbackAnswer,
    EmulatorEvent,
    SentMessage,
    UnknownMessageError,
    default_chat_info,
    unix_now,
)
from bot.sandbox.htmlcheck import utf16_len

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_COMMAND_RE = re.compile(r"/\S+")
_MEMBER_STATUSES = frozenset({"member", "kicked", "left"})
CONTROL_PREFIX = "/_emulator"


class Control(EmulatorState):
    """What a test, the sandbox page or a benchmark does to the emulator."""

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
        """Deliver a text message from a user (private chat unless chat_id); return update_id.

        Into a group it is delivered as it is, whoever is in the group: post_in_group() (in
        people.py) is a member writing under privacy mode.
        """
        user = self._remember_user(user_id, first_name, last_name, username, language_code)
        chat = self._user_chat(user, chat_id)
        message_id = chat.allocate_message_id()
        chat.user_message_ids.add(message_id)
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": user,
            "chat": chat.info,
            "date": unix_now(),
            **text_content(text),
        }
        chat.user_messages[message_id] = message
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
        user = self._known_user(user_id)
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
        user = self._known_user(user_id)
        self.block(user_id, status == "kicked")
        return self._set_bot_status(self._user_chat(user, None), status, user)

    def block(self, chat_id: int, blocked: bool = True) -> None:
        """Make sends to chat_id fail with 403 (or stop doing so)."""
        if blocked:
            self._blocked.add(chat_id)
        else:
            self._blocked.discard(chat_id)

    def open_chat(self, chat_id: int, *, first_name: str = "User") -> None:
        """Make chat_id known, as if its user had written first, without posting an update."""
        info = default_chat_info(chat_id)
        if chat_id > 0:
            info["first_name"] = first_name
        existing = self._chats.get(chat_id)
        if existing is None or not existing.known:
            self._register_chat(info)

    # ----------------------------------------------------------------- making calls fail

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
        fault = Fault(status, description, count, params or None, delay, body, content_type)
        self._faults.inject(method, fault)

    def set_random_faults(self, faults: RandomFaults) -> None:
        """Fail a seeded random share of send calls with a server error (0 turns it off)."""
        self._faults.set_random(faults)

    @property
    def limits(self) -> RateLimits:
        """Current rate limits."""
        return self._throttle.limits

    def set_limits(self, limits: RateLimits) -> None:
        """Replace the rate limits and forget past traffic."""
        self._throttle = Throttle(limits)

    # ----------------------------------------------------------------- observing the bot

    def messages(self, chat_id: int) -> list[SentMessage]:
        """Messages the bot sent to chat_id that still exist, in order, edits applied."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [m for m in chat.messages if not m.deleted]

    def message_counts(self) -> dict[int, int]:
        """How many bot messages each chat holds (chats without any are left out)."""
        return {chat.id: chat.live_count for chat in self._chats.values() if chat.live_count}

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
        entry = self._methods.get(method.lower())
        name = method if entry is None else entry[0]
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

    # ----------------------------------------------------------------- over HTTP

    def _add_control_routes(self, router: web.UrlDispatcher) -> None:
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
            router.add_route(verb, CONTROL_PREFIX + path, guarded(handler))

    async def _c_text(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
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
        return json_response({"update_id": update_id})

    async def _c_press(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        chat_id = body.get("chat_id")
        update_id = self.press_button(
            int(request.match_info["user_id"]),
            int(body["message_id"]),
            str(body["data"]),
            chat_id=None if chat_id is None else int(chat_id),
        )
        return json_response({"update_id": update_id})

    async def _c_status(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        user_id = int(request.match_info["user_id"])
        return json_response({"update_id": self.set_member_status(user_id, str(body["status"]))})

    async def _c_update(self, request: web.Request) -> web.StreamResponse:
        return json_response({"update_id": self.post_update(await request_body(request))})

    async def _c_confirmed(self, request: web.Request) -> web.StreamResponse:
        update_id = int(request.match_info["update_id"])
        timeout = float(request.query.get("timeout", "10"))
        try:
            await self.wait_for_update_confirmed(update_id, timeout)
        except TimeoutError as exc:
            return json_response({"error": str(exc), "confirmed": False}, 408)
        return json_response({"update_id": update_id, "confirmed": True})

    async def _c_block(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        blocked = bool(body.get("blocked", True))
        self.block(int(request.match_info["chat_id"]), blocked)
        return json_response({"blocked": blocked})

    async def _c_open_chats(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        chat_ids = [int(chat_id) for chat_id in body["chat_ids"]]
        for chat_id in chat_ids:
            self.open_chat(chat_id)
        return json_response({"opened": len(chat_ids)})

    async def _c_counts(self, request: web.Request) -> web.StreamResponse:
        return json_response({str(k): n for k, n in self.message_counts().items()})

    async def _c_random_faults(self, request: web.Request) -> web.StreamResponse:
        self.set_random_faults(
            RandomFaults(**_fields_of(RandomFaults, "field", await request_body(request)))
        )
        return json_response(dataclasses.asdict(self._faults.random))

    async def _c_messages(self, request: web.Request) -> web.StreamResponse:
        chat_id = int(request.match_info["chat_id"])
        return json_response([m.to_dict() for m in self.messages(chat_id)])

    async def _c_answers(self, request: web.Request) -> web.StreamResponse:
        chat_id = int(request.match_info["chat_id"])
        return json_response([a.to_dict() for a in self.callback_answers(chat_id)])

    async def _c_wait(self, request: web.Request) -> web.StreamResponse:
        chat_id = int(request.match_info["chat_id"])
        count = int(request.query.get("count", "1"))
        timeout = float(request.query.get("timeout", "10"))
        try:
            got = await self.wait_for_messages(chat_id, count, timeout)
        except TimeoutError as exc:
            current = [m.to_dict() for m in self.messages(chat_id)]
            return json_response({"error": str(exc), "messages": current}, 408)
        return json_response([m.to_dict() for m in got])

    async def _c_fault(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
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
        return json_response({"ok": True})

    async def _c_limits(self, request: web.Request) -> web.StreamResponse:
        body = _fields_of(RateLimits, "limit", await request_body(request))
        values = {k: None if v is None else float(v) for k, v in body.items()}
        self.set_limits(RateLimits(**values))
        return json_response(dataclasses.asdict(self.limits))

    async def _c_get_limits(self, request: web.Request) -> web.StreamResponse:
        return json_response(dataclasses.asdict(self.limits))

    async def _c_stats(self, request: web.Request) -> web.StreamResponse:
        payload = self.stats.to_dict()
        payload["calls"] = dict(self.calls)
        payload["updates_pending"] = len(self._pending)
        return json_response(payload)


def text_content(text: str) -> dict[str, Any]:
    """A person's text as Message JSON: the text, and a leading command marked as one."""
    content: dict[str, Any] = {"text": text}
    command = _COMMAND_RE.match(text)
    if command is not None and len(command.group()) > 1:
        length = utf16_len(command.group())
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": length}]
    return content


def _fields_of(kind: type[Any], noun: str, body: dict[str, Any]) -> dict[str, Any]:
    """`body`, refused if it names a field the dataclass `kind` does not have."""
    unknown = set(body) - {f.name for f in dataclasses.fields(kind)}
    if unknown:
        raise ValueError(f"unknown {noun}(s): {sorted(unknown)}")
    return body


async def request_body(request: web.Request) -> dict[str, Any]:
    """The control call's JSON object (empty without a body)."""
    if not request.can_read_body:
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise ValueError("expected a JSON object")
    return body


def guarded(handler: Handler) -> Handler:
    """Turn bad control-API input into JSON 400/404 answers instead of 500s."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except UnknownMessageError as exc:
            return json_response({"error": str(exc.args[0])}, 404)
        except KeyError as exc:
            return json_response({"error": f"missing field {exc}"}, 400)
        except (ValueError, TypeError) as exc:
            return json_response({"error": str(exc)}, 400)

    return wrapper
