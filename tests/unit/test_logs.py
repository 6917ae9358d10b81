"""The bot token is scrubbed from log lines, their arguments and their tracebacks."""

from __future__ import annotations

import io
import logging

from bot.cli import log_secrets
from bot.config import Settings
from bot.logs import REDACTED, RedactingFormatter

TOKEN = "987654:AAH-very-secret-part"


def _logger(stream: io.StringIO) -> logging.Logger:
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(levelname)s %(message)s", [TOKEN]))
    logger = logging.getLogger("test.redaction")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def test_token_in_message_arguments_and_traceback_is_redacted() -> None:
    stream = io.StringIO()
    logger = _logger(stream)
    logger.warning("calling https://api.telegram.org/bot%s/getMe", TOKEN)
    try:
        raise RuntimeError(f"failed POST /bot{TOKEN}/sendMessage")
    except RuntimeError:
        logger.exception("request failed")
    logger.info("only the secret half: %s", TOKEN.split(":")[1])
    output = stream.getvalue()
    assert "very-secret-part" not in output
    assert output.count(REDACTED) == 3
    assert "Traceback" in output


def test_settings_never_show_the_token() -> None:
    settings = Settings(_env_file=None, bot_token=TOKEN)
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings.model_dump())
    assert settings.token() == TOKEN


def test_the_anonymity_key_and_webhook_secret_are_scrubbed_like_the_token() -> None:
    key = "anonymity-key-never-in-a-log-0123456789"
    settings = Settings(
        _env_file=None,
        bot_token=TOKEN,
        anonymity_key=key,
        webhook_url="https://bot.example.org/hook",
        webhook_secret="hook-secret-value",
    )
    assert key not in repr(settings)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter("%(message)s", log_secrets(settings, webhook=True)))
    logger = logging.getLogger("test.redaction.keys")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.warning("key %s, secret %s, token %s", key, "hook-secret-value", TOKEN)
    output = stream.getvalue()
    assert key not in output
    assert "hook-secret-value" not in output
    assert "very-secret-part" not in output
