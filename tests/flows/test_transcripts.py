"""The golden transcripts in flows/tests/<flow>.yaml, one test per case: what a member sends,
the questions asked, the answers saved (format: flows/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.content import load_flows, load_transcripts, run_transcripts
from bot.domain.transcripts import Case, TranscriptFile, parse_transcripts
from bot.i18n import Catalogs

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = Catalogs.load(ROOT / "locales", default="en")
SHIPPED = load_flows(ROOT / "flows", locale_keys=CATALOGS.keys())
FILES = load_transcripts(ROOT / "flows")
CASES = {
    f"{Path(source).stem}: {case.name}": (source, case) for source, t in FILES for case in t.cases
}


def run(flow_id: str, case: Case) -> list[str]:
    file = TranscriptFile(flow=flow_id, cases=(case,))
    return next(iter(run_transcripts(SHIPPED, [("inline.yaml", file)], CATALOGS).values()))


@pytest.mark.parametrize("name", list(CASES))
def test_transcript(name: str) -> None:
    source, case = CASES[name]
    [transcripts] = [t for s, t in FILES if s == source]
    assert run(transcripts.flow, case) == []


def test_every_transcript_file_names_its_flow() -> None:
    """`flows/tests/<flow>.yaml` holds the cases of `<flow>`, which the flows define."""
    assert FILES, "no transcripts found"
    assert [(Path(s).stem, t.flow in SHIPPED) for s, t in FILES] == [
        (t.flow, True) for _, t in FILES
    ]


def case_of(text: str) -> Case:
    return parse_transcripts(yaml.safe_load(text), source="inline.yaml").cases[0]


REFUSED = """
flow: onboarding
cases:
  - name: refused
    start: {says: [onboarding.welcome], asks: consent}
    turns:
      - {type: 'no', says: [onboarding.refused], saves: {consent: 'no'}, ends: true, discards: true}
"""


def test_a_case_that_holds() -> None:
    assert run("onboarding", case_of(REFUSED)) == []


@pytest.mark.parametrize(
    ("change", "difference"),
    [
        (
            ("saves: {consent: 'no'}", "saves: {consent: 'yes'}"),
            "turn 1 (type 'no'): saves expected {'consent': ('yes', 'str')}, "
            "got {'consent': ('no', 'str')}",
        ),
        (
            ("says: [onboarding.refused], ", ""),
            "turn 1 (type 'no'): says expected (), got ('onboarding.refused',)",
        ),
        (
            (", discards: true", ""),
            "turn 1 (type 'no'): discards expected False, got True",
        ),
        (
            ("asks: consent", "asks: language"),
            "start: asks expected 'language', got 'consent'",
        ),
    ],
)
def test_each_difference_is_named(change: tuple[str, str], difference: str) -> None:
    found = run("onboarding", case_of(REFUSED.replace(*change)))
    assert found == [difference]


def test_a_number_saved_is_not_its_text() -> None:
    """Saved values keep their type: a scale answer of 4 is not "4"."""
    text = """
flow: trust_pulse
cases:
  - name: typed
    start: {says: [trust_pulse.intro], asks: municipality}
    turns:
      - {type: '4', asks: private_sector, saves: {municipality: '4'}}
"""
    assert run("trust_pulse", case_of(text)) == [
        "turn 1 (type '4'): saves expected {'municipality': ('4', 'str')}, "
        "got {'municipality': (4, 'int')}"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (REFUSED.replace("saves: {consent: 'no'}", "saves: {consent: no}"), "quote"),
        (REFUSED.replace("ends: true", "end: true"), "end: Extra inputs are not permitted"),
        (REFUSED.replace("{type: 'no', ", "{"), "a turn either types text"),
        (REFUSED.replace("ends: true, ", ""), "`then` and `discards` come with `ends: true`"),
    ],
)
def test_a_malformed_file_is_refused_naming_it(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="inline.yaml: .*" + message):
        parse_transcripts(yaml.safe_load(text), source="inline.yaml")


def test_flows_test_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`partnerbot flows test` runs every file; a case that no longer holds fails it."""
    from bot.cli import main

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))
    flows = tmp_path / "flows"
    (flows / "tests").mkdir(parents=True)
    for source in (ROOT / "flows").glob("*.yaml"):
        (flows / source.name).write_bytes(source.read_bytes())
    (flows / "tests" / "onboarding.yaml").write_text(REFUSED, encoding="utf-8")
    assert main(["flows", "test", str(flows)]) == 0
    assert capsys.readouterr().out == "1 of 1 transcript(s) hold\n"
    broken = REFUSED.replace("discards: true", "then: roles")
    (flows / "tests" / "onboarding.yaml").write_text(broken, encoding="utf-8")
    assert main(["flows", "test", str(flows)]) == 1
    out = capsys.readouterr()
    assert out.out == "0 of 1 transcript(s) hold\n"
    assert "turn 1 (type 'no'): then expected 'roles', got None" in out.err


INVITED = """
flow: onboarding
cases:
  - name: invited
    given: {invited_group: community}
    start: {says: [onboarding.welcome], asks: consent}
    turns:
      - {press: 'yes', asks: language, saves: {consent: 'yes'}}
      - {press: en, asks: time_zone, saves: {language: en}, profile: {language: en}}
      - {press: _skip, says: [onboarding.group_invited], asks: group, saves: {time_zone: null}}
"""


def test_given_answers_reach_the_flow() -> None:
    """`given:` answers are there from the start, as an invitation link's are in the bot."""
    assert run("onboarding", case_of(INVITED)) == []
    assert run("onboarding", case_of(INVITED.replace("given: {invited_group: community}", ""))) == [
        "turn 3 (press '_skip'): says expected ('onboarding.group_invited',), got ()"
    ]


def test_given_answers_are_the_flows_own() -> None:
    text = INVITED.replace("given: {invited_group: community}", "given: {invited_team: x}")
    assert run("onboarding", case_of(text)) == ["given: invited_team not in the flow's `given`"]
