"""Logging set-up; secrets such as the bot token are scrubbed from every line, tracebacks too."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from typing import TextIO

REDACTED = "[REDACTED]"


class RedactingFormatter(logging.Formatter):
    """Formats a record, then replaces every secret (and the token's secret half) in the result."""

    def __init__(self, fmt: str, secrets: Iterable[str]) -> None:
        super().__init__(fmt)
        found: set[str] = set()
        for secret in secrets:
            if secret:
                found.add(secret)
                # A token is `<bot id>:<secret>`; the bot id alone is public, the rest is not.
                _, _, tail = secret.partition(":")
                if len(tail) >= 8:
                    found.add(tail)
        self._secrets = sorted(found, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


def configure_logging(
    level: str = "INFO", *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Send logs to `stream` (stderr by default) through the redacting formatter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(
        RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiosqlite", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
