"""bench/schedule.py runs on a small membership and prints a well-formed result."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_schedule_bench_smoke() -> None:
    completed = subprocess.run(
        [sys.executable, "bench/schedule.py", "--members", "500", "--zones", "12"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-4000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])
    assert result["bench"] == "schedule"
    assert (result["members"], result["sent"], result["queued"]) == (500, 500, 500)
    assert result["second_pass_sent"] == 0
    assert result["ok"] is True
    assert isinstance(result["seconds"], float) and isinstance(result["rss_mb"], float)
