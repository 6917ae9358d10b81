"""Every key the code or the flows use has wording in every shipped locale."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bot.content import load_flows
from bot.i18n import Catalogs
from bot.telegram.factory import MEMBER_COMMANDS

ROOT = Path(__file__).resolve().parents[2]
KEY = re.compile(r"^([a-z_]+)\.[a-z0-9_.]*[a-z0-9_]$")
ASK_KINDS = ("choice", "multi_choice", "yes_no")


def _catalogs() -> Catalogs:
    return Catalogs.load(ROOT / "locales", default="en")


def code_keys(catalogs: Catalogs) -> set[str]:
    """Literal keys in bot/ (strings shaped like a key whose first part names a family of
    wording), plus the ones the code builds from parts."""
    families = {key.split(".", 1)[0] for key in catalogs.keys()[catalogs.default]}
    families -= {"bot"}  # module paths such as "bot.storage" are not wording
    keys: set[str] = set()
    for path in (ROOT / "bot").rglob("*.py"):
        if "storage" in path.parts:  # foreign keys such as "member.id", never wording
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # Audit action names ("broadcast.confirmed") and prefixes the code extends are not keys.
        not_keys = {
            id(k.value) for k in ast.walk(tree) if isinstance(k, ast.keyword) and k.arg == "action"
        }
        not_keys |= {
            id(key)
            for d in ast.walk(tree)
            if isinstance(d, ast.Dict)
            for key in d.keys
            if key is not None
        }
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in not_keys
                and (match := KEY.match(node.value))
                and match.group(1) in families
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
