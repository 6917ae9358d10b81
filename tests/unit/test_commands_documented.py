"""What the README and the Makefile promise about the `partnerbot` command and settings holds."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def _help_commands() -> set[str]:
    command = [sys.executable, "-m", "bot", "--help"]
    shown = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT).stdout
    found = re.search(r"\{([a-z,-]+)\}", shown)
    assert found is not None, shown
    return set(found.group(1).split(","))


def test_the_readme_lists_every_command_of_the_help() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("## Commands", 1)[1].split("```sh", 1)[1].split("```", 1)[0]
    listed = {line.split()[1] for line in block.splitlines() if line.startswith("partnerbot ")}
    assert listed == _help_commands()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_sandbox_passes_port_and_args_on() -> None:
    planned = subprocess.run(
        ["make", "-n", "--always-make", "sandbox", "PORT=8081", "ARGS=--terminal --db x.db"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert "partnerbot sandbox --port 8081 --terminal --db x.db" in planned


def test_the_license_is_an_spdx_expression_setuptools_reads() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["license"] == "MIT"
    # A string `license` needs setuptools 77 (PEP 639); older ones reject it.
    assert "setuptools>=77" in project["build-system"]["requires"]


def test_the_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Settings", 1)[1].split("\n## ", 1)[0]
    assert [n.upper() for n in Settings.model_fields if f"`{n.upper()}`" not in table] == []
