"""The broadcast benchmark runs end to end on a tiny load and prints a well-formed result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench(*args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "bench/broadcast.py", "--recipients", "40", "--rate", "40", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    lines = completed.stdout.strip().splitlines()
    assert lines, completed.stderr[-4000:]
    result: dict[str, Any] = json.loads(lines[-1])
    assert "error" not in result, completed.stderr[-4000:]
    return result


@pytest.mark.slow
def test_broadcast_bench_with_faults_delivers_every_reachable_recipient_once() -> None:
    result = _bench("--faults")
    assert result["bench"] == "broadcast"
    assert result["mode"] == "faults"
    assert result["recipients"] == 40
    assert result["blocked"] == 1
    assert result["delivered"] == 39
    assert result["lost"] == 0
    assert result["duplicates"] == 0
    assert result["http_429"] >= 1  # the injected burst
    assert result["http_429_pacing"] == 0
    assert result["configured_rate"] == 40
    assert result["statuses"]["sent"] == 39
    assert set(result["targets"]) >= {"lost_zero", "no_429_from_pacing", "met"}
