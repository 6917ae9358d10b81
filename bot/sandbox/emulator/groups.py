"""Groups, supergroups and forum topics as the bot sees them: getChat, getChatMember,
getChatAdministrators, leaveChat, createForumTopic, closeForumTopic, reopenForumTopic and
deleteForumTopic.

Who is in a group, and the groups themselves, come from the control API (group_control.py).
"""

from __future__ import annotations

from typing import Any

from bot.sandbox.emulator.params import Params, bot_api
from bot.sandbox.emulator.state import EmulatorState
from bot.sandbox.emulator.types import ADMINS, APIError, Chat, chat_member

DEFAULT_TOPIC_COLOR = 7322096  # Telegram's first topic icon colour (0x6FB9F0)
TOPIC_COLORS = frozenset({7322096, 16766590, 13338331, 9367192, 16749490, 16478047})
_NO_GIFTS = {
    "unlimited_gifts": False,
    "limited_gifts": False,
    "unique_gifts": False,
    "premium_subscription": False,
    "gifts_from_channels": False,
}


class Groups(EmulatorState):
    """The chats' full info, their members and their forum topics."""

    @bot_api("getChat")
    async def _get_chat(self, p: Params) -> Any:
        chat = self._target_chat(p)
        return {
            **chat.info,
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": _NO_GIFTS,
        }

    @bot_api("getChatMember")
    async def _get_chat_member(self, p: Params) -> Any:
        chat = self._target_chat(p)
        user_id = p.get_int("user_id")
        if user_id is None:
            raise APIError(400, "Bad Request: invalid user_id specified")
        if user_id == p.bot_id:
            return chat_member(chat.member_status, self._bot_user(p.bot_id))
        if chat.id > 0:
            if user_id != chat.id:
                raise APIError(400, "Bad Request: user not found")
            return chat_member("member", self._known_user(user_id))
        user = self._users.get(user_id)
        if user is None:
            raise APIError(400, "Bad Request: user not found")
        return chat_member(chat.members.get(user_id, "left"), user)

    @bot_api("getChatAdministrators")
    async def _get_chat_administrators(self, p: Params) -> Any:
        chat = self._target_chat(p)
        if chat.id > 0:
            raise APIError(400, "Bad Request: there are no administrators in the private chat")
        admins = [
            chat_member(status, self._known_user(user_id))
            for user_id, status in chat.members.items()
            if status in ADMINS
        ]
        if chat.member_status in ADMINS:
            admins.append(chat_member(chat.member_status, self._bot_user(p.bot_id)))
        return admins

    @bot_api("leaveChat")
    async def _leave_chat(self, p: Params) -> Any:
        chat = self._target_chat(p)
        if chat.id > 0:
            raise APIError(400, "Bad Request: chat member status can't be changed in private chats")
        self._set_bot_status(chat, "left", self._bot_user(p.bot_id))
        return True

    @bot_api("createForumTopic")
    async def _create_forum_topic(self, p: Params) -> Any:
        chat = self._forum(p)
        if chat.member_status not in ADMINS:
            raise APIError(400, "Bad Request: not enough rights to create a topic")
        name = (p.get_str("name") or "").strip()
        if not name:
            raise APIError(400, "Bad Request: TOPIC_TITLE_EMPTY")
        color = p.get_int("icon_color") or DEFAULT_TOPIC_COLOR
        if color not in TOPIC_COLORS:
            raise APIError(400, "Bad Request: TOPIC_COLOR_INVALID")
        return self._open_topic(chat, name, color)

    def _open_topic(self, chat: Chat, name: str, color: int) -> dict[str, Any]:
        """A new topic; its id is that of the service message opening it."""
        thread_id = chat.allocate_message_id()
        chat.topics[thread_id] = {
            "message_thread_id": thread_id,
            "name": name,
            "icon_color": color,
            "is_closed": False,
        }
        return _forum_topic(chat.topics[thread_id])

    @bot_api("closeForumTopic")
    async def _close_forum_topic(self, p: Params) -> Any:
        return self._set_topic_closed(p, closed=True)

    @bot_api("reopenForumTopic")
    async def _reopen_forum_topic(self, p: Params) -> Any:
        return self._set_topic_closed(p, closed=False)

    def _set_topic_closed(self, p: Params, *, closed: bool) -> bool:
        chat = self._forum(p)
        topic = chat.topics.get(p.get_int("message_thread_id") or 0)
        if topic is None:
            raise APIError(400, "Bad Request: TOPIC_ID_INVALID")
        if chat.member_status not in ADMINS:
            raise APIError(400, "Bad Request: CHAT_ADMIN_REQUIRED")
        if topic["is_closed"] == closed:
            raise APIError(400, "Bad Request: TOPIC_NOT_MODIFIED")
        topic["is_closed"] = closed
        return True

    @bot_api("deleteForumTopic")
    async def _delete_forum_topic(self, p: Params) -> Any:
        chat = self._forum(p)
        thread_id = p.get_int("message_thread_id") or 0
        if thread_id not in chat.topics:
            raise APIError(400, "Bad Request: TOPIC_ID_INVALID")
        if chat.member_status not in ADMINS:
            raise APIError(400, "Bad Request: CHAT_ADMIN_REQUIRED")
        del chat.topics[thread_id]
        return True

    def _forum(self, p: Params) -> Chat:
        chat = self._target_chat(p)
        if not chat.info.get("is_forum"):
            raise APIError(400, "Bad Request: the chat is not a forum")
        return chat


def _forum_topic(topic: dict[str, Any]) -> dict[str, Any]:
    """Telegram ForumTopic JSON."""
    return {key: topic[key] for key in ("message_thread_id", "name", "icon_color")}
