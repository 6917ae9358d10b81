"""The control API for groups and for what people send besides text: making groups and
supergroups (forums too), who is in them and with what status (the bot included), upgrading a
group to a supergroup, people writing in groups, sending voice notes, photos, documents and
locations, and voting in the bot's polls. In process and under /_emulator/ (see the routes)."""

from __future__ import annotations

import base64
import copy
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.sandbox.emulator.control import CONTROL_PREFIX, guarded, request_body, text_content
from bot.sandbox.emulator.params import json_response
from bot.sandbox.emulator.state import EmulatorState
from bot.sandbox.emulator.types import (
    ADMINS,
    MEMBER_STATUSES,
    PRESENT,
    SUPERGROUP_ID_BELOW,
    Chat,
    unix_now,
)

PHOTO_SIZES = ((90, 90), (320, 320), (800, 800))
_FIRST_GROUP_ID = -4_000_000_000
_FIRST_SUPERGROUP_ID = SUPERGROUP_ID_BELOW - 4_000_000_000


@dataclass
class Posted:
    """A person's message: its id, and the update carrying it (None: the bot does not get it)."""

    message_id: int
    update_id: int | None
    message: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form for the control API."""
        return {"message_id": self.message_id, "update_id": self.update_id, "message": self.message}


class People(EmulatorState):
    """Groups and their members, and people's messages other than private texts."""

    # ----------------------------------------------------------------- groups

    @property
    def bot_id(self) -> int:
        """The bot's user id (learnt from its token at its first call, unless given)."""
        return self._bot_id

    def create_group(
        self,
        title: str,
        *,
        creator: int,
        supergroup: bool = False,
        forum: bool = False,
        members: Iterable[int] = (),
    ) -> int:
        """A new group (or supergroup, or forum) without the bot; return its chat id."""
        if forum and not supergroup:
            raise ValueError("only a supergroup can be a forum")
        chat_id = _FIRST_SUPERGROUP_ID if supergroup else _FIRST_GROUP_ID
        while chat_id in self._chats:
            chat_id -= 1
        info: dict[str, Any] = {
            "id": chat_id,
            "type": "supergroup" if supergroup else "group",
            "title": title,
        }
        if forum:
            info["is_forum"] = True
        chat = self._register_chat(info)
        chat.member_status = "left"
        self._known_user(creator)
        chat.members[creator] = "creator"
        for user_id in members:
            self._known_user(user_id)
            chat.members[user_id] = "member"
        return chat_id

    def group_info(self, chat_id: int) -> dict[str, Any]:
        """A group as its members' apps show it: title, forum topics, who is in it and how."""
        chat = self._group(chat_id)
        return {
            "chat_id": chat.id,
            "title": str(chat.info.get("title") or ""),
            "is_forum": bool(chat.info.get("is_forum")),
            "bot_status": chat.member_status,
            "members": {str(user_id): status for user_id, status in chat.members.items()},
            "topics": [
                {"thread_id": thread_id, "name": topic["name"], "is_closed": topic["is_closed"]}
                for thread_id, topic in sorted(chat.topics.items())
            ],
        }

    def remember_user(
        self, user_id: int, *, first_name: str, language_code: str | None = "en"
    ) -> None:
        """Know a person by name before (or whatever) they write: a group's members, say."""
        self._remember_user(user_id, first_name, None, None, language_code)

    def set_group_member(
        self, chat_id: int, user_id: int, status: str, *, by: int | None = None
    ) -> list[int]:
        """Give a person `status` in a group (joining, leaving, made admin...); the bot hears
        of joins and departures by service messages. Return the update ids."""
        chat = self._group(chat_id)
        if status not in MEMBER_STATUSES:
            raise ValueError(f"status must be one of {sorted(MEMBER_STATUSES)}, not {status!r}")
        user = self._known_user(user_id)
        actor = user if by is None else self._known_user(by)
        old = chat.members.get(user_id, "left")
        chat.members[user_id] = status
        if old not in PRESENT and status in PRESENT:
            return _ids(self._post_as(actor, chat, {"new_chat_members": [user]}))
        if old in PRESENT and status not in PRESENT:
            return _ids(self._post_as(actor, chat, {"left_chat_member": user}))
        return []

    def set_bot_status(self, chat_id: int, status: str, *, by: int | None = None) -> list[int]:
        """Add the bot to a group, remove it or change its rights: a my_chat_member update (and
        the service message of its joining). Return the update ids."""
        chat = self._group(chat_id)
        if status not in MEMBER_STATUSES - {"creator"}:
            raise ValueError(f"the bot's status cannot be {status!r}")
        actor = self._known_user(by if by is not None else self._creator(chat))
        old = chat.member_status
        ids = [self._set_bot_status(chat, status, actor)]
        if old not in PRESENT and status in PRESENT:
            bot_user = self._bot_user(self._bot_id)
            ids += _ids(self._post_as(actor, chat, {"new_chat_members": [bot_user]}))
        return ids

    def migrate_group(self, chat_id: int, *, by: int | None = None) -> int:
        """Upgrade a group to a supergroup (members and the bot's status carried over): service
        messages in both; the group's id then refuses every call. Return the new chat id."""
        chat = self._group(chat_id)
        if chat.info["type"] != "group":
            raise ValueError(f"chat {chat_id} is not a basic group")
        new_id = self.create_group(
            str(chat.info["title"]), creator=self._creator(chat), supergroup=True
        )
        new = self._chats[new_id]
        new.members = dict(chat.members)
        new.member_status = chat.member_status
        actor = self._known_user(by if by is not None else self._creator(chat))
        self._post_as(actor, chat, {"migrate_to_chat_id": new_id})
        chat.migrated_to = new_id
        self._post_as(actor, new, {"migrate_from_chat_id": chat_id})
        return new_id

    def post_in_group(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> Posted:
        """A member writes in a group (a command too: `/bind@botname x`); the bot receives it
        only as privacy mode lets it."""
        chat = self._group(chat_id)
        return self._post_as(
            self._member(chat, user_id), chat, text_content(text), reply_to, thread_id
        )

    def set_topic(
        self, chat_id: int, thread_id: int, *, closed: bool = False, deleted: bool = False
    ) -> None:
        """An admin of a forum closes, reopens or deletes one of its topics (the bot's own
        too); sending to a deleted topic then fails with "message thread not found", to a
        closed one (unless the bot is an admin) with "TOPIC_CLOSED"."""
        chat = self._group(chat_id)
        topic = chat.topics.get(thread_id)
        if topic is None:
            raise ValueError(f"no topic {thread_id} in chat {chat_id}")
        if deleted:
            del chat.topics[thread_id]
        else:
            topic["is_closed"] = closed

    def topics(self, chat_id: int) -> list[dict[str, Any]]:
        """A forum's topics, in the order they were opened."""
        return [dict(topic) for topic in self._group(chat_id).topics.values()]

    # ----------------------------------------------------------------- media and votes

    def send_voice(
        self, user_id: int, *, duration: int = 3, data: bytes = b"OggS", chat_id: int | None = None
    ) -> Posted:
        """A voice note from a person (private chat unless chat_id)."""
        stored = self._files.add("voice", None, "audio/ogg", data)
        stored.duration = duration
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": stored.file_size,
        }
        return self._from_person(user_id, chat_id, {"voice": voice})

    def send_photo(
        self,
        user_id: int,
        *,
        sizes: Iterable[tuple[int, int]] = PHOTO_SIZES,
        data: bytes = b"\xff\xd8\xff",
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> Posted:
        """A photo from a person, in several sizes (one file id each), smallest first."""
        photo = []
        for size in sizes:
            stored = self._files.add("photo", None, "image/jpeg", data, size)
            photo.append(
                {
                    "file_id": stored.file_id,
                    "file_unique_id": stored.file_unique_id,
                    "width": stored.width,
                    "height": stored.height,
                    "file_size": stored.file_size,
                }
            )
        return self._from_person(user_id, chat_id, _captioned({"photo": photo}, caption))

    def send_document(
        self,
        user_id: int,
        data: bytes,
        *,
        file_name: str,
        mime_type: str | None = None,
        caption: str | None = None,
        chat_id: int | None = None,
    ) -> Posted:
        """A document from a person."""
        stored = self._files.add("document", file_name, mime_type, data)
        document = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_name": file_name,
            "file_size": stored.file_size,
        }
        if mime_type:
            document["mime_type"] = mime_type
        return self._from_person(user_id, chat_id, _captioned({"document": document}, caption))

    def send_location(
        self, user_id: int, latitude: float, longitude: float, *, chat_id: int | None = None
    ) -> Posted:
        """A location from a person."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._from_person(user_id, chat_id, {"location": location})

    def send_sticker(
        self, user_id: int, *, emoji: str = "👍", chat_id: int | None = None
    ) -> Posted:
        """A sticker from a person (nothing the bot reads as an answer)."""
        token = secrets.token_urlsafe(8)
        sticker = {
            "file_id": f"CAACAg{token}",
            "file_unique_id": f"AgAD{token[:6]}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
        }
        return self._from_person(user_id, chat_id, {"sticker": sticker})

    def vote(self, user_id: int, poll_id: str, option_ids: list[int]) -> list[int]:
        """A person votes in the bot's poll ([] takes the vote back): a `poll` update with the
        totals, and `poll_answer` naming the voter unless the poll is anonymous."""
        chat, message, poll = self._poll_message(poll_id)
        if poll["is_closed"]:
            raise ValueError(f"poll {poll_id} is closed")
        user = self._member(chat, user_id) if chat.id < 0 else self._known_user(user_id)
        if chat.id > 0 and user_id != chat.id:
            raise ValueError(f"user {user_id} is not in chat {chat.id}")
        options = poll["options"]
        if any(not 0 <= i < len(options) for i in option_ids) or len(set(option_ids)) != len(
            option_ids
        ):
            raise ValueError(f"bad option ids {option_ids}")
        if len(option_ids) > 1 and not poll["allows_multiple_answers"]:
            raise ValueError("this poll takes one answer")
        votes = self._votes[poll_id]
        for i in votes.pop(user_id, []):
            options[i]["voter_count"] -= 1
        if option_ids:
            votes[user_id] = list(option_ids)
            for i in option_ids:
                options[i]["voter_count"] += 1
        poll["total_voter_count"] = len(votes)
        chat.signal.fire()
        self._publish("edit", chat.id, message=message)
        ids = [self._enqueue({"poll": copy.deepcopy(poll)}, None)]
        if not poll["is_anonymous"]:
            answer = {
                "poll_id": poll_id,
                "user": user,
                "option_ids": list(option_ids),
                "option_persistent_ids": [options[i]["persistent_id"] for i in option_ids],
            }
            ids.append(self._enqueue({"poll_answer": answer}, None))
        return ids

    # ----------------------------------------------------------------- shared

    def _group(self, chat_id: int) -> Chat:
        chat = self._chats.get(chat_id)
        if chat is None or chat_id > 0 or not chat.known:
            raise ValueError(f"no group {chat_id}")
        if chat.migrated_to is not None:
            raise ValueError(f"group {chat_id} was upgraded to {chat.migrated_to}")
        return chat

    def _member(self, chat: Chat, user_id: int) -> dict[str, Any]:
        if chat.members.get(user_id) not in PRESENT:
            raise ValueError(f"user {user_id} is not in group {chat.id}")
        return self._known_user(user_id)

    def _creator(self, chat: Chat) -> int:
        return next((uid for uid, status in chat.members.items() if status == "creator"), 0)

    def _from_person(self, user_id: int, chat_id: int | None, content: dict[str, Any]) -> Posted:
        if chat_id is None or chat_id == user_id:
            user = self._known_user(user_id)
            return self._post_as(user, self._user_chat(user, None), content)
        chat = self._group(chat_id)
        return self._post_as(self._member(chat, user_id), chat, content)

    def _post_as(
        self,
        user: dict[str, Any],
        chat: Chat,
        content: dict[str, Any],
        reply_to: int | None = None,
        thread_id: int | None = None,
    ) -> Posted:
        """A message of `user` in `chat`, delivered if the bot may read it."""
        message: dict[str, Any] = {
            "message_id": 0,
            "from": user,
            "chat": chat.info,
            "date": unix_now(),
            **content,
        }
        if thread_id is not None:
            topic = chat.topics.get(thread_id)
            if topic is None:
                raise ValueError(f"no topic {thread_id} in chat {chat.id}")
            if topic["is_closed"] and chat.members.get(user["id"]) not in ADMINS:
                raise ValueError(f"topic {thread_id} is closed")
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = True
        if reply_to is not None:
            replied = chat.by_id.get(reply_to)
            message["reply_to_message"] = (
                replied.to_api() if replied is not None else chat.user_messages.get(reply_to)
            )
            if message["reply_to_message"] is None:
                raise ValueError(f"no message {reply_to} in chat {chat.id}")
        message_id = message["message_id"] = chat.allocate_message_id()
        chat.user_message_ids.add(message_id)
        chat.user_messages[message_id] = message
        if chat.id < 0 and not self._bot_reads(chat, message):
            return Posted(message_id, None, message)
        return Posted(message_id, self._enqueue({"message": message}, chat.id), message)

    # ----------------------------------------------------------------- over HTTP

    def _add_people_routes(self, router: web.UrlDispatcher) -> None:
        routes = [
            ("/groups", self._c_create_group),
            ("/chats/{chat_id}/members/{user_id}", self._c_member),
            ("/chats/{chat_id}/migrate", self._c_migrate),
            ("/chats/{chat_id}/posts", self._c_post),
            ("/chats/{chat_id}/topics/{thread_id}", self._c_topic),
            ("/users/{user_id}/voice", self._c_voice),
            ("/users/{user_id}/photo", self._c_photo),
            ("/users/{user_id}/document", self._c_document),
            ("/users/{user_id}/location", self._c_location),
            ("/polls/{poll_id}/votes", self._c_vote),
        ]
        for path, handler in routes:
            router.add_route("POST", CONTROL_PREFIX + path, guarded(handler))

    async def _c_create_group(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        chat_id = self.create_group(
            str(body["title"]),
            creator=int(body["creator"]),
            supergroup=bool(body.get("supergroup", False)),
            forum=bool(body.get("forum", False)),
            members=[int(user_id) for user_id in body.get("members", [])],
        )
        return json_response({"chat_id": chat_id})

    async def _c_member(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        chat_id, who = int(request.match_info["chat_id"]), request.match_info["user_id"]
        by = None if body.get("by") is None else int(body["by"])
        status = str(body["status"])
        if who == "bot":
            ids = self.set_bot_status(chat_id, status, by=by)
        else:
            ids = self.set_group_member(chat_id, int(who), status, by=by)
        return json_response({"update_ids": ids})

    async def _c_migrate(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        by = None if body.get("by") is None else int(body["by"])
        return json_response(
            {"chat_id": self.migrate_group(int(request.match_info["chat_id"]), by=by)}
        )

    async def _c_post(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        reply_to, thread_id = body.get("reply_to_message_id"), body.get("message_thread_id")
        posted = self.post_in_group(
            int(request.match_info["chat_id"]),
            int(body["user_id"]),
            str(body["text"]),
            reply_to=None if reply_to is None else int(reply_to),
            thread_id=None if thread_id is None else int(thread_id),
        )
        return json_response(posted.to_dict())

    async def _c_topic(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        chat_id, thread_id = (
            int(request.match_info["chat_id"]),
            int(request.match_info["thread_id"]),
        )
        self.set_topic(
            chat_id,
            thread_id,
            closed=bool(body.get("closed", False)),
            deleted=bool(body.get("deleted", False)),
        )
        return json_response({"topics": self.topics(chat_id)})

    async def _c_voice(self, request: web.Request) -> web.StreamResponse:
        body, user_id, chat_id = await _person_call(request)
        posted = self.send_voice(user_id, duration=int(body.get("duration", 3)), chat_id=chat_id)
        return json_response(posted.to_dict())

    async def _c_photo(self, request: web.Request) -> web.StreamResponse:
        body, user_id, chat_id = await _person_call(request)
        sizes = [(int(w), int(h)) for w, h in body.get("sizes", PHOTO_SIZES)]
        caption = body.get("caption")
        posted = self.send_photo(user_id, sizes=sizes, caption=caption, chat_id=chat_id)
        return json_response(posted.to_dict())

    async def _c_document(self, request: web.Request) -> web.StreamResponse:
        body, user_id, chat_id = await _person_call(request)
        posted = self.send_document(
            user_id,
            base64.b64decode(str(body["data_base64"])),
            file_name=str(body["file_name"]),
            mime_type=body.get("mime_type"),
            caption=body.get("caption"),
            chat_id=chat_id,
        )
        return json_response(posted.to_dict())

    async def _c_location(self, request: web.Request) -> web.StreamResponse:
        body, user_id, chat_id = await _person_call(request)
        latitude, longitude = float(body["latitude"]), float(body["longitude"])
        posted = self.send_location(user_id, latitude, longitude, chat_id=chat_id)
        return json_response(posted.to_dict())

    async def _c_vote(self, request: web.Request) -> web.StreamResponse:
        body = await request_body(request)
        option_ids = [int(i) for i in body["option_ids"]]
        ids = self.vote(int(body["user_id"]), request.match_info["poll_id"], option_ids)
        return json_response({"update_ids": ids})


async def _person_call(request: web.Request) -> tuple[dict[str, Any], int, int | None]:
    body = await request_body(request)
    chat_id = body.get("chat_id")
    return body, int(request.match_info["user_id"]), None if chat_id is None else int(chat_id)


def _captioned(content: dict[str, Any], caption: str | None) -> dict[str, Any]:
    return content if not caption else {**content, "caption": caption}


def _ids(posted: Posted) -> list[int]:
    return [] if posted.update_id is None else [posted.update_id]
