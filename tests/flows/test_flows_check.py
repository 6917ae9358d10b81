"""`partnerbot flows check` catches every class of broken flow, naming file, flow and node.

Each case copies a good flow, breaks one thing, and runs the real command on it (in this
process: `main` with the command's arguments, its output captured).
"""

from __future__ import annotations

import copy
import io
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.pofile import read_po, write_po

from bot.cli import main
from bot.content import load_flows
from bot.domain.flows import FlowError
from bot.i18n import Catalogs

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "locales"

# A small valid flow using keys the shipped catalogs translate.
GOOD: dict[str, Any] = {
    "schema": 1,
    "id": "demo",
    "version": 1,
    "title": "roles.title",
    "command": "demo",
    "start": "hello",
    "nodes": [
        {"id": "hello", "say": "roles.intro", "next": "ask_colour"},
        {
            "id": "ask_colour",
            "ask": "choice",
            "text": "onboarding.group",
            "options": [
                {"value": "municipality", "label": "group.municipality"},
                {"value": "other", "label": "group.other"},
            ],
            "next": [{"when": {"equals": "other"}, "goto": "ask_more"}, {"goto": "bye"}],
        },
        {"id": "ask_more", "ask": "text", "text": "roles.unclear", "next": "bye"},
        {"id": "bye", "end": "roles.thanks"},
    ],
}


@dataclass(frozen=True)
class Result:
    """What `partnerbot flows …` did: its exit status and what it printed."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture(autouse=True)
def environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The settings the command reads: English by default, the shipped catalogs."""
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.setenv("LOCALES_DIR", str(LOCALES))


def run(*args: str) -> Result:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        try:
            status = main(["flows", *args])
        except SystemExit as exc:  # as the interpreter reports it when the command exits
            status = exc.code if isinstance(exc.code, int) else int(exc.code is not None)
            if isinstance(exc.code, str):
                print(exc.code, file=err)
    return Result(status, out.getvalue(), err.getvalue())


def check(directory: Path, locales: Path = LOCALES) -> Result:
    return run("check", str(directory), "--locales", str(locales))


def write(path: Path, flow: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(flow, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return path


def node(flow: dict[str, Any], node_id: str) -> dict[str, Any]:
    found: dict[str, Any] = next(n for n in flow["nodes"] if n.get("id") == node_id)
    return found


def problem_lines(result: Result) -> list[str]:
    """The problems listed on stderr after the `N problem(s) in DIR:` header.

    Each starts with its file's path; a YAML parser's message may run on over more lines.
    """
    header, *rest = result.stderr.splitlines()
    directory = header.split(" problem(s) in ")[1].removesuffix(":")
    lines = [line.strip() for line in rest if line.startswith(f"  {directory}/")]
    assert header == f"{len(lines)} problem(s) in {directory}:"
    return lines


def assert_reported(result: Result, where: str, fragment: str, count: int = 1) -> None:
    """Exit code 1, and `count` problem lines at `where` that contain `fragment`."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = problem_lines(result)
    matching = [line for line in lines if line.startswith(where + ": ") and fragment in line]
    assert len(matching) == count, lines


def located(path: Path, node_id: str | None = None, flow_id: str | None = "demo") -> str:
    """How a problem names its place: `file, flow 'x', node 'y'`."""
    parts = [str(path)]
    parts += [f"flow '{flow_id}'"] if flow_id else []
    parts += [f"node '{node_id}'"] if node_id else []
    return ", ".join(parts)


@dataclass(frozen=True)
class Break:
    """One way to break GOOD: edit it, then expect `fragment` at `node` (None: the flow)."""

    edit: Callable[[dict[str, Any]], None]
    node: str | None
    fragment: str
    count: int = 1


def _set(node_id: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda flow: node(flow, node_id).update(fields)


def _drop(node_id: str, field: str) -> Callable[[dict[str, Any]], None]:
    return lambda flow: node(flow, node_id).pop(field)


def _add(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda flow: flow["nodes"].insert(-1, fields)


def _header(**fields: Any) -> Callable[[dict[str, Any]], None]:
    return lambda flow: flow.update(fields)


def _long_node_id(flow: dict[str, Any]) -> None:
    node(flow, "ask_colour")["id"] = LONG_ID
    node(flow, "hello")["next"] = LONG_ID


def _loop(flow: dict[str, Any]) -> None:
    node(flow, "ask_more")["next"] = "spin"
    flow["nodes"].insert(-1, {"id": "spin", "say": "roles.intro", "next": "ask_more"})


WIDEST_RUN = "9" * 19  # a signed 64-bit run id has at most 19 digits
LONG_ID = "q" * 40  # the longest slug
LONG_VALUE = "v" * 40
ONE_OPTION = [{"value": "other", "label": "group.other"}]
BREAKS = {
    "unknown target": Break(
        _set("ask_more", next="nowhere"), "ask_more", "unknown target 'nowhere'"
    ),
    "unknown branch target": Break(
        _set("ask_colour", next=[{"goto": "elsewhere"}]),
        "ask_colour",
        "unknown target 'elsewhere'",
    ),
    "unknown start": Break(_header(start="nowhere"), None, "start node 'nowhere' does not exist"),
    "unreachable node": Break(
        _add(id="orphan", say="roles.intro", next="bye"),
        "orphan",
        "unreachable: no path leads here from the start",
    ),
    "duplicate node id": Break(
        _add(id="ask_more", say="roles.intro", next="bye"), "ask_more", "duplicate node id"
    ),
    "payload over 64 bytes (value)": Break(
        lambda flow: node(flow, "ask_colour")["options"][0].update(value=LONG_VALUE),
        "ask_colour",
        f"button payload for value '{LONG_VALUE}' takes "
        f"{len(f'a:{WIDEST_RUN}:ask_colour:{LONG_VALUE}')} bytes",
    ),
    "payload over 64 bytes (node id)": Break(
        _long_node_id,
        LONG_ID,
        f"value 'municipality' takes {len(f'a:{WIDEST_RUN}:{LONG_ID}:municipality')} bytes",
    ),
    "no node kind": Break(
        _drop("ask_more", "ask"), "ask_more", "a node needs exactly one of `ask`, `say` or `end`"
    ),
    "two node kinds": Break(
        _set("bye", say="roles.intro"), "bye", "a node needs exactly one of `ask`, `say` or `end`"
    ),
    "unknown ask kind": Break(
        _set("ask_more", ask="slider"), "ask_more", "ask: Input should be 'choice', 'multi_choice'"
    ),
    "choice with one option": Break(
        _set("ask_colour", options=ONE_OPTION),
        "ask_colour",
        "a choice question needs at least two options",
    ),
    "repeated option value": Break(
        _set("ask_colour", options=ONE_OPTION * 2), "ask_colour", "option values must be unique"
    ),
    "branch list without default": Break(
        _set("ask_colour", next=[{"when": {"equals": "other"}, "goto": "ask_more"}]),
        "ask_colour",
        "a branch list must end with a `goto` that has no `when`",
    ),
    "empty condition": Break(
        _set("ask_colour", next=[{"when": {}, "goto": "ask_more"}, {"goto": "bye"}]),
        "ask_colour",
        "a condition needs at least one test",
    ),
    "condition on an unknown answer": Break(
        _set(
            "ask_colour",
            next=[
                {"when": {"answer": "ghost", "equals": "x"}, "goto": "ask_more"},
                {"goto": "bye"},
            ],
        ),
        "ask_colour",
        "condition refers to unknown answer 'ghost'",
    ),
    "say branching on no answer": Break(
        _set("hello", next=[{"when": {"equals": "x"}, "goto": "bye"}, {"goto": "ask_colour"}]),
        "hello",
        "a `say` node can only branch on a named `answer`",
    ),
    "answer name used twice": Break(
        _set("ask_more", save_as="ask_colour"),
        "ask_more",
        "answer name 'ask_colour' is also used by node 'ask_colour'",
    ),
    "unknown start_flow": Break(
        _set("bye", start_flow="nosuch"), "bye", "start_flow names unknown flow 'nosuch'"
    ),
    "loop with no way out": Break(
        _loop,
        "ask_more",
        "no path leads from here to an `end` node",
    ),
    "media question accepting nothing": Break(
        _set("ask_more", ask="media", skippable=True),
        "ask_more",
        "a media question needs `accepts`",
    ),
    "media question accepting an unknown kind": Break(
        _set("ask_more", ask="media", skippable=True, accepts=["voice", "sticker"]),
        "ask_more",
        "accepts.1: Input should be 'voice', 'photo', 'document' or 'location'",
    ),
    "media question without Skip": Break(
        _set("ask_more", ask="media", accepts=["photo"]), "ask_more", "must be skippable"
    ),
    "media question taking too many": Break(
        _set("ask_more", ask="media", accepts=["photo"], skippable=True, max_items=11),
        "ask_more",
        "max_items: Input should be less than or equal to 10",
    ),
    "accepts on a text question": Break(
        _set("ask_more", accepts=["photo"]), "ask_more", "`accepts` and `max_items` belong on"
    ),
    "scale without labels": Break(
        _set("ask_more", ask="scale", min=1, max=5), "ask_more", "a scale needs low_label"
    ),
    "scale of eleven steps": Break(
        _set(
            "ask_more", ask="scale", min=0, max=10, low_label="common.no", high_label="common.yes"
        ),
        "ask_more",
        "at most 10 steps",
    ),
    "number min above max": Break(
        _set("ask_more", ask="number", min=5, max=1), "ask_more", "min is above max"
    ),
    "sets on a yes/no": Break(
        _set("ask_more", ask="yes_no", sets="organisation"),
        "ask_more",
        "`sets` takes the answer of a choice, text or time_zone question",
    ),
    "language option with no catalog": Break(
        lambda flow: node(flow, "ask_colour").update(
            sets="language",
            options=[
                {"value": "en", "label": "language.name.en"},
                {"value": "de", "label": "language.name.fr"},
            ],
            next="ask_more",
        ),
        "ask_colour",
        "language options ['de'] have no catalog",
    ),
    "key in no locale": Break(
        _set("ask_more", text="roles.nonexistent"),
        "ask_more",
        "keys missing in locale '",
        count=2,
    ),
    "branch value a yes/no question never gives": Break(
        _set(
            "ask_more",
            ask="yes_no",
            next=[{"when": {"equals": "maybe"}, "goto": "bye"}, {"goto": "bye"}],
        ),
        "ask_more",
        "answer 'ask_more' (yes_no) is never 'maybe'; its values: ['yes', 'no']",
    ),
    "branch value not among the options": Break(
        _set(
            "ask_colour",
            next=[{"when": {"in": ["other", "blue"]}, "goto": "ask_more"}, {"goto": "bye"}],
        ),
        "ask_colour",
        "answer 'ask_colour' (choice) is never 'blue'; its values: ['municipality', 'other']",
    ),
    "branch value outside a scale": Break(
        _set(
            "ask_more",
            ask="scale",
            low_label="common.no",
            high_label="common.yes",
            next=[{"when": {"equals": 6}, "goto": "bye"}, {"goto": "bye"}],
        ),
        "ask_more",
        "answer 'ask_more' (scale) is never 6; it takes a whole number from 1 to 5",
    ),
    "number comparison on a choice": Break(
        _set("ask_colour", next=[{"when": {"gte": 2}, "goto": "ask_more"}, {"goto": "bye"}]),
        "ask_colour",
        "answer 'ask_colour' (choice) is not a number: lt/lte/gt/gte never hold",
    ),
    "contains on a single choice": Break(
        _set(
            "ask_colour",
            next=[{"when": {"contains": "other"}, "goto": "ask_more"}, {"goto": "bye"}],
        ),
        "ask_colour",
        "never contains 'other'; `contains` tests a multi_choice answer",
    ),
    "skipped on a question that cannot be skipped": Break(
        _set("ask_colour", next=[{"when": {"skipped": True}, "goto": "ask_more"}, {"goto": "bye"}]),
        "ask_colour",
        "cannot be skipped: `skipped: true` never holds",
    ),
    "named answer tested for a value it never takes": Break(
        _set(
            "ask_more",
            next=[
                {"when": {"answer": "ask_colour", "equals": "green"}, "goto": "bye"},
                {"goto": "bye"},
            ],
        ),
        "ask_more",
        "answer 'ask_colour' (choice) is never 'green'",
    ),
    "wrong schema version": Break(
        _header(schema=2), None, "unsupported schema 2; this version reads schema 1"
    ),
    "bad slug": Break(_set("ask_more", id="Ask More"), "Ask More", "id: String should match"),
    "unknown node field": Break(
        _set("ask_colour", colour="red"), "ask_colour", "colour: Extra inputs are not permitted"
    ),
    "unknown condition field": Break(
        _set("ask_colour", next=[{"when": {"equal": "x"}, "goto": "ask_more"}, {"goto": "bye"}]),
        "ask_colour",
        "equal: Extra inputs are not permitted",
    ),
    "unknown flow field": Break(
        _header(author="me"), None, "author: Extra inputs are not permitted"
    ),
    "missing title": Break(lambda flow: flow.pop("title"), None, "title: Field required"),
}


def test_the_good_flow_passes(tmp_path: Path) -> None:
    """The base every case breaks is itself valid, so each failure is the break's."""
    write(tmp_path / "broken.yaml", GOOD)
    result = check(tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert "1 flow(s) OK" in result.stdout
    assert "demo v1" in result.stdout


@pytest.mark.parametrize("name", list(BREAKS))
def test_broken_flow_is_caught(name: str, tmp_path: Path) -> None:
    case = BREAKS[name]
    flow = copy.deepcopy(GOOD)
    case.edit(flow)
    path = write(tmp_path / "broken.yaml", flow)
    result = check(tmp_path)
    assert_reported(result, located(path, case.node), case.fragment, case.count)


@pytest.mark.parametrize(("value_length", "ok"), [(31, True), (32, False)])
def test_payload_limit_is_exactly_64_bytes(tmp_path: Path, value_length: int, ok: bool) -> None:
    """`a:<19 digits>:ask_colour:<value>` is 64 bytes with a 31-letter value, 65 with 32."""
    flow = copy.deepcopy(GOOD)
    node(flow, "ask_colour")["options"][0]["value"] = "v" * value_length
    path = write(tmp_path / "broken.yaml", flow)
    result = check(tmp_path)
    if ok:
        assert result.returncode == 0, result.stderr
    else:
        assert_reported(result, located(path, "ask_colour"), "takes 65 bytes, over Telegram's 64")


def test_bad_yaml_names_the_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("schema: 1\nid: demo\nnodes: [\n  - id: x\n", encoding="utf-8")
    result = check(tmp_path)
    assert_reported(result, str(path), "not valid YAML (line 4, column 3): while parsing")
    assert len(result.stderr.strip().splitlines()) == 2, "one header line, one problem line"


def test_a_file_that_is_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("- just\n- a list\n", encoding="utf-8")
    assert_reported(check(tmp_path), str(path), "a flow file holds one mapping")


def test_duplicate_flow_id_across_files(tmp_path: Path) -> None:
    first = write(tmp_path / "broken.yaml", GOOD)
    second = write(tmp_path / "copy.yaml", {**GOOD, "command": "other"})
    assert_reported(check(tmp_path), located(second), f"flow id also defined in {first}")


def test_duplicate_command_across_flows(tmp_path: Path) -> None:
    write(tmp_path / "a.yaml", {**GOOD, "id": "first"})
    second = write(tmp_path / "broken.yaml", GOOD)
    result = check(tmp_path)
    assert_reported(result, located(second), "command /demo is also used by flow 'first'")


def copy_locales(target: Path, *, drop: str | None = None, blank: str | None = None) -> Path:
    """Copy the shipped .po files (not .mo), removing or blanking one French entry."""
    for po in sorted(LOCALES.glob("*/LC_MESSAGES/partnerbot.po")):
        locale = po.parent.parent.name
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=locale)
        if locale == "fr" and drop:
            assert drop in catalog
            del catalog[drop]
        if locale == "fr" and blank:
            catalog[blank].string = ""
        out = target / locale / "LC_MESSAGES" / "partnerbot.po"
        out.parent.mkdir(parents=True)
        with out.open("wb") as fh:
            write_po(fh, catalog)
    return target


def test_copied_locales_pass(tmp_path: Path) -> None:
    """The copy itself is complete, so the cases below fail for the entry they remove."""
    (tmp_path / "flows").mkdir()
    write(tmp_path / "flows" / "broken.yaml", GOOD)
    result = check(tmp_path / "flows", copy_locales(tmp_path / "locales"))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("how", ["drop", "blank"])
def test_key_missing_in_one_locale(tmp_path: Path, how: str) -> None:
    """A key one shipped locale lacks (or leaves empty) is reported for that locale only."""
    (tmp_path / "flows").mkdir()
    path = write(tmp_path / "flows" / "broken.yaml", GOOD)
    locales = copy_locales(tmp_path / "locales", **{how: "group.other"})
    result = check(tmp_path / "flows", locales)
    where = located(path, "ask_colour")
    assert_reported(result, where, "keys missing in locale 'fr': group.other")
    assert problem_lines(result) == [f"{where}: keys missing in locale 'fr': group.other"]


def test_flow_title_missing_in_one_locale(tmp_path: Path) -> None:
    (tmp_path / "flows").mkdir()
    path = write(tmp_path / "flows" / "broken.yaml", GOOD)
    locales = copy_locales(tmp_path / "locales", drop="roles.title")
    result = check(tmp_path / "flows", locales)
    assert_reported(result, located(path), "keys missing in locale 'fr': roles.title")


def test_every_problem_of_a_file_is_listed(tmp_path: Path) -> None:
    """Two broken nodes give two problems, not just the first."""
    flow = copy.deepcopy(GOOD)
    node(flow, "ask_colour")["options"] = ONE_OPTION
    node(flow, "ask_more")["ask"] = "slider"
    path = write(tmp_path / "broken.yaml", flow)
    result = check(tmp_path)
    assert_reported(result, located(path, "ask_colour"), "needs at least two options")
    assert_reported(result, located(path, "ask_more"), "Input should be 'choice'")
    assert len(problem_lines(result)) == 2


def test_every_graph_problem_is_listed(tmp_path: Path) -> None:
    flow = copy.deepcopy(GOOD)
    node(flow, "ask_more")["next"] = "nowhere"
    node(flow, "ask_colour")["options"][0]["value"] = LONG_VALUE
    path = write(tmp_path / "broken.yaml", flow)
    result = check(tmp_path)
    assert_reported(result, located(path, "ask_more"), "unknown target 'nowhere'")
    assert_reported(result, located(path, "ask_colour"), "button payload")
    assert len(problem_lines(result)) == 2


def test_problems_of_every_file_are_listed(tmp_path: Path) -> None:
    first = write(tmp_path / "a.yaml", {**GOOD, "id": "first", "schema": 3})
    broken = copy.deepcopy(GOOD)
    node(broken, "bye")["start_flow"] = "nosuch"
    second = write(tmp_path / "broken.yaml", broken)
    result = check(tmp_path)
    assert_reported(result, located(first, flow_id="first"), "unsupported schema 3")
    assert_reported(result, located(second, "bye"), "start_flow names unknown flow 'nosuch'")


def test_loader_raises_with_every_problem(tmp_path: Path) -> None:
    """In process, FlowError carries each problem with its file, flow and node."""
    flow = copy.deepcopy(GOOD)
    node(flow, "ask_colour")["options"] = ONE_OPTION
    node(flow, "ask_more").pop("ask")
    path = write(tmp_path / "broken.yaml", flow)
    keys = Catalogs.load(LOCALES, default="en").keys()
    with pytest.raises(FlowError) as caught:
        load_flows(tmp_path, locale_keys=keys)
    found = [(p.file, p.flow, p.node) for p in caught.value.problems]
    assert found == [(str(path), "demo", "ask_colour"), (str(path), "demo", "ask_more")]


def test_shipped_flows_pass() -> None:
    result = check(ROOT / "flows")
    assert (result.returncode, result.stderr) == (0, "")
    shipped = sorted(p.stem for p in (ROOT / "flows").glob("*.yaml"))
    assert f"{len(shipped)} flow(s) OK" in result.stdout
    assert all(f"{flow_id} v" in result.stdout for flow_id in shipped)


def test_graph_of_onboarding() -> None:
    """The Mermaid chart has every node of the flow file and its branches."""
    result = run("graph", "onboarding", "--dir", str(ROOT / "flows"))
    assert (result.returncode, result.stderr) == (0, "")
    lines = result.stdout.splitlines()
    assert lines[0] == "flowchart TD"
    data = yaml.safe_load((ROOT / "flows" / "onboarding.yaml").read_text(encoding="utf-8"))
    ids = [n["id"] for n in data["nodes"]]
    declared = {line.split("[")[0].split("(")[0].strip() for line in lines[1 : len(ids) + 1]}
    assert declared == set(ids)
    assert '    consent -- "answer = no" --> refused' in lines
    assert "    consent --> language" in lines
    assert '    go_roles(["go_roles<br/>end<br/>then roles"])' in lines


def test_graph_of_unknown_flow() -> None:
    result = run("graph", "nosuch", "--dir", str(ROOT / "flows"))
    assert result.returncode == 1
    assert "no flow 'nosuch'; known: " in result.stderr
    assert "onboarding" in result.stderr and "roles" in result.stderr
