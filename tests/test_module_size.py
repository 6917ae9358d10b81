"""No module of bot/ grows over 600 lines (generated migrations aside): past that, a module holds
more than one job and a newcomer reads it slowly. Split it by feature before it lands."""

from __future__ import annotations

from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
MOST_LINES = 600
GENERATED = BOT / "storage" / "migrations" / "versions"


def too_long(root: Path, *, most: int = MOST_LINES) -> list[str]:
    """Each Python module below `root` over `most` lines, as `path: lines`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        if path.is_relative_to(GENERATED):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > most:
            found.append(f"{path.relative_to(root.parent)}: {lines}")
    return found


def test_no_module_is_over_600_lines() -> None:
    assert too_long(BOT) == []


def test_the_rule_counts_lines(tmp_path: Path) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    (package / "short.py").write_text("x = 1\n" * MOST_LINES, encoding="utf-8")
    (package / "long.py").write_text("x = 1\n" * (MOST_LINES + 1), encoding="utf-8")
    assert too_long(package) == [f"bot/long.py: {MOST_LINES + 1}"]
