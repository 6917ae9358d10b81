"""Keeps the borders between the layers honest, by reading every import in bot/.

Every package and top-level module of bot/ has a row in LAYERS: the parts of bot/ it may import
and the libraries it must not. A new package without a row fails `test_every_package_has_a_row`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

DATABASE = frozenset({"sqlmodel", "sqlalchemy", "alembic"})
WEB = frozenset({"aiogram", "aiohttp"})
EVERYTHING = frozenset({"*"})


@dataclass(frozen=True)
class Layer:
    """What one part of bot/ may import: these parts of bot/, none of these libraries."""

    uses: frozenset[str]
    not_libraries: frozenset[str] = frozenset()
    job: str = ""


def layer(*uses: str, avoid: frozenset[str] = frozenset(), job: str = "") -> Layer:
    return Layer(frozenset(uses), avoid, job)


LAYERS: dict[str, Layer] = {
    "domain": layer("domain", avoid=DATABASE | WEB, job="pure rules over plain values"),
    "config": layer(avoid=DATABASE | WEB, job="settings"),
    "logs": layer(avoid=DATABASE | WEB, job="logging set-up"),
    "i18n": layer(avoid=DATABASE | WEB, job="wording: the gettext catalogs"),
    "content": layer(
        "domain", "i18n", "config", avoid=DATABASE | WEB, job="flows and wording read from disk"
    ),
    "storage": layer("storage", "domain", "config", avoid=WEB, job="tables and queries"),
    "delivery": layer(
        "delivery", "domain", "storage", "config", avoid=WEB, job="outbox and rate-limited sender"
    ),
    "services": layer(
        "services",
        "domain",
        "storage",
        "delivery",
        "content",
        "i18n",
        "config",
        avoid=WEB,
        job="features over the domain and storage, without aiogram",
    ),
    "telegram": layer(
        "telegram",
        "services",
        "domain",
        "storage",
        "delivery",
        "cluster",
        "ops",
        "i18n",
        "config",
        avoid=frozenset({"alembic"}),
        job="the only layer speaking aiogram: routers, middlewares, rendering",
    ),
    "scheduling": layer(
        "scheduling",
        "services",
        "domain",
        "storage",
        "content",
        "ops",
        "i18n",
        "config",
        avoid=WEB,
        job="APScheduler wiring",
    ),
    "cluster": layer("cluster", "ops", "config", avoid=WEB, job="leadership and locks"),
    # ops reads database errors through storage (which failures pass) but no SQL itself.
    "ops": layer(
        "ops",
        "storage",
        "config",
        avoid=DATABASE | frozenset({"aiogram"}),
        job="health, metrics, failure logs",
    ),
    "sandbox": layer("sandbox", avoid=DATABASE | frozenset({"aiogram"}), job="Bot API emulator"),
    # Entry points and wiring: they assemble everything.
    "app": layer(*EVERYTHING, job="the running bot, wired"),
    "cli": layer(*EVERYTHING, job="the partnerbot command, one module per command group"),
    "__main__": layer(*EVERYTHING),
    "__init__": layer(),
}
# Modules inside a package that wire the whole bot together, like app.py.
WIRING = {"sandbox/runner.py", "sandbox/terminal.py"}
# Telegram handlers take a session from the middleware but write no SQL themselves.
TELEGRAM_SQL_ALLOWED = {"sqlmodel.ext.asyncio.session"}

# The domain does no I/O: no files, sockets, processes, environment, clock-less sleeps or logs.
IO_MODULES = {
    "os",
    "sys",
    "io",
    "socket",
    "ssl",
    "select",
    "selectors",
    "subprocess",
    "shutil",
    "pathlib",
    "tempfile",
    "glob",
    "fileinput",
    "urllib",
    "http",
    "asyncio",
    "logging",
    "sqlite3",
    "pickle",
    "shelve",
    "mmap",
    "signal",
    "threading",
    "multiprocessing",
    "requests",
    "httpx",
    "aiohttp",
    "aiofiles",
}
IO_BUILTINS = {"open", "print", "input", "exec", "eval", "__import__", "breakpoint"}
IO_METHODS = {
    "read_text",
    "write_text",
    "read_bytes",
    "write_bytes",
    "open",
    "glob",
    "rglob",
    "iterdir",
    "exists",
    "is_dir",
    "is_file",
    "mkdir",
    "unlink",
    "rmdir",
    "touch",
    "stat",
    "chmod",
    "listdir",
    "getenv",
    "system",
    "popen",
    "connect",
    "urlopen",
    "sendall",
    "recv",
}


def _top(path: Path) -> str:
    """The row of LAYERS a file of bot/ belongs to: its package, or its module's name."""
    first = path.relative_to(BOT).parts[0]
    return first.removesuffix(".py")


def _imports(tree: ast.AST) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _parse(path: Path) -> ast.AST:
    return ast.parse(path.read_text(encoding="utf-8"))


def _files() -> list[Path]:
    return sorted(BOT.rglob("*.py"))


def io_in(source: str) -> list[str]:
    """Each place in `source` that does I/O, as `line: what`."""
    tree = ast.parse(source)
    found = [
        f"{getattr(node, 'lineno', 0)}: import {name}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in _imports(node)
        if name.split(".")[0] in IO_MODULES
    ]
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if isinstance(node.func, ast.Name) and node.func.id in IO_BUILTINS:
            found.append(f"{node.lineno}: {node.func.id}()")
        if isinstance(node.func, ast.Attribute) and node.func.attr in IO_METHODS:
            found.append(f"{node.lineno}: .{node.func.attr}()")
    return found


def test_every_package_has_a_row() -> None:
    """A new package or top-level module says what it may import before it lands."""
    assert sorted({_top(p) for p in _files()} - set(LAYERS)) == []


@pytest.mark.parametrize("name", sorted({_top(p) for p in _files()}))
def test_package_keeps_its_borders(name: str) -> None:
    rule = LAYERS[name]
    breaches = []
    for path in _files():
        relative = str(path.relative_to(BOT))
        if _top(path) != name or relative in WIRING:
            continue
        for imported in _imports(_parse(path)):
            parts = imported.split(".")
            if parts[0] == "bot" and len(parts) > 1 and "*" not in rule.uses:
                if parts[1] not in rule.uses:
                    breaches.append(f"bot/{relative} imports {imported}")
            elif parts[0] in rule.not_libraries:
                if name == "telegram" and imported in TELEGRAM_SQL_ALLOWED:
                    continue
                breaches.append(f"bot/{relative} imports {imported}")
    assert breaches == []


def test_only_the_telegram_layer_imports_aiogram() -> None:
    """Outside telegram/, only the wiring (app.py, the sandbox runner) may."""
    breaches = []
    for path in _files():
        relative = str(path.relative_to(BOT))
        if _top(path) in ("telegram", "app") or relative in WIRING:
            continue
        if any(n.split(".")[0] == "aiogram" for n in _imports(_parse(path))):
            breaches.append(relative)
    assert breaches == []


def test_handlers_hold_no_sql() -> None:
    breaches = []
    for path in sorted((BOT / "telegram").rglob("*.py")):
        for name in _imports(_parse(path)):
            if name.split(".")[0] in DATABASE and name not in TELEGRAM_SQL_ALLOWED:
                breaches.append(f"{path.relative_to(BOT.parent)} imports {name}")
    assert breaches == []


def test_the_domain_does_no_io() -> None:
    """Reading flows, catalogs or anything else from disk happens outside (bot/content.py)."""
    found = [
        f"{path.relative_to(BOT.parent)}:{place}"
        for path in sorted((BOT / "domain").rglob("*.py"))
        for place in io_in(path.read_text(encoding="utf-8"))
    ]
    assert found == []


@pytest.mark.parametrize(
    "source",
    [
        "open('flows/a.yaml')",
        "from pathlib import Path\nPath('a').read_text()",
        "import os\nos.environ.get('X')",
        "from os import getenv",
        "import socket\nsocket.socket().connect(('a', 1))",
        "directory.glob('*.yaml')",
        "path.write_bytes(b'')",
        "print('hello')",
        "import logging",
        "import urllib.request",
        "import subprocess",
        "import asyncio",
    ],
)
def test_the_io_rule_catches_real_io(source: str) -> None:
    assert io_in(source) != []


def test_the_io_rule_lets_pure_code_be() -> None:
    source = "import re\nfrom datetime import date\ntext.replace('a', 'b').split()\n"
    assert io_in(source) == []


def test_each_package_says_its_job() -> None:
    """The table doubles as the map of bot/: every package (not the entry points) has a job."""
    packages = {p.relative_to(BOT).parts[0] for p in _files() if len(p.relative_to(BOT).parts) > 1}
    assert sorted(p for p in packages if not LAYERS[p].job) == []


def test_the_architecture_page_names_every_package_and_its_job() -> None:
    """docs/architecture.md's table says each package's job as these rules do: a new package
    or a changed job shows up there."""
    page = (BOT.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    missing = [
        f"| `{name}` | {rules.job} |"
        for name, rules in LAYERS.items()
        if rules.job and f"| `{name}` | {rules.job} |" not in page
    ]
    assert missing == []
