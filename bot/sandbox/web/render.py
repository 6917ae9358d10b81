"""Bot messages as the page shows them: safe HTML built from Telegram's message entities.

Telegram apps draw a message from its plain text and entities, never from the HTML the bot
sent, so every character of the text is escaped and only the tags of Telegram's formatting are
produced; links keep only web, mail and tg: addresses.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from bot.sandbox.emulator import SentMessage
from bot.sandbox.htmlcheck import utf16_len

# Any token of the right shape opens the emulator's file route; the bot's own is not exposed.
FILE_TOKEN = "0:sandbox"
_SAFE_SCHEMES = ("http://", "https://", "mailto:", "tg://")
_COMMAND = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,32}(?![\w/])")
# What a person's message may carry, in the order it names the message's kind.
_PERSON_KINDS = ("text", "voice", "photo", "location", "document")
_POLL_FIELDS = ("id", "question", "total_voter_count", "is_anonymous", "is_closed")
# Addresses Telegram's servers mark as links in plain text (trailing punctuation left out).
_URL = re.compile(r"(?<![\w/@.])(?:https?://|t\.me/)[^\s<>\"]*[^\s<>\".,;:!?)\]]")
_NO_COMMANDS_IN = frozenset({"code", "pre", "text_link", "url", "email"})
_TAGS = {
    "bold": ("<b>", "</b>"),
    "italic": ("<i>", "</i>"),
    "underline": ("<u>", "</u>"),
    "strikethrough": ("<s>", "</s>"),
    "code": ("<code>", "</code>"),
    "spoiler": ('<span class="tg-spoiler">', "</span>"),
    "blockquote": ("<blockquote>", "</blockquote>"),
    "expandable_blockquote": ('<blockquote class="expandable">', "</blockquote>"),
    "mention": ('<span class="tg-mention">', "</span>"),
    "hashtag": ('<span class="tg-hashtag">', "</span>"),
    "cashtag": ('<span class="tg-hashtag">', "</span>"),
}


@dataclass
class _Span:
    start: int
    end: int
    entity: dict[str, Any]


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _safe_url(url: str) -> str | None:
    return url if url.lower().startswith(_SAFE_SCHEMES) else None


def _open_close(entity: dict[str, Any], covered: str) -> tuple[str, str]:
    kind = str(entity.get("type", ""))
    if kind in _TAGS:
        return _TAGS[kind]
    if kind == "pre":
        language = entity.get("language")
        lang = f' class="language-{_attr(str(language))}"' if language else ""
        return f"<pre><code{lang}>", "</code></pre>"
    if kind in ("text_link", "url"):
        target = _safe_url(str(entity.get("url") or covered))
        if target is None:
            return "", ""
        return f'<a href="{_attr(target)}" target="_blank" rel="noopener noreferrer">', "</a>"
    if kind == "email":
        return f'<a href="mailto:{_attr(quote(covered, safe="@.+-_"))}">', "</a>"
    if kind == "bot_command":
        # Telegram makes a /command in a message tappable: it sends the command.
        return (
            f'<button type="button" class="tg-command" data-command="{_attr(covered)}">',
            "</button>",
        )
    return "", ""


def _utf16_index(text: str) -> list[int]:
    """Python index of each UTF-16 offset boundary (entities count in UTF-16 code units)."""
    index: list[int] = []
    for position, char in enumerate(text):
        index.append(position)
        if ord(char) > 0xFFFF:
            index.append(position)  # the second half of a surrogate pair
    index.append(len(text))
    return index


def entities_to_html(text: str, entities: list[dict[str, Any]]) -> str:
    """Escaped `text` with Telegram's formatting tags around each entity (nested properly)."""
    if not entities:
        return html.escape(text, quote=False)
    index = _utf16_index(text)
    last = len(index) - 1
    spans: list[_Span] = []
    for entity in entities:
        try:
            offset, length = int(entity["offset"]), int(entity["length"])
        except (KeyError, TypeError, ValueError):
            continue
        if length <= 0 or offset < 0 or offset >= last:
            continue
        spans.append(_Span(index[offset], index[min(offset + length, last)], entity))
    # outer entities first; an entity crossing its parent's end is cut there
    spans.sort(key=lambda s: (s.start, -s.end))
    out: list[str] = []
    stack: list[tuple[_Span, str]] = []
    position = 0

    def emit_until(point: int) -> None:
        nonlocal position
        if point > position:
            out.append(html.escape(text[position:point], quote=False))
            position = point

    def close_until(point: int) -> None:
        while stack and stack[-1][0].end <= point:
            span, closing = stack.pop()
            emit_until(span.end)
            out.append(closing)

    for span in spans:
        close_until(span.start)
        emit_until(span.start)
        if stack:
            span.end = min(span.end, stack[-1][0].end)
        opening, closing = _open_close(span.entity, text[span.start : span.end])
        out.append(opening)
        stack.append((span, closing))
    close_until(len(text))
    emit_until(len(text))
    return "".join(out)


def with_commands(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add the bot_command entities Telegram's servers detect in a message's text."""
    taken = [
        (int(e.get("offset", 0)), int(e.get("offset", 0)) + int(e.get("length", 0)))
        for e in entities
        if e.get("type") in _NO_COMMANDS_IN or e.get("type") == "bot_command"
    ]
    found: list[dict[str, Any]] = []
    for match in _COMMAND.finditer(text):
        start = utf16_len(text[: match.start()])
        end = start + utf16_len(match.group())
        if not any(start < stop and begin < end for begin, stop in taken):
            found.append({"type": "bot_command", "offset": start, "length": end - start})
    return [*entities, *found] if found else entities


def with_links(text: str, entities: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add the url entities Telegram's servers detect in a message's text (a link the bot
    wrote without a tag is tappable in Telegram's apps all the same)."""
    taken = [
        (int(e.get("offset", 0)), int(e.get("offset", 0)) + int(e.get("length", 0)))
        for e in entities
        if e.get("type") in _NO_COMMANDS_IN
    ]
    found: list[dict[str, Any]] = []
    for match in _URL.finditer(text):
        start = utf16_len(text[: match.start()])
        end = start + utf16_len(match.group())
        if not any(start < stop and begin < end for begin, stop in taken):
            url = match.group() if "://" in match.group() else "https://" + match.group()
            found.append({"type": "url", "offset": start, "length": end - start, "url": url})
    return [*entities, *found] if found else entities


def file_url(message: SentMessage) -> str | None:
    """Where the page downloads the message's file from (the emulator's file route)."""
    stored = message.file
    if stored is None or stored.data is None:
        return None
    return f"/file/bot{FILE_TOKEN}/{quote(stored.file_path)}"


def _buttons(markup: dict[str, Any] | None) -> list[list[dict[str, str]]]:
    rows = (markup or {}).get("inline_keyboard") or []
    shown: list[list[dict[str, str]]] = []
    for row in rows:
        buttons: list[dict[str, str]] = []
        for button in row:
            item = {"text": str(button.get("text", ""))}
            if isinstance(button.get("callback_data"), str):
                item["data"] = button["callback_data"]
            elif isinstance(button.get("url"), str) and _safe_url(button["url"]):
                item["url"] = button["url"]
            buttons.append(item)
        shown.append(buttons)
    return shown


def _reply_keyboard(markup: dict[str, Any] | None) -> dict[str, Any] | None:
    """The reply keyboard a message sets: rows of labels, or {"remove": True}."""
    if not markup:
        return None
    if markup.get("remove_keyboard"):
        return {"remove": True}
    rows = markup.get("keyboard")
    if not isinstance(rows, list):
        return None
    labels = [
        [str(b.get("text", "")) if isinstance(b, dict) else str(b) for b in row]
        for row in rows
        if isinstance(row, list)
    ]
    return {"rows": labels, "one_time": bool(markup.get("one_time_keyboard"))}


def message_view(message: SentMessage) -> dict[str, Any]:
    """A bot message as JSON for the page."""
    return {
        "from": "bot",
        "message_id": message.message_id,
        "kind": message.kind,
        "html": entities_to_html(
            message.plain_text,
            with_commands(message.plain_text, with_links(message.plain_text, message.entities)),
        ),
        "date": message.date,
        "edited": message.edited,
        "buttons": _buttons(message.reply_markup),
        "reply_keyboard": _reply_keyboard(message.reply_markup),
        "file_url": file_url(message),
        "file_name": message.file_name,
        "file_size": None if message.file is None else message.file.file_size,
        "thread_id": message.thread_id,
        **_content_view(message.content or {}),
    }


def person_view(message: Mapping[str, Any], update_id: int | None) -> dict[str, Any] | None:
    """A person's message as JSON for the page (None for a service message: someone joined).

    `update_id` is None for a group message the bot does not receive (privacy mode).
    """
    kind = next((key for key in _PERSON_KINDS if key in message), None)
    if kind is None:
        return None
    sender = message.get("from") or {}
    entry: dict[str, Any] = {
        "from": "user",
        "update_id": update_id,
        "message_id": message.get("message_id"),
        "kind": kind,
        "text": str(message.get("text") or message.get("caption") or ""),
        "date": message.get("date"),
        "sender": str(sender.get("first_name") or ""),
        "thread_id": message.get("message_thread_id"),
        **_content_view(message),
    }
    if kind == "document":
        entry["file_name"] = message["document"].get("file_name")
    return entry


def _content_view(content: Mapping[str, Any]) -> dict[str, Any]:
    """A poll, a voice note or a place, as the page draws them (files stay with the emulator)."""
    shown: dict[str, Any] = {}
    poll = content.get("poll")
    if isinstance(poll, dict):
        shown["poll"] = {key: poll.get(key) for key in _POLL_FIELDS}
        shown["poll"]["options"] = [
            {"text": option["text"], "voter_count": option["voter_count"]}
            for option in poll["options"]
        ]
    voice = content.get("voice")
    if isinstance(voice, dict):
        shown["voice"] = {"duration": int(voice.get("duration") or 0)}
    location = content.get("location")
    if isinstance(location, dict):
        shown["location"] = {key: location.get(key) for key in ("latitude", "longitude")}
    return shown
