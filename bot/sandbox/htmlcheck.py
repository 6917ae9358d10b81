"""Telegram HTML parse-mode checker that mirrors the Bot API server's parser (tdlib)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)

_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
    "tg-emoji": "custom_emoji",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_SPECIAL = re.compile(r"[<&]")
_SPACES = frozenset(" \t\r\n\f\v")
_HEX = frozenset("0123456789abcdefABCDEF")
_NAME_TOKEN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")


class HTMLParseError(ValueError):
    """Markup that Telegram would reject; the message is Telegram's reason."""


@dataclass
class ParsedHTML:
    """Visible text and message entities produced by parsing Telegram HTML."""

    text: str
    entities: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class _Open:
    tag: str
    argument: str
    offset: int
    expandable: bool


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit Telegram counts in."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(html: str, index: int) -> int:
    return len(html[:index].encode("utf-8", "surrogatepass"))


def _decode_entity(html: str, pos: int, strict: bool) -> tuple[str, int] | None:
    """Decode the character reference at `pos` (an '&'); return (char, end) or None."""
    n = len(html)
    end = pos + 1
    if end < n and html[end] == "#":
        end += 1
        if end < n and html[end] in "xX":
            end += 1
            start = end
            while end < n and html[end] in _HEX:
                end += 1
            digits, base = html[start:end], 16
        else:
            start = end
            while end < n and "0" <= html[end] <= "9":
                end += 1
            digits, base = html[start:end], 10
        if not digits or end - pos >= 10:
            return None
        code = int(digits, base)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        start = end
        while end < n and html[end].isascii() and html[end].isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(html[start:end])
        if named is None:
            return None
        char = named
    if end < n and html[end] == ";":
        end += 1
    elif strict:
        # tdlib tolerates a missing ';' but Telegram documents it as required
        return None
    return char, end


def _entity(open_tag: _Open, length: int) -> dict[str, Any] | None:
    kind = _ENTITY_TYPES[open_tag.tag]
    entity: dict[str, Any] = {"type": kind, "offset": open_tag.offset, "length": length}
    if kind == "text_link":
        if not open_tag.argument:
            return None
        entity["url"] = open_tag.argument
    elif kind == "custom_emoji":
        if not open_tag.argument:
            return None
        entity["custom_emoji_id"] = open_tag.argument
    elif kind == "code" and open_tag.argument:
        entity["language"] = open_tag.argument
    elif kind == "blockquote" and open_tag.expandable:
        entity["type"] = "expandable_blockquote"
    return entity


def parse_telegram_html(html: str, *, strict_ampersand: bool = True) -> ParsedHTML:
    """Parse Telegram HTML into visible text and entities or raise HTMLParseError.

    With `strict_ampersand` a '&' that does not start a complete character reference is
    rejected, as Telegram's documentation requires (the real server lets it through).
    """
    out: list[str] = []
    entities: list[dict[str, Any]] = []
    stack: list[_Open] = []
    offset = 0
    n = len(html)
    i = 0

    def fail(reason: str, index: int | None = None) -> HTMLParseError:
        if index is None:
            return HTMLParseError(reason)
        return HTMLParseError(f"{reason} at byte offset {_byte_offset(html, index)}")

    while i < n:
        match = _SPECIAL.search(html, i)
        j = n if match is None else match.start()
        if j > i:
            chunk = html[i:j]
            out.append(chunk)
            offset += utf16_len(chunk)
            i = j
            continue
        if html[i] == "&":
            decoded = _decode_entity(html, i, strict_ampersand)
            if decoded is None:
                if strict_ampersand:
                    raise fail('Character "&" must be escaped as "&amp;"', i)
                out.append("&")
                offset += 1
                i += 1
                continue
            char, i = decoded
            out.append(char)
            offset += utf16_len(char)
            continue

        begin = i
        i += 1
        if i < n and html[i] == "/":
            if not stack:
                raise fail("Unexpected end tag", begin)
            i += 1
            name_start = i
            while i < n and html[i] not in _SPACES and html[i] != ">":
                i += 1
            end_name = html[name_start:i].lower()
            while i < n and html[i] in _SPACES:
                i += 1
            if i >= n or html[i] != ">":
                raise fail("Unclosed end tag", begin)
            i += 1
            open_tag = stack[-1]
            if end_name and end_name != open_tag.tag:
                raise fail(
                    f"Unmatched end tag at byte offset {_byte_offset(html, begin)}, "
                    f'expected "</{open_tag.tag}>", found "</{end_name}>"'
                )
            stack.pop()
            length = offset - open_tag.offset
            if length <= 0:
                continue
            if (
                open_tag.tag == "pre"
                and entities
                and entities[-1]["type"] == "code"
                and entities[-1]["offset"] == open_tag.offset
                and entities[-1]["length"] == length
                and "language" in entities[-1]
            ):
                entities[-1]["type"] = "pre"
                continue
            entity = _entity(open_tag, length)
            if entity is not None:
                entities.append(entity)
            continue

        while i < n and html[i] not in _SPACES and html[i] != ">":
            i += 1
        if i >= n:
            raise fail("Unclosed start tag", begin)
        tag = html[begin + 1 : i].lower()
        if tag not in SUPPORTED_TAGS:
            raise fail(f'Unsupported start tag "{tag}"', begin)
        argument = ""
        expandable = False
        while True:
            while i < n and html[i] in _SPACES:
                i += 1
            if i >= n:
                raise fail("Unclosed start tag", begin)
            if html[i] == ">":
                i += 1
                break
            name_start = i
            while i < n and html[i] not in _SPACES and html[i] not in "=>":
                i += 1
            attribute = html[name_start:i].lower()
            if not attribute:
                raise fail(f'Empty attribute name in the tag "{tag}"', begin)
            while i < n and html[i] in _SPACES:
                i += 1
            if i >= n:
                raise fail("Unclosed start tag", begin)
            if html[i] != "=":
                if tag == "blockquote" and attribute == "expandable":
                    expandable = True
                    continue
                raise fail(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
                )
            i += 1
            while i < n and html[i] in _SPACES:
                i += 1
            if i >= n:
                raise fail("Unclosed start tag", begin)
            if html[i] in "'\"":
                quote = html[i]
                i += 1
                parts: list[str] = []
                while i < n and html[i] != quote:
                    if html[i] == "&":
                        decoded = _decode_entity(html, i, False)
                        if decoded is not None:
                            parts.append(decoded[0])
                            i = decoded[1]
                            continue
                    parts.append(html[i])
                    i += 1
                if i >= n:
                    raise fail("Unclosed start tag", begin)
                i += 1
                value = "".join(parts)
            else:
                token_start = i
                while i < n and html[i] in _NAME_TOKEN:
                    i += 1
                value = html[token_start:i].lower()
                if i >= n or (html[i] not in _SPACES and html[i] != ">"):
                    raise fail("Unexpected end of name token", token_start)
            if tag == "a" and attribute == "href":
                argument = value
            elif tag == "code" and attribute == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and attribute == "emoji-id":
                argument = value
            elif tag == "blockquote" and attribute == "expandable":
                expandable = True
        if tag == "span" and argument != "spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"', begin)
        stack.append(_Open(tag, argument, offset, expandable))

    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedHTML("".join(out), entities)


def check_telegram_html(html: str, *, strict_ampersand: bool = True) -> str | None:
    """Return Telegram's reason for rejecting `html`, or None if it would be accepted."""
    try:
        parse_telegram_html(html, strict_ampersand=strict_ampersand)
    except HTMLParseError as exc:
        return str(exc)
    return None


def visible_text(html: str) -> str:
    """Text a user sees for `html` (raises HTMLParseError for markup Telegram rejects)."""
    return parse_telegram_html(html, strict_ampersand=False).text
