"""Splitting Telegram HTML into parts that fit a message or a caption (pure, no I/O).

Lengths are counted as Telegram counts them: UTF-16 code units of the visible text, so tags
cost nothing and `&amp;` costs one. A part never ends inside a tag or a character reference,
and every part is balanced: tags still open at a cut are closed there and opened again, with
the same attributes, at the start of the next part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024

_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)(?:\s[^<>]*)?>")
_CHAR_REF = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def utf16_len(text: str) -> int:
    """Length of `text` in UTF-16 code units, the unit Telegram counts in."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


@dataclass(frozen=True, slots=True)
class _Tag:
    raw: str
    name: str
    closing: bool


@dataclass(frozen=True, slots=True)
class _Char:
    raw: str  # as written: a character or a whole character reference
    shown: str  # what the reader sees


def _decode(reference: str) -> str:
    body = reference[1:-1]
    if body.startswith(("#x", "#X")):
        return _safe_chr(int(body[2:], 16), reference)
    if body.startswith("#"):
        return _safe_chr(int(body[1:]), reference)
    return _NAMED.get(body, reference)


def _safe_chr(code: int, fallback: str) -> str:
    if 0 < code < 0x110000 and not 0xD800 <= code <= 0xDFFF:
        return chr(code)
    return fallback


def _tokens(html: str) -> list[_Tag | _Char]:
    tokens: list[_Tag | _Char] = []
    i, n = 0, len(html)
    while i < n:
        char = html[i]
        if char == "<" and (tag := _TAG.match(html, i)) is not None:
            tokens.append(_Tag(tag.group(0), tag.group(2).lower(), tag.group(1) == "/"))
            i = tag.end()
        elif char == "&" and (ref := _CHAR_REF.match(html, i)) is not None:
            tokens.append(_Char(ref.group(0), _decode(ref.group(0))))
            i = ref.end()
        else:
            tokens.append(_Char(char, char))
            i += 1
    return tokens


def visible_length(html: str) -> int:
    """What Telegram counts against its limits: UTF-16 units of the text once tags are parsed."""
    return sum(utf16_len(t.shown) for t in _tokens(html) if isinstance(t, _Char))


def _cut(shown: list[str], units: list[int], start: int, limit: int) -> int:
    """Where the part that begins at `start` ends (an index in `shown`).

    Prefers the last paragraph break that fits, then the last line break, then the last space;
    a word longer than the limit is cut where the limit falls.
    """
    total, end = 0, start
    while end < len(shown) and total + units[end] <= limit:
        total += units[end]
        end += 1
    if end == len(shown):
        return end
    if end == start:
        return start + 1  # a limit below one character's width: never loop forever
    # The character right after the limit may itself be the separator.
    window = "".join(shown[start : end + 2])
    span = end - start
    for separator in ("\n\n", "\n"):
        at = window.rfind(separator, 1, span + len(separator))
        if at > 0:
            return start + at
    spaces = [i for i in range(1, min(span + 1, len(window))) if window[i].isspace()]
    return start + spaces[-1] if spaces else end


def _ranges(shown: list[str], first_limit: int, limit: int) -> list[tuple[int, int]]:
    """Visible-character ranges of the parts, whitespace at every cut left out."""
    units = [utf16_len(c) for c in shown]
    ranges: list[tuple[int, int]] = []
    start = 0
    while True:
        while start < len(shown) and shown[start].isspace():
            start += 1
        if start >= len(shown):
            return ranges
        end = _cut(shown, units, start, first_limit if not ranges else limit)
        stop = end
        while stop > start and shown[stop - 1].isspace():
            stop -= 1
        ranges.append((start, stop))
        start = end


def _render(tokens: list[_Tag | _Char], ranges: list[tuple[int, int]]) -> list[str]:
    """Write each range back as HTML, closing and reopening the tags a cut falls inside."""
    parts: list[str] = []
    current: list[str] | None = None
    done = False  # the current part has all its characters; only closing tags may follow
    stack: list[_Tag] = []
    part = 0
    index = 0  # visible characters seen so far

    def finish() -> None:
        nonlocal current, done
        if current is not None:
            current.extend(f"</{tag.name}>" for tag in reversed(stack))
            parts.append("".join(current))
        current, done = None, False

    for token in tokens:
        if isinstance(token, _Tag):
            if not token.closing and done:
                finish()
            if current is not None:
                current.append(token.raw)
            if token.closing:
                # Mis-nested tags are invalid for Telegram anyway; keep the stack consistent.
                for depth in range(len(stack) - 1, -1, -1):
                    if stack[depth].name == token.name:
                        del stack[depth:]
                        break
            else:
                stack.append(token)
            continue
        while part < len(ranges) and index >= ranges[part][1]:
            part += 1
            finish()
        if part < len(ranges) and ranges[part][0] <= index:
            if current is None:
                current = [tag.raw for tag in stack]
            current.append(token.raw)
            done = index == ranges[part][1] - 1
        elif current is not None:
            finish()
        index += 1
    finish()
    return parts


def split_html(html: str, limit: int = TEXT_LIMIT, *, first_limit: int | None = None) -> list[str]:
    """Split Telegram HTML into balanced parts of at most `limit` visible UTF-16 units.

    `first_limit` bounds the first part instead (a caption, with the rest sent as texts).
    A text that fits is returned unchanged; one with no visible text gives no parts.
    """
    if limit < 1 or (first_limit is not None and first_limit < 1):
        raise ValueError("limits must be positive")
    head = limit if first_limit is None else first_limit
    if utf16_len(html) <= head:
        # Every reply comes this way: no need to parse what fits even counting its markup.
        return [html] if _TAG.sub("", html).strip() else []
    tokens = _tokens(html)
    shown = [t.shown for t in tokens if isinstance(t, _Char)]
    if not "".join(shown).strip():
        return []
    if sum(utf16_len(c) for c in shown) <= head:
        return [html]
    return _render(tokens, _ranges(shown, head, limit))


def split_caption(
    html: str, *, caption_limit: int = CAPTION_LIMIT, limit: int = TEXT_LIMIT
) -> tuple[str, list[str]]:
    """A media caption that fits, and the rest of the text as messages that follow it."""
    parts = split_html(html, limit, first_limit=caption_limit)
    if not parts:
        return "", []
    return parts[0], parts[1:]


def message_parts(kind: str, html: str) -> list[tuple[str, str]]:
    """(kind, text) of each message one logical message becomes, in delivery order: a text
    split to fit, or a media's caption followed by the rest of its text."""
    if kind == "text":
        return [("text", part) for part in split_html(html)]
    caption, rest = split_caption(html)
    return [(kind, caption), *(("text", part) for part in rest)]
