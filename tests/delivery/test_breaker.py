"""The sender's circuit breaker: a growing back-off between probes, one log line per change."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.exc import OperationalError

from bot.delivery.breaker import PROBE_CAP_S, Breaker


def test_probes_back_off_and_each_state_change_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="bot.delivery")
    breaker = Breaker(seed=1)
    down = OperationalError("SELECT 1", {}, ConnectionRefusedError("refused\nmore detail"))
    now, gaps = 0.0, []
    for _ in range(8):
        breaker.failed(down, now)
        assert not breaker.due(now)
        gaps.append(breaker.wait_s(now))
        now = breaker.next_try
        assert breaker.due(now)
    breaker.succeeded(now)
    assert not breaker.is_open and breaker.outages == 1
    assert max(gaps) <= PROBE_CAP_S and gaps[-1] > 4 * gaps[0]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and all("\n" not in line for line in lines)
    assert lines[0].startswith("outbox sender paused: OperationalError")
    assert lines[1].startswith("outbox sender resumed")
    assert all(r.exc_info is None for r in caplog.records)


def test_an_error_that_is_not_the_databases_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    breaker = Breaker(seed=1)
    try:
        raise KeyError("a bug")
    except KeyError as exc:
        breaker.failed(exc, 0.0)
    (record,) = caplog.records
    assert record.exc_info is not None
