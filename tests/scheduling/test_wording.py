"""Keys the scheduling code builds from parts (errors, days, statuses) have wording everywhere."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from bot.domain.schedules import DAY_CODES, KINDS, NTH_CODES
from bot.i18n import Catalogs
from bot.storage.models import ScheduleStatus

ROOT = Path(__file__).resolve().parents[2]


def error_codes() -> set[str]:
    """Every code given to ScheduleError(...) anywhere in bot/."""
    codes: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "ScheduleError"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                codes.add(str(node.args[0].value))
    return codes


def built_keys() -> set[str]:
    keys = {f"schedules.error.{code}" for code in error_codes()}
    keys |= {f"schedules.day.{code}" for code in DAY_CODES}
    keys |= {f"schedules.nth.{name}" for name in NTH_CODES.values()}
    keys |= {f"schedules.status.{status.value}" for status in ScheduleStatus}
    keys |= {f"schedules.kind.{kind}" for kind in KINDS}
    return keys


def test_the_error_codes_are_found() -> None:
    assert {"time", "date", "window_too_long", "flow", "past", "use_buttons"} <= error_codes()


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_built_keys_have_wording(locale: str) -> None:
    catalogs = Catalogs.load(ROOT / "locales", default="en")
    assert sorted(built_keys() - catalogs.keys()[locale]) == []
