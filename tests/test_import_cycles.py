"""No two modules of bot/ import each other, directly or round a longer loop.

Read statically (every `import` in a file, at its top or inside a function): a cycle makes the
order modules load in matter, and tells of two modules that are one feature split in the wrong
place.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"


def _module(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _named(node: ast.AST) -> list[str]:
    """What an import statement names: modules, or a module's attributes (maybe submodules)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
        return [f"{node.module}.{alias.name}" for alias in node.names]
    return []


def import_graph(root: Path) -> dict[str, set[str]]:
    """Each module of the package at `root` and the modules of it that it imports."""
    paths = {_module(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            for name in _named(node):
                # `from bot.x import y` imports bot.x.y when that is a module, else bot.x.
                while name and name not in paths:
                    name = name.rpartition(".")[0]
                if name and name != module:
                    found.add(name)
        graph[module] = found
    return graph


def cycles(graph: Mapping[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for used in sorted(graph.get(module, ())):
            if used not in index:
                visit(used)
                low[module] = min(low[module], low[used])
            elif used in stack:
                low[module] = min(low[module], index[used])
        if low[module] == index[module]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == module:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return sorted(found)


def test_no_import_cycle_in_bot() -> None:
    assert cycles(import_graph(BOT)) == []


def test_a_cycle_is_found(tmp_path: Path) -> None:
    package = tmp_path / "bot"
    (package / "scheduling").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "scheduling" / "__init__.py").write_text("")
    (package / "app.py").write_text("from bot.scheduling.jobs import tick\n")
    (package / "scheduling" / "jobs.py").write_text(
        "def tick():\n    from bot import app\n    return app\n"
    )
    (package / "alone.py").write_text("import bot.app\n")
    assert cycles(import_graph(package)) == [["bot.app", "bot.scheduling.jobs"]]
