"""bot/ names none of the library internals issue 15 removed: SQLAlchemy's compiled-statement
internals, aiosqlite's private transaction queue, aiogram's `__returning__` and its session's
`make_request` (a fork of it, or a middleware written in its terms). Libraries are used
through their public APIs; a cost of theirs is cited upstream, not worked around."""

from __future__ import annotations

import re
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
INTERNALS = re.compile(r"positiontup|insert_prefetch|_tx\b|__returning__|make_request")


def internals_named(root: Path) -> list[str]:
    """Each line below `root` naming a removed internal, as `path:line: text`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if INTERNALS.search(line):
                found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    return found


def test_bot_names_no_removed_internal() -> None:
    assert internals_named(BOT) == []


def test_the_rule_finds_each_internal(tmp_path: Path) -> None:
    package = tmp_path / "bot"
    package.mkdir()
    (package / "clean.py").write_text("tx = 1\ncall_next = 2\n", encoding="utf-8")
    names = ("positiontup", "insert_prefetch", "self._tx", "__returning__", "make_request")
    (package / "dirty.py").write_text("".join(f"{n}\n" for n in names), encoding="utf-8")
    assert [hit.split(":")[1] for hit in internals_named(package)] == ["1", "2", "3", "4", "5"]
