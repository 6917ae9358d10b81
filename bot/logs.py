"""Logging set-up; secrets such as the bot token are scrubbed from every line, tracebacks too."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
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
        return self.scrub(super().format(record))

    def scrub(self, text: str) -> str:
        """`text` with every secret replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return text


class JsonFormatter(RedactingFormatter):
    """One JSON object per line (LOG_FORMAT=json): time, level, logger, message, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # Scrubbed field by field, before JSON escaping could hide a secret's characters.
        return json.dumps({key: self.scrub(value) for key, value in entry.items()})


def configure_logging(
    level: str = "INFO",
    *,
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    json_lines: bool = False,
) -> None:
    """Send logs to `stream` (stderr by default) through the redacting formatter."""
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonFormatter if json_lines else RedactingFormatter
    handler.setFormatter(formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiosqlite", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
