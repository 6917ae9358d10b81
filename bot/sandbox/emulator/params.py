"""A Bot API call in and out: its parameters read from the request, the checks sends and edits
share (text and parse_mode, keyboards, replies), and JSON answers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import BodyPartReader, hdrs, web

from bot.sandbox.emulator.types import (
    CALLBACK_DATA_LIMIT,
    CAPTION_LIMIT,
    TEXT_LIMIT,
    APIError,
    Chat,
)
from bot.sandbox.htmlcheck import HTMLParseError, parse_telegram_html, utf16_len

BAD_MARKUP = "Bad Request: can't parse reply keyboard markup JSON object"
BAD_BUTTON = "Bad Request: can't parse inline keyboard button: "
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
_BOT_API_NAME = "bot_api_name"

Method = TypeVar("Method", bound=Callable[..., Awaitable[Any]])


def bot_api(name: str) -> Callable[[Method], Method]:
    """Mark an emulator method as the emulation of the Bot API method `name`."""

    def mark(method: Method) -> Method:
        setattr(method, _BOT_API_NAME, name)
        return method

    return mark


def bot_api_name(attribute: object) -> str | None:
    """The Bot API method name `attribute` was marked with by bot_api(), if any."""
    name = getattr(attribute, _BOT_API_NAME, None)
    return name if isinstance(name, str) else None


def dumps(payload: Any) -> bytes:
    """Compact UTF-8 JSON, as Telegram writes it."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(payload: Any, status: int = 200) -> web.Response:
    """An HTTP answer carrying `payload` as JSON."""
    return web.Response(body=dumps(payload), status=status, content_type="application/json")


@dataclass
class Upload:
    """A file sent in a multipart request."""

    filename: str
    data: bytes
    content_type: str | None


@dataclass
class Params:
    """The parameters of one call, from the query string and the body."""

    values: dict[str, Any]
    files: dict[str, Upload]
    bot_id: int

    def get_str(self, name: str) -> str | None:
        """The parameter as a string, if given."""
        value = self.values.get(name)
        if value is None:
            return None
        return value if isinstance(value, str) else str(value)

    def get_int(self, name: str) -> int | None:
        """The parameter as an integer, if given and one."""
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
        """The parameter as a flag (absent: False)."""
        value = self.values.get(name)
        if isinstance(value, str):
            return value.strip().lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str, error: str) -> Any:
        """The parameter decoded from JSON when sent as a string; `error` if it is not JSON."""
        value = self.values.get(name)
        if not isinstance(value, str):
            return value
        if not value:
            return None
        try:
            return json.loads(value)
        except ValueError:
            raise APIError(400, error) from None


async def read_params(request: web.Request, bot_id: int) -> Params:
    """The call's parameters, from a JSON, multipart or form body and the query string."""
    values: dict[str, Any] = dict(request.query)
    files: dict[str, Upload] = {}
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
                    files[part.name] = Upload(part.filename, data, ctype)
                else:
                    values[part.name] = await part.text()
        else:
            form = await request.post()
            values.update((k, v) for k, v in form.items() if isinstance(v, str))
    return Params(values, files, bot_id)


def render(
    p: Params, text: str, *, caption: bool, strict_html: bool
) -> tuple[str, list[dict[str, Any]]]:
    """What the user sees of `text` under the call's parse_mode, and its entities."""
    parse_mode = p.get_str("parse_mode")
    entities: list[dict[str, Any]] = []
    if parse_mode:
        mode = parse_mode.lower()
        if mode == "html":
            try:
                parsed = parse_telegram_html(text, strict_ampersand=strict_html)
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


def reply_markup(p: Params) -> dict[str, Any] | None:
    """The call's reply_markup, its inline keyboard checked as Telegram does."""
    markup = p.get_json("reply_markup", BAD_MARKUP)
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise APIError(400, BAD_MARKUP)
    if "inline_keyboard" in markup:
        _check_inline_keyboard(markup["inline_keyboard"])
    return markup


def check_reply(chat: Chat, p: Params) -> None:
    """Refuse a reply to a message the chat does not hold, unless sending without it is allowed."""
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
