"""What the code reads from flows by name (bot/domain/contracts.py) is checked at load: a copy of
the shipped flows with one thing renamed fails `partnerbot flows check`, naming file and node."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.cli import main
from bot.content import load_flows
from bot.domain.concerns import Concern, ConcernError
from bot.domain.contracts import NEEDS, Asks
from bot.domain.flows import FlowError
from bot.i18n import Catalogs

ROOT = Path(__file__).resolve().parents[2]
KEYS = Catalogs.load(ROOT / "locales", default="en").keys()

Edit = Callable[[dict[str, Any]], None]


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.setenv("LOCALES_DIR", str(ROOT / "locales"))


def flows_check(directory: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """Run `partnerbot flows check DIR` in process: the exit status and the problem lines."""
    status = main(["flows", "check", str(directory)])
    err = capsys.readouterr().err
    return status, [line.strip() for line in err.splitlines()[1:]]


def copy_flows(target: Path, flow_id: str | None = None, edit: Edit | None = None) -> Path:
    """The shipped flows in `target`, with `edit` applied to flow `flow_id`."""
    shutil.copytree(ROOT / "flows", target, ignore=shutil.ignore_patterns("tests"))
    if flow_id is not None and edit is not None:
        path = target / f"{flow_id}.yaml"
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        edit(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return target


def node(flow: dict[str, Any], node_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(n for n in flow["nodes"] if n["id"] == node_id)
    return found


def rename(node_id: str, new_id: str) -> Edit:
    """Rename a node and every `next` leading to it, as an editor would."""

    def edit(flow: dict[str, Any]) -> None:
        for each in flow["nodes"]:
            if each["id"] == node_id:
                each["id"] = new_id
            if each.get("next") == node_id:
                each["next"] = new_id
        if flow["start"] == node_id:
            flow["start"] = new_id

    return edit


def chain(*edits: Edit) -> Edit:
    def edit(flow: dict[str, Any]) -> None:
        for each in edits:
            each(flow)

    return edit


def set_fields(node_id: str, **fields: Any) -> Edit:
    return lambda flow: node(flow, node_id).update(fields)


def option_value(node_id: str, old: str, new: str) -> Edit:
    def edit(flow: dict[str, Any]) -> None:
        for option in node(flow, node_id)["options"]:
            if option["value"] == old:
                option["value"] = new

    return edit


def identity_value(old: str, new: str) -> Edit:
    """The concern's identity option renamed, and the branch that tests it (before media)."""

    def edit(flow: dict[str, Any]) -> None:
        option_value("identity", old, new)(flow)
        for branch in node(flow, "identity")["next"]:
            if branch.get("when", {}).get("equals") == old:
                branch["when"]["equals"] = new

    return edit


@dataclass(frozen=True)
class Case:
    flow: str
    edit: Edit
    node: str | None  # where the problem is located (None: the flow as a whole)
    fragment: str


CASES = {
    "concern urgency renamed": Case(
        "concerns",
        rename("urgency", "priority"),
        None,
        "needs a choice question saved as 'urgency', for tickets",
    ),
    "concern text renamed": Case(
        "concerns", rename("text", "details"), None, "needs a text question saved as 'text'"
    ),
    "concern identity value renamed": Case(
        "concerns",
        identity_value("anonymous", "hidden"),
        "identity",
        "options ['hidden'] are not among ['named', 'anonymous']",
    ),
    "concern category of another kind": Case(
        "concerns",
        set_fields("category", ask="text", options=[]),
        "category",
        "answer 'category' must come from a choice question",
    ),
    "finisher misspelt": Case(
        "concerns", lambda f: f.update(finisher="concern"), None, "unknown finisher 'concern'"
    ),
    "time zone answer renamed": Case(
        "timezone",
        rename("zone", "where"),
        None,
        "needs a time_zone question saved as 'zone', for /timezone",
    ),
    "roles leads renamed": Case(
        "roles", rename("leads", "leading"), None, "saved as 'leads', for the role map report"
    ),
    "roles lead area not brought": Case(
        "roles",
        option_value("leads", "funding", "money"),
        "leads",
        "options ['money'] are not among ['local_knowledge', 'technical_skills', 'funding'",
    ),
    "a brought area the role map cannot word": Case(
        "roles",
        lambda f: node(f, "brings")["options"].append(
            {"value": "equipment", "label": "roles.brings.funding"}
        ),
        "brings",
        "keys missing in locale 'fr': roles.brings.equipment, for the role map report",
    ),
    "trust ratings renamed": Case(
        "trust_pulse",
        chain(*(rename(g, f"{g}_trust") for g in ("municipality", "private_sector", "community"))),
        None,
        "needs scale questions named after at least 2 stakeholder groups",
    ),
    "trust rating as text": Case(
        "trust_pulse",
        set_fields("community", ask="text", min=None, max=None, low_label=None, high_label=None),
        "community",
        "a stakeholder group's rating must be a scale",
    ),
    "a competency an objective needs, without its wording": Case(
        "objectives",
        lambda f: node(f, "needs")["options"].append(
            {"value": "digital", "label": "roles.brings.other"}
        ),
        "needs",
        "keys missing in locale 'en': roles.brings.digital",
    ),
    "a kind of objective Box 6.25 does not have": Case(
        "objectives",
        lambda f: node(f, "category")["options"].append(
            {"value": "cultural", "label": "objectives.category.social"}
        ),
        "category",
        "options ['cultural'] are not among",
    ),
    "progress rated under another name": Case(
        "objectives_progress",
        lambda f: node(f, "rating").update(save_as="score"),
        None,
        "needs a scale question saved as 'rating'",
    ),
    "no stakeholder group question": Case(
        "onboarding",
        lambda f: node(f, "group").pop("sets"),
        None,
        "needs a question that sets `stakeholder_group`",
    ),
}


def test_the_copy_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The copied flows are fine, so each case fails for its own edit."""
    assert flows_check(copy_flows(tmp_path / "flows"), capsys) == (0, [])


@pytest.mark.parametrize("name", list(CASES))
def test_a_broken_need_fails_flows_check(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    case = CASES[name]
    directory = copy_flows(tmp_path / "flows", case.flow, case.edit)
    where = [str(directory / f"{case.flow}.yaml"), f"flow '{case.flow}'"]
    where += [f"node '{case.node}'"] if case.node else []
    status, problems = flows_check(directory, capsys)
    assert status == 1
    assert [p for p in problems if p.startswith(", ".join(where) + ": ")] == problems, problems
    assert [p for p in problems if case.fragment in p], problems


def test_a_renamed_node_names_the_file_and_the_node(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The issue's example: renaming a question tickets read is one line naming both."""
    directory = copy_flows(tmp_path / "flows", "concerns", rename("urgency", "priority"))
    assert flows_check(directory, capsys) == (
        1,
        [
            f"{directory / 'concerns.yaml'}, flow 'concerns': needs a choice question saved as "
            "'urgency', for tickets: a finished concern becomes a ticket "
            "(bot/domain/concerns.py)"
        ],
    )


def test_any_flow_handed_to_a_finisher_meets_its_needs(tmp_path: Path) -> None:
    """The needs of `finisher: concerns` follow the declaration, whatever the flow's id."""
    directory = copy_flows(tmp_path / "flows")
    data = yaml.safe_load((directory / "concerns.yaml").read_text(encoding="utf-8"))
    data.update(id="grievance", command="grievance")
    rename("identity", "who")(data)
    (directory / "grievance.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    with pytest.raises(FlowError) as caught:
        load_flows(directory, locale_keys=KEYS)
    assert [(p.flow, p.node, p.message.split(",")[0]) for p in caught.value.problems] == [
        ("grievance", None, "needs a choice question saved as 'identity'")
    ]


@pytest.mark.parametrize("flow_id", ["concerns", "trust_pulse", "objectives_progress"])
def test_a_flow_left_out_turns_its_feature_off(tmp_path: Path, flow_id: str) -> None:
    directory = copy_flows(tmp_path / "flows")
    (directory / f"{flow_id}.yaml").unlink()
    assert flow_id not in load_flows(directory, locale_keys=KEYS)


def test_tickets_read_every_declared_answer() -> None:
    """Each answer the table declares for tickets is one `Concern.from_answers` cannot do
    without, and the values it declares are ones a ticket takes."""
    (tickets,) = [n for n in NEEDS if n.finisher == "concerns"]
    asks = [r for r in tickets.rules if isinstance(r, Asks)]
    answers = {r.key: (r.values[-1] if r.values else "Too loud at night") for r in asks}
    assert Concern.from_answers(answers).anonymous
    for rule in asks:
        with pytest.raises(ConcernError):
            Concern.from_answers({k: v for k, v in answers.items() if k != rule.key})
