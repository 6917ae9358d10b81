"""`partnerbot sandbox`: a newcomer completes onboarding by typing in the terminal chat."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_newcomer_completes_onboarding_in_the_terminal(tmp_path: Path) -> None:
    typed = "\n".join(
        ["/start", "yes", ":1", "Dakar", "4", "skip", "Resident", ":2", ":advance 1d", ":quit"]
    )
    done = subprocess.run(
        [
            *(sys.executable, "-m", "bot", "sandbox", "--terminal"),
            *("--port", "0", "--db", str(tmp_path / "s.db")),
        ],
        cwd=ROOT,
        input=typed + "\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Do you agree?" in out
    assert "[:1] Yes   [:2] No" in out
    assert "(you pressed “1. English”)" in out
    assert "Which time zone are you in?" in out
    assert "[:4] 4. Community member" in out
    assert "Do you belong to a community group" in out
    assert out.index("What is your role?") < out.index("Send /roles whenever you are ready")
    assert "sandbox time is now" in out
    assert (tmp_path / "s.log").exists()
