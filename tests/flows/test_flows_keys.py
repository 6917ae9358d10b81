"""`partnerbot flows keys` writes the keys a new question needs into every catalog, as fuzzy
placeholders, on a copy of the shipped flows and catalogs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po, write_po

from bot.cli import main
from bot.i18n import PLACEHOLDER_NOTE, Catalogs

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped flows and catalogs (sources only), in `tmp_path`."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    shutil.copytree(ROOT / "flows", tmp_path / "flows", ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(ROOT / "locales", tmp_path / "locales", ignore=shutil.ignore_patterns("*.mo"))
    return tmp_path


def catalog(root: Path, locale: str) -> Path:
    return root / "locales" / locale / "LC_MESSAGES" / "partnerbot.po"


def add_question(root: Path) -> None:
    """One YAML edit: a yes/no question on a budget after `unclear` in the roles flow."""
    path = root / "flows" / "roles.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    next(n for n in data["nodes"] if n["id"] == "unclear")["next"] = "budget"
    question = {"id": "budget", "ask": "yes_no", "text": "roles.budget", "next": "thanks"}
    data["nodes"].insert(-1, question)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")


def drop_french(root: Path, key: str) -> None:
    path = catalog(root, "fr")
    with path.open("rb") as fh:
        found = read_po(fh, locale="fr")
    del found[key]
    with path.open("wb") as fh:
        write_po(fh, found)


def run(root: Path, capsys: pytest.CaptureFixture[str], *command: str) -> tuple[int, str]:
    status = main(["flows", *command, str(root / "flows"), "--locales", str(root / "locales")])
    out = capsys.readouterr()
    return status, out.out + out.err


def entry(root: Path, locale: str, key: str) -> tuple[str, bool, list[str]]:
    with catalog(root, locale).open("rb") as fh:
        message = read_po(fh, locale=locale)[key]
    assert message is not None
    return str(message.string), message.fuzzy, list(message.auto_comments)


def test_a_new_question_gets_a_placeholder_in_every_catalog(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_question(copy)
    drop_french(copy, "roles.thanks")  # English words it: French gets the English as a start
    before = {loc: catalog(copy, loc).read_bytes() for loc in ("en", "fr")}
    status, said = run(copy, capsys, "check")
    assert status == 1 and "keys missing in locale 'fr': roles.budget" in said

    status, said = run(copy, capsys, "keys")
    assert status == 0, said
    assert said.splitlines() == [
        "en: 1 key(s) added, marked fuzzy: roles.budget",
        "fr: 2 key(s) added, marked fuzzy: roles.budget, roles.thanks",
    ]
    assert entry(copy, "en", "roles.budget") == ("roles.budget", True, [PLACEHOLDER_NOTE])
    assert entry(copy, "fr", "roles.budget") == ("roles.budget", True, [PLACEHOLDER_NOTE])
    english = entry(copy, "en", "roles.thanks")[0]
    assert entry(copy, "fr", "roles.thanks") == (english, True, [PLACEHOLDER_NOTE])
    # Appended: what each catalog held before is kept byte for byte.
    assert all(catalog(copy, loc).read_bytes().startswith(before[loc]) for loc in before)
    # A placeholder is not a translation: the check still asks for the wording...
    status, said = run(copy, capsys, "check")
    assert status == 1 and "keys missing in locale 'en': roles.budget" in said
    # ...and running again adds nothing.
    assert run(copy, capsys, "keys") == (
        0,
        f"every catalog in {copy / 'locales'} has every key the flows use\n",
    )


def test_translating_a_placeholder_makes_the_flows_pass(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    add_question(copy)
    assert run(copy, capsys, "keys")[0] == 0
    for locale, wording in (("en", "Is there a budget?"), ("fr", "Y a-t-il un budget ?")):
        path = catalog(copy, locale)
        with path.open("rb") as fh:
            found = read_po(fh, locale=locale)
        found["roles.budget"].string = wording
        found["roles.budget"].flags.discard("fuzzy")
        with path.open("wb") as fh:
            write_po(fh, found)
    assert run(copy, capsys, "check")[0] == 0
    t = Catalogs.load(copy / "locales", default="en").translator("fr")
    assert t("roles.budget") == "Y a-t-il un budget ?"


def test_the_code_wording_of_a_new_objective_is_added(
    copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Keys the code words a flow's questions with (bot/domain/contracts.py) count too."""
    path = copy / "flows" / "objectives.yaml"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "      - {value: other, label: roles.brings.other}\n    skippable",
            "      - {value: digital, label: roles.brings.other}\n    skippable",
        ),
        encoding="utf-8",
    )
    status, said = run(copy, capsys, "keys")
    assert status == 0
    assert "fr: 1 key(s) added, marked fuzzy: roles.brings.digital" in said


def test_broken_flows_add_nothing(copy: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (copy / "flows" / "roles.yaml").write_text("schema: 1\nid: [\n", encoding="utf-8")
    before = catalog(copy, "fr").read_bytes()
    status, said = run(copy, capsys, "keys")
    assert status == 1 and "roles.yaml: not valid YAML" in said
    assert catalog(copy, "fr").read_bytes() == before
