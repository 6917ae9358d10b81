"""Every key the code or the flows use has wording in every shipped locale."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.domain.flows import load_flows
from bot.i18n import Catalogs
from bot.telegram.factory import MEMBER_COMMANDS

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"^(common|hint|ask|chat|cmd|language|schedules|checkin)\.[a-z0-9_.]*[a-z0-9_]$")
ASK_KINDS = ("choice", "multi_choice", "yes_no")


def _catalogs() -> Catalogs:
    return Catalogs.load(ROOT / "locales", default="en")


def code_keys(catalogs: Catalogs) -> set[str]:
    """Literal keys in bot/, plus the ones the code builds from parts."""
    keys: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and KEY.match(node.value)
            ):
                keys.add(node.value)
    keys |= {f"hint.{kind}" for kind in ASK_KINDS}
    keys |= {f"cmd.desc.{command}" for command in MEMBER_COMMANDS}
    keys |= {f"language.name.{code}" for code in catalogs.locales}
    return keys


def test_code_finds_the_keys_it_uses() -> None:
    keys = code_keys(_catalogs())
    assert {"chat.closed", "cmd.help", "hint.scale", "ask.multi_choice", "common.skip"} <= keys


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_every_key_has_wording(locale: str) -> None:
    catalogs = _catalogs()
    assert locale in catalogs.locales
    translated = catalogs.keys()[locale]
    flows = load_flows(ROOT / "flows", locale_keys=catalogs.keys())
    missing = sorted((code_keys(catalogs) | flows.keys()) - translated)
    assert missing == []


def test_placeholders_match_across_locales() -> None:
    catalogs = _catalogs()
    english = catalogs.translator("en")
    for locale in catalogs.locales:
        t = catalogs.translator(locale)
        for key in catalogs.keys()["en"]:
            assert set(re.findall(r"{(\w+)}", t(key))) == set(
                re.findall(r"{(\w+)}", english(key))
            ), key
