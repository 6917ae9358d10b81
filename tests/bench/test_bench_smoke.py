"""The flow_steps and step_cpu benchmarks run end to end on a tiny load and print a well-formed
result."""

from __future__ import annotations

import os

import pytest
from conftest import run_bench

MEMBERS = 10
STEPS_PER_MEMBER = 8  # onboarding's answers in flow_steps and step_cpu
PULSE_STEPS = 7  # the trust pulse's answers in mixed


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
    # a dispatcher sending other than nine messages per member would make it exit 1
    result = run_bench("step_cpu.py", "--members", "5", "--rounds", "1")
    assert result["bench"] == "step_cpu"
    assert result["steps"] == 5 * STEPS_PER_MEMBER
    assert result["echo_us_per_step"] > 0
    assert result["partnerbot_us_per_step"] > 0
    assert result["partnerbot_over_echo"] > 0
    assert result["durable_floor_us_per_step"] > 0
    assert result["partnerbot_over_durable_floor"] > 0
    assert result["thread_handoff_us"] > 0


MIXED_KEYS = {
    "step_p50_ms", "step_p99_ms", "step_max_ms", "loop_lag_p99_ms", "loop_lag_max_ms",
    "broadcast_ratio", "lost", "duplicates", "report_s", "export_s", "cpu_ms_per_step", "rss_mb",
}  # fmt: skip
MIXED_MEMBERS = 4


@pytest.mark.slow
def test_mixed_smoke() -> None:
    stores = ["sqlite", "postgres"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]
    result = run_bench(
        "mixed.py", "--stores", ",".join(stores), "--members", str(MIXED_MEMBERS),
        "--broadcast", "10", "--answers", "300", "--checkin", "20", "--think", "0.3",
        "--sweep", "1", "--saturation-members", "0", "--step-cpu-members", "0",
    )  # fmt: skip

    assert result["bench"] == "mixed"
    assert set(result["stores"]) == set(stores)
    for name, store in result["stores"].items():
        assert set(store) >= MIXED_KEYS, (name, store)
        # every member's seven pulse answers were replied to, every message arrived once
        assert store["errors"] == 0, (name, store)
        assert store["steps"] == MIXED_MEMBERS * PULSE_STEPS, (name, store)
        assert store["lost"] == 0 and store["duplicates"] == 0, (name, store)
        # Every message reached the outbox; on a busy machine the mix may end before the last
        # ones are sent (what was sent is checked above: none lost, none twice).
        assert sum(store["outbox"].values()) >= MIXED_MEMBERS + 10, (name, store)
        assert store["outbox"].get("sent", 0) > 0, (name, store)
        assert store["report_s"] > 0 and store["export_s"] > 0, (name, store)
        # the lag came from the bot's own histogram
        assert store["loop_lag_samples"] > 0 and store["loop_lag_p99_ms"] is not None, store
        assert store["step_p99_ms"] >= store["step_p50_ms"] > 0, (name, store)
        assert store["rss_mb"] > 0 and store["cpu_ms_per_step"] > 0, (name, store)
    targets = result["targets"]
    assert {"step_p99_ms", "loop_lag_p99_ms", "broadcast_ratio_min", "all_met"} <= set(targets)
    assert set(targets["met"]) == set(stores)
    for checks in targets["met"].values():
        assert all(isinstance(ok, bool) for ok in checks.values())
