"""What the emulator remembers between calls: chats, users, the update queue, subscribers.

`EmulatorState` is the base of every part of `BotAPIEmulator`; the Bot API method families
(messages.py, edits.py, ...) and the control API (control.py) are mixins over it.
"""

from __future__ import annotations

import asyncio
import bisect
import collections
import dataclasses
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.emulator.limits import Faults, RandomFaults, RateLimits, Throttle
from bot.sandbox.emulator.params import Params, bot_api_name, json_response
from bot.sandbox.emulator.types import (
    ADMINS,
    PRESENT,
    SUPERGROUP_ID_BELOW,
    APIError,
    CallbackAnswer,
    Chat,
    EmulatorEvent,
    EmulatorStats,
    EventKind,
    FileStore,
    SentMessage,
    Signal,
    bot_user_info,
    chat_member,
    default_chat_info,
    drop_none,
    unix_now,
)

ApiHandler = Callable[[Params], Awaitable[Any]]

_MESSAGE_KEYS = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_message",
    "edited_business_message",
)
# What a bot receives when it names no allowed_updates (Telegram's default).
_NOT_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})


@dataclass(slots=True)
class Pending:
    """An update posted and not yet confirmed by the bot."""

    update_id: int
    update: dict[str, Any]
    delivered: bool = False
    chat_id: int | None = None
    retry_at: float = 0.0  # webhook mode: not before this (loop time) after a failed POST


class EmulatorState:
    """The emulator's memory and the helpers every Bot API method family shares."""

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
        # (field, language_code or ""): the bot's description and short description.
        self.descriptions: dict[tuple[str, str], str] = {}
        self.webhook: dict[str, Any] | None = None
        self.calls: collections.Counter[str] = collections.Counter()
        self.stats = EmulatorStats()
        self._clock = clock
        self._strict_html = strict_html
        self._throttle = Throttle(limits or RateLimits())
        self._faults = Faults(random_faults or RandomFaults())
        # Bot API name (lower-cased) -> (its spelling, its emulation), from the @bot_api marks
        self._methods: dict[str, tuple[str, ApiHandler]] = {}
        for cls in type(self).__mro__:
            for attribute, value in vars(cls).items():
                name = bot_api_name(value)
                if name is not None:
                    self._methods.setdefault(name.lower(), (name, getattr(self, attribute)))

        self._chats: dict[int, Chat] = {}
        self._users: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._open_queries: dict[str, int] = {}
        self._query_seq = 0
        self._files = FileStore()
        self._bot_users: dict[int, dict[str, Any]] = {}
        # the bot's own id for updates built before it calls us; else learnt from its token
        self._bot_id = bot_id or 1
        self._bot_id_fixed = bot_id is not None

        self._pending: list[Pending] = []
        self._pending_counts: collections.Counter[int] = collections.Counter()
        self._next_update_id = 1
        self._max_update_id = 0
        self._updates_signal = Signal()
        self._confirm_signal = Signal()
        self._calls_signal = Signal()
        self._poll_generation: dict[str, int] = {}
        # the update kinds the bot last asked for (getUpdates or setWebhook); None: the default
        self._allowed_updates: frozenset[str] | None = None
        # poll id -> (chat id, message id) of the bot's polls, and each voter's choice
        self._polls: dict[str, tuple[int, int]] = {}
        self._votes: dict[str, dict[int, list[int]]] = {}
        self._subscribers: list[asyncio.Queue[EmulatorEvent]] = []
        self._closing = asyncio.Event()
        # Webhook mode: pending updates are POSTed to the webhook by this task.
        self.webhook_retry_s = 0.2
        self._webhook_wake = asyncio.Event()
        self._pusher: asyncio.Task[None] | None = None
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    def _error(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> web.Response:
        """A Bot API error answer, counted in the stats."""
        self.stats.errors[code] += 1
        payload: dict[str, Any] = {"ok": False, "error_code": code, "description": description}
        if parameters:
            payload["parameters"] = parameters
        return json_response(payload, code)

    # ----------------------------------------------------------------- chats and users

    def _chat(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = Chat(chat_id, default_chat_info(chat_id))
            self._chats[chat_id] = chat
        return chat

    def _register_chat(self, info: dict[str, Any]) -> Chat:
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
        user = drop_none(
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

    def _known_user(self, user_id: int) -> dict[str, Any]:
        return self._users.get(user_id) or self._remember_user(user_id, "User", None, None, "en")

    def _user_chat(self, user: dict[str, Any], chat_id: int | None) -> Chat:
        if chat_id is None or chat_id == user["id"]:
            info = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
            for key in ("last_name", "username"):
                if key in user:
                    info[key] = user[key]
            return self._register_chat(info)
        existing = self._chats.get(chat_id)
        if existing is not None and existing.known:
            return existing
        return self._register_chat(default_chat_info(chat_id))

    def _bot_user(self, bot_id: int) -> dict[str, Any]:
        user = self._bot_users.get(bot_id)
        if user is None:
            user = self._bot_users[bot_id] = bot_user_info(bot_id, self.bot_username)
        return user

    def _target_chat(self, p: Params) -> Chat:
        """The chat a call addresses: known to the emulator and not blocking the bot."""
        chat_id = p.get_int("chat_id")
        if chat_id is None:
            if p.values.get("chat_id") in (None, ""):
                raise APIError(400, "Bad Request: chat_id is empty")
            raise APIError(400, "Bad Request: chat not found")
        kind = "supergroup" if chat_id <= SUPERGROUP_ID_BELOW else "group"
        if chat_id in self._blocked:
            if chat_id > 0:
                raise APIError(403, "Forbidden: bot was blocked by the user")
            raise APIError(403, f"Forbidden: bot was kicked from the {kind} chat")
        chat = self._chats.get(chat_id)
        if chat is None or not chat.known:
            raise APIError(400, "Bad Request: chat not found")
        if chat.migrated_to is not None:
            raise APIError(
                400,
                "Bad Request: group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        if chat_id < 0 and chat.member_status == "kicked":
            raise APIError(403, f"Forbidden: bot was kicked from the {kind} chat")
        if chat_id < 0 and chat.member_status == "left":
            raise APIError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    def _thread_of(self, chat: Chat, p: Params) -> int | None:
        """The call's message_thread_id, refused if the chat has no such open thread."""
        thread_id = p.get_int("message_thread_id")
        if thread_id is None:
            return None
        topic = chat.topics.get(thread_id)
        if topic is None:
            if chat.info.get("is_forum") or (
                thread_id not in chat.by_id and thread_id not in chat.user_messages
            ):
                raise APIError(400, "Bad Request: message thread not found")
        elif topic.get("is_closed") and chat.member_status not in ADMINS:
            raise APIError(400, "Bad Request: TOPIC_CLOSED")
        return thread_id

    def _bot_reads(self, chat: Chat, message: dict[str, Any]) -> bool:
        """Whether the bot receives a person's group message (privacy mode, as BotFather sets
        it by default: commands, replies to it, mentions of it and service messages)."""
        if chat.member_status not in PRESENT:
            return False
        if chat.member_status in ADMINS or not _is_content(message):
            return True  # admins read everything; service messages reach every bot
        text = str(message.get("text") or message.get("caption") or "")
        name = "@" + self.bot_username.lower()
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0].lower()
            return "@" not in command or command.endswith(name)
        replied = message.get("reply_to_message")
        if isinstance(replied, dict) and replied.get("message_id") in chat.by_id:
            return True
        return name in text.lower()

    def _set_bot_status(self, chat: Chat, status: str, actor: dict[str, Any]) -> int:
        """Give the bot `status` in `chat` and tell it by a my_chat_member update (its id)."""
        bot_user = self._bot_user(self._bot_id)
        old, chat.member_status = chat.member_status, status
        update = {
            "my_chat_member": {
                "chat": chat.info,
                "from": actor,
                "date": unix_now(),
                "old_chat_member": chat_member(old, bot_user),
                "new_chat_member": chat_member(status, bot_user),
            }
        }
        return self._enqueue(update, chat.id)

    def _poll_message(self, poll_id: str) -> tuple[Chat, SentMessage, dict[str, Any]]:
        """The bot's poll `poll_id`: its chat, its message and its JSON (ValueError if none)."""
        chat_id, message_id = self._polls.get(poll_id, (0, 0))
        chat = self._chats.get(chat_id)
        message = None if chat is None else chat.by_id.get(message_id)
        if chat is None or message is None or not message.content:
            raise ValueError(f"no poll {poll_id!r} of the bot")
        return chat, message, message.content["poll"]

    def _check_rate(self, chat_id: int) -> None:
        """Refuse with 429 a call the flood limits do not let through now."""
        wait = self._throttle.admit(chat_id, self._clock(), self._chat(chat_id).last_user_at)
        if wait > 0:
            self.stats.throttled += 1
            retry_after = max(1, math.ceil(round(wait, 6)))
            raise APIError(
                429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
            )

    # ----------------------------------------------------------------- the update queue

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

    def _set_allowed_updates(self, p: Params) -> None:
        """Remember the update kinds a getUpdates or setWebhook call names (if it names any)."""
        allowed = p.get_json("allowed_updates", "Bad Request: can't parse allowed updates")
        if isinstance(allowed, list):
            self._allowed_updates = frozenset(str(kind) for kind in allowed) or None

    def _wanted(self, update: dict[str, Any]) -> bool:
        kind = next((key for key in update if key != "update_id"), "")
        if self._allowed_updates is None:
            return kind not in _NOT_BY_DEFAULT
        return kind in self._allowed_updates

    def _enqueue(self, update: dict[str, Any], chat_id: int | None) -> int:
        """Queue `update` for the bot and return its id; an update of a kind the bot did not
        ask for takes an id and is dropped, as Telegram never sends it."""
        if "update_id" in update:
            update_id = int(update["update_id"])
        else:
            update_id = self._next_update_id
            update = {"update_id": update_id, **update}
        self._next_update_id = max(self._next_update_id, update_id + 1)
        self._max_update_id = max(self._max_update_id, update_id)
        if not self._wanted(update):
            self.stats.updates_dropped += 1
            return update_id
        item = Pending(update_id, update, chat_id=chat_id)
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

    def _forget(self, dropped: list[Pending]) -> None:
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

    # ----------------------------------------------------------------- events

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


def _is_content(message: dict[str, Any]) -> bool:
    """Whether a person's message carries content (else it is a service message)."""
    kinds = ("text", "photo", "document", "voice", "location", "poll")
    return any(key in message for key in kinds)
