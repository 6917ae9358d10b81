"""What survives a restart of the sandbox: the emulator's memory as JSON, and back.

Telegram remembers chats, their messages and its update counter while a bot is down; the
sandbox keeps these in a file (bot/sandbox/keeper.py) so that a second run goes on from the
first: new update ids above those the bot already handled, the same chats, buttons of earlier
messages still pressable, message ids that do not start again at 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from bot.sandbox.emulator.state import EmulatorState
from bot.sandbox.emulator.types import Chat, SentMessage

SAVED_VERSION = 1
# kept per message; the chat's info and the file are saved once, beside it
_MESSAGE_FIELDS = tuple(
    f.name
    for f in dataclasses.fields(SentMessage)
    if f.name not in ("chat_id", "chat", "file", "deleted")
)


class Saving(EmulatorState):
    """saved_state() and restore_state() of the emulator."""

    def saved_state(self) -> dict[str, Any]:
        """The chats, users, files, pending updates and counters, JSON-ready."""
        return {
            "version": SAVED_VERSION,
            "next_update_id": self._next_update_id,
            "query_seq": self._query_seq,
            "users": list(self._users.values()),
            "blocked": sorted(self._blocked),
            "chats": [_saved_chat(chat) for chat in self._chats.values() if chat.known],
            "files": self._files.saved(),
            "pending": [item.update for item in self._pending],
        }

    def restore_state(self, saved: Mapping[str, Any]) -> None:
        """Continue from an earlier run's saved_state(); call it before the bot connects.

        A state of another version is left out: the run starts afresh.
        """
        if saved.get("version") != SAVED_VERSION:
            return
        self._files.restore(saved["files"])
        for user in saved["users"]:
            self._users[int(user["id"])] = dict(user)
        self._blocked.update(int(chat_id) for chat_id in saved["blocked"])
        for entry in saved["chats"]:
            self._restore_chat(entry)
        self._query_seq = max(self._query_seq, int(saved["query_seq"]))
        for update in saved["pending"]:
            self._enqueue(update, self._register_update(update))
        self.continue_update_ids(int(saved["next_update_id"]) - 1)

    def continue_update_ids(self, after: int) -> None:
        """Number new updates above `after` (the bot may have handled every id up to it)."""
        self._next_update_id = max(self._next_update_id, after + 1)
        self._max_update_id = max(self._max_update_id, after)

    def _restore_chat(self, entry: Mapping[str, Any]) -> None:
        chat = self._register_chat(entry["info"])
        chat.next_message_id = max(chat.next_message_id, int(entry["next_message_id"]))
        chat.user_message_ids.update(int(i) for i in entry["user_message_ids"])
        chat.member_status = str(entry["member_status"])
        chat.members.update((int(user_id), status) for user_id, status in entry.get("members", []))
        chat.topics.update(
            (int(topic["message_thread_id"]), topic) for topic in entry.get("topics", [])
        )
        chat.migrated_to = entry.get("migrated_to")
        for saved in entry["messages"]:
            file = None if saved["file_id"] is None else self._files.get(saved["file_id"])
            # fields added since a state was saved take their defaults
            values = {name: saved[name] for name in _MESSAGE_FIELDS if name in saved}
            message = SentMessage(**values, chat_id=chat.id, chat=chat.info, file=file)
            chat.messages.append(message)
            chat.by_id[message.message_id] = message
            chat.live_count += 1
            if message.kind == "poll" and message.content:
                # the totals stay; who voted for what is not kept
                self._polls[message.content["poll"]["id"]] = (chat.id, message.message_id)
                self._votes[message.content["poll"]["id"]] = {}


def _saved_chat(chat: Chat) -> dict[str, Any]:
    messages = []
    for message in chat.messages:
        if not message.deleted:
            saved = {name: getattr(message, name) for name in _MESSAGE_FIELDS}
            messages.append({**saved, "file_id": message.file_id})
    return {
        "info": chat.info,
        "next_message_id": chat.next_message_id,
        "user_message_ids": sorted(chat.user_message_ids),
        "member_status": chat.member_status,
        "members": sorted(chat.members.items()),
        "topics": list(chat.topics.values()),
        "migrated_to": chat.migrated_to,
        "messages": messages,
    }
