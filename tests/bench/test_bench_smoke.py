"""The flow_steps benchmark runs end to end on a tiny load and prints a well-formed result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MEMBERS = 10
STEPS_PER_MEMBER = 7


@pytest.mark.slow
def test_flow_steps_smoke() -> None:
    completed = subprocess.run(
        [
            sys.executable,
            "bench/flow_steps.py",
            "--members",
            str(MEMBERS),
            "--think",
            "0",
            "--ramp",
            "0",
            "--rounds",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    lines = completed.stdout.strip().splitlines()
    assert lines, completed.stderr[-4000:]
    result = json.loads(lines[-1])

    assert result["bench"] == "flow_steps"
    assert result["members"] == MEMBERS
    assert result["steps"] == MEMBERS * STEPS_PER_MEMBER
    assert result["db"] == "sqlite"
    assert result["think_s"] == 0
    for kind in ("partnerbot", "echo"):
        run = result[kind]
        assert run["errors"] == 0, run
        assert run["steps"] == MEMBERS * STEPS_PER_MEMBER, run
        assert run["steps_per_s"] > 0, run
        assert run["wall_s"] > 0, run
        assert run["p50_ms"] is not None and run["p50_ms"] > 0, run
        assert run["p99_ms"] is not None and run["p99_ms"] >= run["p50_ms"], run
        assert run["rss_mb"] is not None and run["rss_mb"] > 0, run
    assert result["ratio_steps_per_s"] > 0
    # two rounds of the pair; the lower ratio of two is the median reported
    assert len(result["round_ratios"]) == 2
    assert result["ratio_steps_per_s"] == min(result["round_ratios"])
    targets = result["targets"]
    assert {"ratio_min", "p99_max_ms", "met"} <= set(targets)
    assert isinstance(targets["met"], bool)
