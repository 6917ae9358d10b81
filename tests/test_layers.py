"""Keeps the borders between the layers honest, by reading every import in bot/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"

# package -> top-level modules it must never import
FORBIDDEN = {
    "domain": {
        "aiogram",
        "sqlmodel",
        "sqlalchemy",
        "alembic",
        "aiohttp",
        "bot.storage",
        "bot.telegram",
        "bot.services",
        "bot.sandbox",
        "bot.app",
        "bot.i18n",
    },
    "storage": {"aiogram", "aiohttp", "bot.telegram", "bot.services", "bot.sandbox", "bot.app"},
    "services": {"aiogram", "aiohttp", "bot.telegram", "bot.sandbox", "bot.app"},
    "sandbox": {"bot.storage", "bot.services", "bot.domain", "sqlmodel", "sqlalchemy"},
}
# Only the telegram package (and the wiring in app.py / the sandbox runner) may import aiogram.
AIOGRAM_ALLOWED = {"telegram", "app.py", "sandbox"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _modules(package: str) -> list[Path]:
    return sorted((BOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_keeps_its_borders(package: str) -> None:
    breaches = []
    for path in _modules(package):
        if package == "sandbox" and path.name in ("runner.py", "terminal.py"):
            continue  # the sandbox runner wires the whole bot together, like app.py
        for name in _imports(path):
            if any(
                name == banned or name.startswith(banned + ".") for banned in FORBIDDEN[package]
            ):
                breaches.append(f"{path.relative_to(BOT.parent)} imports {name}")
    assert breaches == []


def test_only_the_telegram_layer_imports_aiogram() -> None:
    breaches = []
    for path in sorted(BOT.rglob("*.py")):
        top = path.relative_to(BOT).parts[0]
        if top in AIOGRAM_ALLOWED:
            continue
        if any(n == "aiogram" or n.startswith("aiogram.") for n in _imports(path)):
            breaches.append(str(path.relative_to(BOT.parent)))
    assert breaches == []


def test_the_domain_does_no_io() -> None:
    calls = []
    for path in _modules("domain"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in {"open", "print", "input"}
            ):
                calls.append(f"{path.name}:{node.lineno} {node.func.id}()")
    assert calls == []


def test_handlers_hold_no_sql() -> None:
    breaches = []
    for path in sorted((BOT / "telegram").rglob("*.py")):
        for name in _imports(path):
            if (
                name.startswith(("sqlmodel", "sqlalchemy"))
                and name != "sqlmodel.ext.asyncio.session"
            ):
                breaches.append(f"{path.relative_to(BOT.parent)} imports {name}")
    assert breaches == []
