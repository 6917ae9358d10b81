"""What the emulator keeps and shows: messages, files, callback answers, events, chats, users."""

from __future__ import annotations

import asyncio
import base64
import collections
import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any, Literal

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
SUPERGROUP_ID_BELOW = -1_000_000_000_000

MessageKind = Literal["text", "photo", "document", "voice", "location", "poll"]
# Statuses of a chat member, the bot included, and those that are in the chat.
MEMBER_STATUSES = frozenset({"creator", "administrator", "member", "left", "kicked"})
PRESENT = frozenset({"creator", "administrator", "member"})
ADMINS = frozenset({"creator", "administrator"})
EventKind = Literal["message", "edit", "delete", "callback_answer", "update"]


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
    duration: int = 0  # a voice note's seconds, kept for the bot's re-sends by file id

    @property
    def file_size(self) -> int | None:
        """Size in bytes, when the content is known."""
        return None if self.data is None else len(self.data)


class FileStore:
    """Files the bot sent, by file_id and by download path."""

    def __init__(self) -> None:
        self._by_id: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._seq = 0

    def get(self, file_id: str) -> StoredFile | None:
        """The file with that file_id, if any."""
        return self._by_id.get(file_id)

    def at_path(self, path: str) -> StoredFile | None:
        """The file getFile gave that path, if any."""
        return self._by_path.get(path)

    def add(
        self,
        kind: MessageKind,
        file_name: str | None,
        mime: str | None,
        data: bytes | None,
        size: tuple[int, int] | None = None,
    ) -> StoredFile:
        """Store a new file and give it an id and a path (a photo's size read or given)."""
        self._seq += 1
        seq = self._seq
        if kind == "photo":
            path = f"photos/file_{seq}.jpg"
            width, height = size or _image_size(data)
            file_name = None
        elif kind == "voice":
            path = f"voice/file_{seq}.oga"
            width = height = 0
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
        self._keep(stored)
        return stored

    def _keep(self, stored: StoredFile) -> None:
        self._by_id[stored.file_id] = stored
        self._by_path[stored.file_path] = stored

    def saved(self) -> dict[str, Any]:
        """Every file, content included, as JSON (see restore)."""
        files = []
        for stored in self._by_id.values():
            entry = dataclasses.asdict(stored)
            entry["data"] = None if stored.data is None else base64.b64encode(stored.data).decode()
            files.append(entry)
        return {"seq": self._seq, "files": files}

    def restore(self, saved: dict[str, Any]) -> None:
        """Take back the files of saved()."""
        for entry in saved.get("files", []):
            data = entry.get("data")
            entry = {**entry, "data": None if data is None else base64.b64decode(data)}
            self._keep(StoredFile(**entry))
        self._seq = max(self._seq, int(saved.get("seq", 0)))


def _image_size(data: bytes | None) -> tuple[int, int]:
    if data is not None and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    return 512, 512


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
    # Message JSON beyond text and the bot's own file: a poll, a location, a copied voice note
    content: dict[str, Any] | None = None
    thread_id: int | None = None  # the forum topic (or reply thread) it was sent to
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
        if self.thread_id is not None:
            message["message_thread_id"] = self.thread_id
            if self.chat.get("is_forum"):
                message["is_topic_message"] = True
        if self.content:
            message.update(self.content)
        if self.kind == "text":
            message["text"] = self.plain_text
            if self.entities:
                message["entities"] = self.entities
        else:
            stored = self.file
            if stored is not None and self.kind == "photo":
                message["photo"] = [
                    drop_none(
                        {
                            "file_id": stored.file_id,
                            "file_unique_id": stored.file_unique_id,
                            "width": stored.width,
                            "height": stored.height,
                            "file_size": stored.file_size,
                        }
                    )
                ]
            elif stored is not None and self.kind == "voice":
                message["voice"] = drop_none(
                    {
                        "file_id": stored.file_id,
                        "file_unique_id": stored.file_unique_id,
                        "mime_type": stored.mime_type,
                        "file_size": stored.file_size,
                        "duration": stored.duration,
                    }
                )
            elif stored is not None:
                message["document"] = drop_none(
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
    updates_dropped: int = 0  # of kinds the bot's allowed_updates leave out
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


class Signal:
    """Wakes every current waiter on fire(); waiters re-check their condition."""

    __slots__ = ("_event", "_waiting")

    def __init__(self) -> None:
        self._event = asyncio.Event()
        self._waiting = 0

    def fire(self) -> None:
        """Wake the current waiters."""
        # hot path (every message): only pay for a fresh Event when someone is waiting
        if self._waiting:
            self._event.set()
            self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Return at the next fire() or after `timeout` seconds."""
        event = self._event
        self._waiting += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(timeout, 0.0)):
                    await event.wait()
        finally:
            self._waiting -= 1


@dataclass(eq=False)
class Chat:
    """A chat the emulator knows: its info, the bot's messages and the ids its users used."""

    id: int
    info: dict[str, Any]
    known: bool = False
    messages: list[SentMessage] = field(default_factory=list)
    by_id: dict[int, SentMessage] = field(default_factory=dict)
    user_message_ids: set[int] = field(default_factory=set)
    next_message_id: int = 1
    live_count: int = 0
    answers: list[CallbackAnswer] = field(default_factory=list)
    member_status: str = "member"  # the bot's own status in the chat
    # groups: people's statuses (the bot's is member_status), forum topics by thread id, and
    # the supergroup a group was upgraded to (its id then refuses every call)
    members: dict[int, str] = field(default_factory=dict)
    topics: dict[int, dict[str, Any]] = field(default_factory=dict)
    migrated_to: int | None = None
    # people's messages as the bot would receive them (replies and copyMessage read them)
    user_messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    signal: Signal = field(default_factory=Signal)
    last_user_at: float = -math.inf  # emulator clock of the user's last message or press

    def allocate_message_id(self) -> int:
        """The next message id in this chat (users' and the bot's messages share them)."""
        message_id = self.next_message_id
        self.next_message_id += 1
        return message_id


def drop_none(data: dict[str, Any]) -> dict[str, Any]:
    """`data` without its None values."""
    return {key: value for key, value in data.items() if value is not None}


def default_chat_info(chat_id: int) -> dict[str, Any]:
    """Telegram Chat JSON for a chat known only by its id."""
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": "User"}
    kind = "supergroup" if chat_id <= SUPERGROUP_ID_BELOW else "group"
    return {"id": chat_id, "type": kind, "title": f"Group {chat_id}"}


def bot_user_info(bot_id: int, username: str) -> dict[str, Any]:
    """Telegram User JSON for the bot, as getMe answers it."""
    return {
        "id": bot_id,
        "is_bot": True,
        "first_name": "partnerbot",
        "username": username,
        "can_join_groups": True,
        "can_read_all_group_messages": False,
        "supports_inline_queries": False,
        "can_connect_to_business": False,
        "has_main_web_app": False,
    }


_ADMIN_RIGHTS = {
    "can_be_edited": False,
    "is_anonymous": False,
    "can_manage_chat": True,
    "can_delete_messages": True,
    "can_manage_video_chats": True,
    "can_restrict_members": True,
    "can_promote_members": False,
    "can_change_info": True,
    "can_invite_users": True,
    "can_post_stories": False,
    "can_edit_stories": False,
    "can_delete_stories": False,
    "can_send_welcome_messages": False,
    "can_pin_messages": True,
    "can_manage_topics": True,
}


def chat_member(status: str, user: dict[str, Any]) -> dict[str, Any]:
    """Telegram ChatMember JSON for `user` (a person or the bot) with `status`."""
    member: dict[str, Any] = {"status": status, "user": user}
    if status == "kicked":
        member["until_date"] = 0
    elif status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update(_ADMIN_RIGHTS)
    return member


def unix_now() -> int:
    """Wall-clock seconds, as Telegram dates messages."""
    return int(time.time())
