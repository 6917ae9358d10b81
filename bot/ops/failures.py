"""Failures of repeated work (a monitor's tick, a campaign, a probe) logged without a flood."""

from __future__ import annotations

import logging
import time

from bot.storage.db import describe_error, is_transient


class FailureLog:
    """A repeated task's failures, logged once per change of state rather than at each try:
    when it starts failing (with the traceback only for what is not a passing database
    failure, that is a bug) and when it works again."""

    def __init__(
        self, logger: logging.Logger, what: str, *, meanwhile: str = "trying again"
    ) -> None:
        self.logger = logger
        self.what = what
        self.meanwhile = meanwhile
        self.failures = 0
        self._failing_since: float | None = None

    @property
    def failing(self) -> bool:
        """Whether the last try failed."""
        return self._failing_since is not None

    def failed(self, exc: BaseException) -> None:
        """A try failed."""
        self.failures += 1
        if self._failing_since is not None:
            return
        self._failing_since = time.monotonic()
        self.logger.error(
            "%s fails: %s; %s",
            self.what,
            describe_error(exc),
            self.meanwhile,
            exc_info=None if is_transient(exc) else exc,
        )

    def succeeded(self) -> None:
        """A try succeeded."""
        if self._failing_since is None:
            return
        self.logger.warning(
            "%s works again after %.1fs (%d failed tries so far)",
            self.what,
            time.monotonic() - self._failing_since,
            self.failures,
        )
        self._failing_since = None
