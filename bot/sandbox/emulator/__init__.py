"""Local Telegram Bot API emulator: an aiohttp server speaking the subset of the API aiogram uses.

Tests, the sandbox and benchmarks point a real aiogram ``Bot`` at it and act as users through
the class API (in process) or the ``/_emulator/`` control API (over HTTP).

Where things are:
- types.py: messages, files, callback answers, events, stats, chats and users as JSON
- limits.py: flood limits (429) and injected or random faults
- state.py: the memory every part shares (chats, users, the update queue, subscribers)
- the Bot API, one family a module, each method marked ``@bot_api("name")``:
  messages.py (sendMessage, sendPhoto, sendDocument, sendVoice, sendLocation, deleteMessage,
  sendChatAction), polls.py (sendPoll, stopPoll),
  copies.py (copyMessage), edits.py (editMessage*), callbacks.py (answerCallbackQuery),
  groups.py (getChat, getChatMember, getChatAdministrators, leaveChat, create/close/reopen/
  deleteForumTopic),
  files.py (getFile, downloads), profile.py (getMe, *MyCommands, close, logOut), updates.py
  (getUpdates, *Webhook*; ``allowed_updates`` drops the kinds the bot did not ask for, as
  Telegram does)
- control.py: acting as users in private chats and observing the bot, in process and under
  /_emulator/
- people.py: groups and what people send besides private texts (below)
- saving.py: the memory as JSON, so that a restarted sandbox goes on where it stopped
- server.py: ``BotAPIEmulator`` (all of the above over HTTP) and the standalone command

Groups and people (people.py), in process and as POST under /_emulator/ (JSON bodies):
- ``create_group(title, creator=, supergroup=, forum=, members=)``: ``/groups`` {title,
  creator, supergroup, forum, members} -> {chat_id}; the bot is not in it yet
- ``set_bot_status(chat, status, by=)`` (member, administrator, left, kicked: a my_chat_member
  update, and the service message of its joining) and ``set_group_member(chat, user, status,
  by=)`` (new_chat_members / left_chat_member service messages): ``/chats/{chat}/members/
  {user or "bot"}`` {status, by} -> {update_ids}
- ``migrate_group(chat, by=)``: ``/chats/{chat}/migrate`` {by} -> {chat_id} of the new
  supergroup; service messages migrate_to_chat_id and migrate_from_chat_id; the old id then
  answers 400 "group chat was upgraded to a supergroup chat" with parameters.migrate_to_chat_id
- ``post_in_group(chat, user, text, reply_to=, thread_id=)``: ``/chats/{chat}/posts``
  {user_id, text, reply_to_message_id, message_thread_id} -> {message_id, update_id, message};
  privacy mode: unless it is an admin, the bot receives only commands (``/bind@<bot> x``, or
  without a bot's name), replies to its messages, mentions of it and service messages
  (update_id null otherwise)
- ``set_topic(chat, thread_id, closed=, deleted=)``: ``/chats/{chat}/topics/{thread_id}``
  {closed, deleted} -> {topics}: an admin closes, reopens or deletes a forum topic; ``topics(chat)``
  lists them
- ``send_voice``, ``send_photo`` (several sizes, a file id each), ``send_document``,
  ``send_location``, ``send_sticker`` (in process only) (private chat unless chat_id):
  ``/users/{user}/voice`` {duration},
  ``/photo`` {sizes, caption}, ``/document`` {data_base64, file_name, mime_type, caption},
  ``/location`` {latitude, longitude}, each with an optional chat_id; getFile serves their files
- ``vote(user, poll_id, option_ids)``: ``/polls/{poll_id}/votes`` {user_id, option_ids} ->
  {update_ids}: a ``poll`` update with the totals, and ``poll_answer`` for named polls only
- ``group_info(chat)`` (title, forum, topics, members' statuses) and ``remember_user(user,
  first_name=)`` serve the sandbox page, which shows a committee group beside the phones.
"""

from bot.sandbox.emulator.callbacks import QUERY_TOO_OLD
from bot.sandbox.emulator.edits import NOT_MODIFIED
from bot.sandbox.emulator.limits import RandomFaults, RateLimits
from bot.sandbox.emulator.params import BAD_BUTTON, BAD_MARKUP
from bot.sandbox.emulator.people import Posted
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
    "Posted",
    "RandomFaults",
    "RateLimits",
    "SentMessage",
    "StoredFile",
    "UnknownMessageError",
    "main",
    "serve_until_signalled",
]
