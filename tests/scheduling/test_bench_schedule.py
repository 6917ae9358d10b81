"""bench/schedule.py runs on a small membership and prints a well-formed result."""

from __future__ import annotations

import pytest
from conftest import run_bench


@pytest.mark.slow
def test_schedule_bench_smoke() -> None:
    result = run_bench("schedule.py", "--members", "500", "--zones", "12")
    assert result["bench"] == "schedule"
    assert (result["members"], result["sent"], result["queued"]) == (500, 500, 500)
    assert result["second_pass_sent"] == 0
    assert result["ok"] is True
    assert isinstance(result["seconds"], float) and isinstance(result["rss_mb"], float)
