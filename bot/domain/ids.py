"""Telegram ids typed by people: whole numbers within what Telegram hands out (pure)."""

from __future__ import annotations

# Telegram's user and chat ids have at most 52 significant bits (Bot API, `User.id`).
MAX_TELEGRAM_ID = 2**52 - 1


def parse_telegram_id(text: str) -> int | None:
    """The id `text` spells (decimal digits, a minus for groups), or None if no id is spelt so."""
    digits = text[1:] if text.startswith("-") else text
    if not digits.isascii() or not digits.isdecimal():
        return None
    value = int(text)
    return value if abs(value) <= MAX_TELEGRAM_ID else None
