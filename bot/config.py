"""Settings, read once from the environment and `.env`, then passed down explicitly."""

from __future__ import annotations

import os
import re
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_API_URL = "https://api.telegram.org"


def default_key_file() -> Path:
    """$XDG_CONFIG_HOME/partnerbot/anonymity.key (~/.config/...): apart from the data."""
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "partnerbot" / "anonymity.key"


class Settings(BaseSettings):
    """Everything partnerbot can be told from outside."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    bot_token: SecretStr | None = None
    database_url: str = "sqlite:///data/partnerbot.db"
    database_schema: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    # PostgreSQL: how long to wait for a connection (handshake included) and for a statement;
    # each instance opens at most DATABASE_POOL_SIZE + DATABASE_MAX_OVERFLOW connections.
    database_connect_timeout_s: float = Field(default=10.0, gt=0)
    database_statement_timeout_s: float = Field(default=30.0, gt=0)
    database_pool_size: int = Field(default=10, ge=1)
    database_max_overflow: int = Field(default=10, ge=0)
    telegram_api_url: str = DEFAULT_API_URL
    telegram_timeout: float = Field(default=30.0, gt=0)
    default_locale: str = "en"
    partnership_timezone: str = "UTC"
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    flows_dir: Path = Path("flows")
    locales_dir: Path = Path("locales")
    log_level: str = "INFO"
    request_retries: int = Field(default=4, ge=0, le=10)
    update_concurrency: int = Field(default=16, ge=1, le=1000)
    # Polling: how long an update whose database work fails for a passing reason is tried
    # again before the member is told (by webhook, Telegram delivers it again instead).
    update_retry_s: float = Field(default=30.0, ge=0)

    # Delivery (bot/delivery): Telegram's limits, all configurable.
    send_rate_per_s: float = Field(default=30.0, gt=0)
    send_per_chat_per_s: float = Field(default=1.0, gt=0)
    send_group_per_min: float = Field(default=20.0, gt=0)
    paid_broadcast: bool = False
    paid_broadcast_rate_per_s: float = Field(default=1000.0, gt=0)
    # A claimed row is reserved for its sender this long; the sender renews the lease three
    # times per period, so a dead sender's rows are queued again within this many seconds.
    send_lease_s: float = Field(default=6.0, gt=0)
    send_max_attempts: int = Field(default=5, ge=1, le=50)
    send_concurrency: int = Field(default=8, ge=1, le=256)
    # Names this instance on the outbox leases it takes, so that, started again after a crash,
    # it takes its rows back at once instead of waiting for their leases to end. Unique among
    # the instances sharing a database and kept across restarts; by default the host's name
    # and WEBHOOK_PORT (a container's host name is its own).
    instance_name: str = Field(default="", max_length=100)

    # Seals the way back to anonymous raisers and derives pseudonyms in exports. Every instance
    # of one deployment needs the same key; without one, a key file is created on first start,
    # never in the database's directory (one backup would hold both).
    anonymity_key: SecretStr | None = None
    anonymity_key_file: Path = Field(default_factory=default_key_file)
    # Figures over fewer respondents than this are suppressed in reports (k-anonymity).
    report_min_group: int = Field(default=5, ge=2)
    # Free-text comments are quoted or exported only among at least this many respondents.
    report_min_commenters: int = Field(default=10, ge=2)

    progress_interval_s: float = Field(default=3.0, gt=0)

    # An urgent concern nobody answered or moved on for this many hours goes to every
    # coordinator (once).
    urgent_escalation_h: float = Field(default=48.0, gt=0)
    # Coordinators are told when a group's trust index (as reports show it) falls by this much
    # from one period to the next.
    trust_alert_drop: float = Field(default=0.5, gt=0)

    # Scheduled check-ins (bot/scheduling): how often reminders, closing windows, members who
    # finished a conversation and relative events are looked at, in seconds.
    checkin_sweep_s: float = Field(default=60.0, gt=0)

    # Members are not messaged in these local hours unless a message is urgent.
    quiet_hours_start: time = time(21, 0)
    quiet_hours_end: time = time(8, 0)
    # Champions (bot/services/champions.py): a key person with no activity for this many days
    # is quiet, and coordinators are told.
    champion_quiet_days: int = Field(default=21, ge=1, le=365)

    # Production and scale-out (bot/cluster, bot/ops): `partnerbot run --webhook` receives
    # updates on WEBHOOK_HOST:WEBHOOK_PORT at WEBHOOK_URL's path; Telegram must send the secret.
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_host: str = "0.0.0.0"
    webhook_port: int = Field(default=8080, ge=1, le=65535)
    # On SIGTERM in webhook mode, /healthz answers 503 this long before the listener closes,
    # so a load balancer (health-checking every few seconds) stops sending updates here first.
    shutdown_grace_s: float = Field(default=5.0, ge=0, le=60)
    # Polling mode serves /healthz and /metrics on this port when set (off by default).
    ops_port: int | None = Field(default=None, ge=0, le=65535)
    ops_host: str = "0.0.0.0"
    log_format: Literal["text", "json"] = "text"
    # On PostgreSQL one instance leads (scheduler, sender, broadcast progress): followers try
    # to take over, and the leader checks its lock connection, every LEADER_POLL_S seconds.
    leader_poll_s: float = Field(default=5.0, gt=0, le=30)

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return frozenset(
                int(part) for part in value.replace(";", ",").split(",") if part.strip()
            )
        if isinstance(value, int):
            return frozenset({value})
        return value

    @field_validator("partnership_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone '{value}' (use an IANA name such as Africa/Dakar)"
            ) from exc
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # Telegram accepts 1-256 characters A-Z, a-z, 0-9, _ and - as the secret token.
        if value is not None and not re.fullmatch(
            r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()
        ):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @field_validator("telegram_api_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    def webhook(self) -> tuple[str, str]:
        """WEBHOOK_URL and WEBHOOK_SECRET; raises when either is missing."""
        if not self.webhook_url or self.webhook_secret is None:
            raise MissingWebhookError
        return self.webhook_url, self.webhook_secret.get_secret_value()

    def token(self) -> str:
        """The bot token; raises when none is configured."""
        if self.bot_token is None or not self.bot_token.get_secret_value().strip():
            raise MissingTokenError
        return self.bot_token.get_secret_value().strip()


class MissingTokenError(RuntimeError):
    """No BOT_TOKEN was given."""

    def __str__(self) -> str:
        return "BOT_TOKEN is not set. To try partnerbot without a token, run: make sandbox"


class MissingWebhookError(RuntimeError):
    """`run --webhook` without WEBHOOK_URL or WEBHOOK_SECRET."""

    def __str__(self) -> str:
        return "webhook mode needs WEBHOOK_URL (https://…) and WEBHOOK_SECRET"
