"""The flow_steps and step_cpu benchmarks run end to end on a tiny load and print a well-formed
result."""

from __future__ import annotations

import pytest
from conftest import run_bench

MEMBERS = 10
STEPS_PER_MEMBER = 7


@pytest.mark.slow
def test_flow_steps_smoke() -> None:
    args = ("--members", str(MEMBERS), "--think", "0", "--ramp", "0", "--rounds", "2")
    result = run_bench("flow_steps.py", *args, "--baseline", "echo")

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


@pytest.mark.slow
def test_step_cpu_smoke() -> None:
    # a dispatcher sending other than eight messages per member would make it exit 1
    result = run_bench("step_cpu.py", "--members", "5", "--rounds", "1")
    assert result["bench"] == "step_cpu"
    assert result["steps"] == 5 * STEPS_PER_MEMBER
    assert result["echo_us_per_step"] > 0
    assert result["partnerbot_us_per_step"] > 0
    assert result["partnerbot_over_echo"] > 0
