"""Golden tests of the flow engine: input sequences -> replies, saved answers, profile, state.

These drive test flows written for the engine's every kind and branch; the transcripts of the
shipped flows are YAML files in flows/tests/ (tests/flows/test_transcripts.py).

A transcript lists, turn by turn, what the member sent (`>`), what the engine replied
(`say <key>`, `ask <node>: <key>`, `hint <key> <params>`), what it saved (`save ...`), the
profile fields it set (`profile ...`) and how the turn ended (`closed`, `refresh`, `end ...`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.content import load_flows
from bot.domain.engine import (
    AnswerValue,
    FlowRuntimeError,
    Input,
    Label,
    PressInput,
    Reply,
    RunState,
    Step,
    TextInput,
    holds,
    prompt,
    resume,
    start,
)
from bot.domain.flows import AskNode, Condition, Flow, parse_flow
from bot.i18n import Catalogs

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = Catalogs.load(ROOT / "locales", default="en")
EN = CATALOGS.translator("en")
FR = CATALOGS.translator("fr")
SHIPPED = load_flows(ROOT / "flows", locale_keys=CATALOGS.keys())
ONBOARDING = SHIPPED["onboarding"]
ROLES = SHIPPED["roles"]


def inline(text: str, **header: Any) -> Flow:
    """Parse an inline flow (optionally overriding header fields); it must be valid."""
    data = yaml.safe_load(text)
    data.update(header)
    flow, problems = parse_flow(data, source="inline.yaml")
    assert flow is not None, [str(p) for p in problems]
    return flow


# Every ask kind. Option labels are real catalog keys, so typed French labels can be tested.
KINDS_YAML = """
schema: 1
id: kinds
version: 3
title: kinds.title
start: hello
nodes:
  - {id: hello, say: kinds.hello, next: group}
  - id: group
    ask: choice
    text: kinds.group
    sets: stakeholder_group
    options:
      - {value: municipality, label: group.municipality}
      - {value: private_sector, label: group.private_sector}
      - {value: other, label: group.other}
    next: brings
  - id: brings
    ask: multi_choice
    text: kinds.brings
    skippable: true
    options:
      - {value: funding, label: roles.brings.funding}
      - {value: decisions, label: roles.brings.decisions}
      - {value: time_labour, label: roles.brings.time_labour}
    next: clarity
  - id: clarity
    ask: scale
    text: kinds.clarity
    min: 0
    max: 4
    low_label: roles.clarity.low
    high_label: roles.clarity.high
    next: agree
  - {id: agree, ask: yes_no, text: kinds.agree, hint: kinds.agree_hint, next: age}
  - {id: age, ask: number, text: kinds.age, min: 18, max: 120, next: height}
  - {id: height, ask: number, text: kinds.height, integer: false, next: note}
  - id: note
    ask: text
    text: kinds.note
    max_length: 10
    skippable: true
    anonymous: true
    save_as: comment
    sets: role_title
    next: bye
  - {id: bye, end: kinds.bye}
"""
KINDS = inline(KINDS_YAML)

# Every condition test, `say` chains, conditions on other answers, and every kind of end.
BRANCHES = inline(
    """
schema: 1
id: branches
version: 1
title: b.title
start: intro
nodes:
  - {id: intro, say: b.intro, next: intro_more}
  - {id: intro_more, say: b.intro_more, next: score}
  - id: score
    ask: number
    text: b.score
    min: 0
    max: 100
    skippable: true
    next:
      - {when: {skipped: true}, goto: s_none}
      - {when: {lt: 10}, goto: s_lt10}
      - {when: {lte: 20}, goto: s_lte20}
      - {when: {gt: 90}, goto: s_gt90}
      - {when: {gte: 50}, goto: s_gte50}
      - {when: {equals: 42}, goto: s_eq42}
      - {goto: s_other}
  - {id: s_none, say: b.none, next: tools}
  - {id: s_lt10, say: b.lt10, next: tools}
  - {id: s_lte20, say: b.lte20, next: tools}
  - {id: s_gt90, say: b.gt90, next: tools}
  - {id: s_gte50, say: b.gte50, next: tools}
  - {id: s_eq42, say: b.eq42, next: tools}
  - {id: s_other, say: b.other, next: tools}
  - id: tools
    ask: multi_choice
    text: b.tools
    options:
      - {value: funding, label: b.funding}
      - {value: decisions, label: b.decisions}
      - {value: time_labour, label: b.time_labour}
    next:
      - {when: {contains: funding}, goto: t_funding}
      - {goto: colour}
  - {id: t_funding, say: b.funding_thanks, next: colour}
  - id: colour
    ask: choice
    text: b.colour
    options:
      - {value: red, label: b.red}
      - {value: green, label: b.green}
      - {value: blue, label: b.blue}
    next:
      - {when: {in: [red, blue]}, goto: c_red_blue}
      - {goto: verdict}
  - {id: c_red_blue, say: b.red_blue, next: verdict}
  - id: verdict
    say: b.verdict
    next:
      - {when: {answer: score, gte: 50, skipped: false}, goto: good}
      - {when: {answer: tools, contains: decisions}, goto: decider}
      - {when: {answer: score, skipped: true}, goto: unknown}
      - {goto: rest}
  - {id: good, end: b.good}
  - {id: decider, end: true, start_flow: roles}
  - {id: unknown, end: b.unknown, discard: true}
  - {id: rest, end: true}
"""
)


def speech(label: Label) -> dict[str, Any]:
    """How a member speaking `label`'s language is read, as the bot reads them."""
    locale = getattr(label, "locale", "en")
    return {"label": label, "words": CATALOGS.words, "decimal_mark": CATALOGS.decimal_mark(locale)}


def plain(key: str) -> str:
    """A label function for keys no catalog holds: `b.time_labour` reads "Time labour"."""
    return key.rsplit(".", 1)[-1].replace("_", " ").capitalize()


@dataclass(frozen=True)
class Press:
    """Press a button of the open question."""

    value: str


Turn = str | Press | PressInput


def render(step: Step) -> list[str]:
    """One engine step as transcript lines."""
    lines: list[str] = []
    for reply in step.replies:
        lines.append(show(reply))
    for saved in step.answers:
        privacy = ", anonymous" if saved.anonymous else ""
        lines.append(f"save {saved.key}={saved.value!r} ({saved.kind}{privacy})")
    lines += [f"profile {k}={v}" for k, v in sorted(step.profile.items())]
    if step.refresh:
        lines.append("refresh")
    if step.closed:
        lines.append("closed")
    elif step.finished:
        then = f" -> {step.start_flow}" if step.start_flow else ""
        lines.append(f"end{then}{' (discard)' if step.discard else ''}")
    return lines


def show(reply: Reply) -> str:
    if reply.hint:
        params = " ".join(f"{k}={v}" for k, v in reply.params.items())
        return f"hint {reply.key} {params}".rstrip()
    if reply.question is not None:
        picked = sorted(reply.question.selected)
        return f"ask {reply.question.node_id}: {reply.key}" + (f" {picked}" if picked else "")
    return f"say {reply.key}"


def as_input(turn: Turn, state: RunState) -> Input:
    if isinstance(turn, str):
        return TextInput(turn)
    if isinstance(turn, Press):
        assert state.node_id is not None
        return PressInput(state.node_id, turn.value)
    return turn


def transcript(flow: Flow, turns: list[Turn], label: Label, *, at: str | None = None) -> list[str]:
    """Drive `flow` (from its start, or from question `at`) and record every turn.

    Between turns the state goes through JSON, as the bot stores it.
    """
    step = start(flow) if at is None else prompt(flow, RunState(flow.id, flow.version, at))
    lines = render(step)
    for turn in turns:
        state = RunState.from_json(json.loads(json.dumps(step.state.to_json())))
        shown = f"[{turn.value}]" if isinstance(turn, Press) else repr(turn)
        lines.append(f"> {shown}")
        step = resume(flow, state, as_input(turn, state), **speech(label))
        lines += render(step)
    return lines


# Transcripts of the test flows above. Those of shipped flows are data, beside the flows:
# flows/tests/<flow>.yaml (tests/flows/test_transcripts.py).
TRANSCRIPTS: dict[str, tuple[Flow, list[Turn], Label, list[str]]] = {
    "kinds, every kind in a row": (
        KINDS,
        ["entreprise privée", "1; 3", "pas clairs du tout", "Oui", "42", "1,75", "hello"],
        FR,
        [
            "say kinds.hello",
            "ask group: kinds.group",
            "> 'entreprise privée'",
            "ask brings: kinds.brings",
            "save group='private_sector' (choice)",
            "profile stakeholder_group=private_sector",
            "> '1; 3'",
            "ask clarity: kinds.clarity",
            "save brings=['funding', 'time_labour'] (multi_choice)",
            "> 'pas clairs du tout'",
            "ask agree: kinds.agree",
            "save clarity=0 (scale)",
            "> 'Oui'",
            "ask age: kinds.age",
            "save agree='yes' (yes_no)",
            "> '42'",
            "ask height: kinds.height",
            "save age=42 (number)",
            "> '1,75'",
            "ask note: kinds.note",
            "save height=1.75 (number)",
            "> 'hello'",
            "say kinds.bye",
            "save comment='hello' (text, anonymous)",
            "profile role_title=hello",
            "end",
        ],
    ),
    "kinds, a wrong answer is asked again": (
        KINDS,
        ["9", "municipality"],
        EN,
        [
            "say kinds.hello",
            "ask group: kinds.group",
            "> '9'",
            "hint hint.choice count=3",
            "ask group: kinds.group",
            "> 'municipality'",
            "ask brings: kinds.brings",
            "save group='municipality' (choice)",
            "profile stakeholder_group=municipality",
        ],
    ),
    "branches, lt": (
        BRANCHES,
        ["5", Press("funding"), Press("_done"), "1"],
        plain,
        [
            "say b.intro",
            "say b.intro_more",
            "ask score: b.score",
            "> '5'",
            "say b.lt10",
            "ask tools: b.tools",
            "save score=5 (number)",
            "> [funding]",
            "ask tools: b.tools ['funding']",
            "refresh",
            "> [_done]",
            "say b.funding_thanks",
            "ask colour: b.colour",
            "save tools=['funding'] (multi_choice)",
            "> '1'",
            "say b.red_blue",
            "say b.verdict",
            "save colour='red' (choice)",
            "end",
        ],
    ),
    "branches, gt and an answer condition": (
        BRANCHES,
        ["95", "Decisions", "green"],
        plain,
        [
            "say b.intro",
            "say b.intro_more",
            "ask score: b.score",
            "> '95'",
            "say b.gt90",
            "ask tools: b.tools",
            "save score=95 (number)",
            "> 'Decisions'",
            "ask colour: b.colour",
            "save tools=['decisions'] (multi_choice)",
            "> 'green'",
            "say b.verdict",
            "say b.good",
            "save colour='green' (choice)",
            "end",
        ],
    ),
    "branches, equals and start_flow": (
        BRANCHES,
        ["42", "time labour, decisions", Press("blue")],
        plain,
        [
            "say b.intro",
            "say b.intro_more",
            "ask score: b.score",
            "> '42'",
            "say b.eq42",
            "ask tools: b.tools",
            "save score=42 (number)",
            "> 'time labour, decisions'",
            "ask colour: b.colour",
            "save tools=['decisions', 'time_labour'] (multi_choice)",
            "> [blue]",
            "say b.red_blue",
            "say b.verdict",
            "save colour='blue' (choice)",
            "end -> roles",
        ],
    ),
    "branches, skipped and discard": (
        BRANCHES,
        [Press("_skip"), "3", "2"],
        plain,
        [
            "say b.intro",
            "say b.intro_more",
            "ask score: b.score",
            "> [_skip]",
            "say b.none",
            "ask tools: b.tools",
            "save score=None (number)",
            "> '3'",
            "ask colour: b.colour",
            "save tools=['time_labour'] (multi_choice)",
            "> '2'",
            "say b.verdict",
            "say b.unknown",
            "save colour='green' (choice)",
            "end (discard)",
        ],
    ),
}


@pytest.mark.parametrize("name", list(TRANSCRIPTS))
def test_transcript(name: str) -> None:
    """A whole conversation produces exactly the golden transcript."""
    flow, turns, label, expected = TRANSCRIPTS[name]
    assert transcript(flow, turns, label) == expected


@pytest.mark.parametrize(
    ("score", "path"),
    [
        ("0", "s_lt10"),
        ("9", "s_lt10"),
        ("10", "s_lte20"),
        ("20", "s_lte20"),
        ("21", "s_other"),
        ("41", "s_other"),
        ("42", "s_eq42"),
        ("49", "s_other"),
        ("50", "s_gte50"),
        ("90", "s_gte50"),
        ("91", "s_gt90"),
        ("100", "s_gt90"),
    ],
)
def test_number_branches_at_their_bounds(score: str, path: str) -> None:
    """Branches are tried in order; lt/lte/gt/gte/equals hold exactly at their bounds."""
    step = resume(BRANCHES, start(BRANCHES).state, TextInput(score), label=plain)
    assert [r.key for r in step.replies] == [f"b.{path.removeprefix('s_')}", "b.tools"]


def test_multi_choice_toggles_and_done() -> None:
    """Buttons toggle in and out, in option order; a bad press keeps the selection."""
    lines = transcript(
        KINDS,
        [Press("time_labour"), Press("funding"), Press("time_labour"), Press("bogus"), "_done"],
        EN,
        at="brings",
    )
    assert lines == [
        "ask brings: kinds.brings",
        "> [time_labour]",
        "ask brings: kinds.brings ['time_labour']",
        "refresh",
        "> [funding]",
        "ask brings: kinds.brings ['funding', 'time_labour']",
        "refresh",
        "> [time_labour]",
        "ask brings: kinds.brings ['funding']",
        "refresh",
        "> [bogus]",
        "hint hint.multi_choice count=3",
        "ask brings: kinds.brings ['funding']",
        "> '_done'",
        "hint hint.multi_choice count=3",
        "ask brings: kinds.brings ['funding']",
    ]


def test_multi_choice_done_with_nothing_selected() -> None:
    """`_done` with nothing picked skips a skippable question and is refused otherwise."""
    assert transcript(KINDS, [Press("_done")], EN, at="brings")[-3:] == [
        "> [_done]",
        "ask clarity: kinds.clarity",
        "save brings=None (multi_choice)",
    ]
    assert transcript(ROLES, [Press("_done")], EN, at="brings")[-3:] == [
        "> [_done]",
        "hint hint.multi_choice count=7",
        "ask brings: roles.brings",
    ]


def test_skip_button_drops_a_selection() -> None:
    state = RunState("kinds", 3, "brings", selected=("funding",))
    step = resume(KINDS, state, PressInput("brings", "_skip"), label=EN)
    assert step.accepted
    assert step.answers[0].value is None
    assert step.state.answers == {"brings": None}
    assert step.state.selected == ()


@dataclass(frozen=True)
class Hint:
    """The expected refusal: a hint with this key and these parameters."""

    key: str
    params: dict[str, object]


def hint(key: str, **params: object) -> Hint:
    return Hint(key, params)


CHOICE_HINT = hint("hint.choice", count=3)
SCALE_HINT = hint("hint.scale", min=0, max=4)
AGE_HINT = hint("hint.number_between", min="18", max="120")

# (node of KINDS, input, label, expected value or hint)
ANSWERS: list[tuple[str, Turn, Label, AnswerValue | Hint]] = [
    ("group", "2", EN, "private_sector"),
    ("group", "2.", EN, "private_sector"),
    ("group", "3)", EN, "other"),
    ("group", "  MUNICIPALITÉ ", FR, "municipality"),
    ("group", "entreprise   PRIVÉE!", FR, "private_sector"),
    ("group", "private sector", FR, "private_sector"),
    ("group", "Other", EN, "other"),
    ("group", Press("other"), EN, "other"),
    ("group", "0", EN, CHOICE_HINT),
    ("group", "4", EN, CHOICE_HINT),
    ("group", "Private company", FR, "private_sector"),
    ("group", "Privat company", FR, "private_sector"),
    ("group", "Company", EN, CHOICE_HINT),
    ("group", Press("private-sector"), EN, CHOICE_HINT),
    ("group", Press("_skip"), EN, CHOICE_HINT),
    ("group", "1111111", EN, CHOICE_HINT),
    ("group", "1" * 5000, EN, CHOICE_HINT),
    ("brings", "1, 3", EN, ["funding", "time_labour"]),
    ("brings", "3 1", EN, ["funding", "time_labour"]),
    ("brings", "2,2", EN, ["decisions"]),
    ("brings", "pouvoir de décision; FINANCEMENT OU RESSOURCES", FR, ["funding", "decisions"]),
    ("brings", "Time and work\nFunding or resources", EN, ["funding", "time_labour"]),
    ("brings", "Passer", FR, None),
    ("brings", "1, 4", EN, hint("hint.multi_choice", count=3)),
    ("brings", ",;", EN, hint("hint.multi_choice", count=3)),
    ("clarity", "0", EN, 0),
    ("clarity", "4", EN, 4),
    ("clarity", Press("3"), EN, 3),
    ("clarity", "  PAS CLAIRS DU TOUT ", FR, 0),
    ("clarity", "Très clairs!", FR, 4),
    ("clarity", "Very clear", EN, 4),
    ("clarity", "5", EN, SCALE_HINT),
    ("clarity", "-1", EN, SCALE_HINT),
    ("clarity", "2.5", EN, SCALE_HINT),
    ("clarity", "very clear", FR, 4),
    ("clarity", "very unclear", FR, SCALE_HINT),
    ("clarity", "²", EN, SCALE_HINT),
    ("clarity", Press("5"), EN, SCALE_HINT),
    ("clarity", Press("²"), EN, SCALE_HINT),
    ("clarity", Press("_skip"), EN, SCALE_HINT),
    ("agree", "yes", EN, "yes"),
    ("agree", "no", EN, "no"),
    ("agree", "1", EN, "yes"),
    ("agree", "2", EN, "no"),
    ("agree", "  oui ", FR, "yes"),
    ("agree", "NON", FR, "no"),
    ("agree", "yes", FR, "yes"),
    ("agree", Press("no"), FR, "no"),
    ("agree", "oui", EN, "yes"),
    ("agree", "maybe", EN, hint("kinds.agree_hint")),
    ("agree", "3", EN, hint("kinds.agree_hint")),
    ("age", "18", EN, 18),
    ("age", " 120 ", EN, 120),
    ("age", "42.0", EN, 42),
    ("age", "17", EN, AGE_HINT),
    ("age", "121", EN, AGE_HINT),
    ("age", "3,5", EN, AGE_HINT),
    ("age", "forty", EN, AGE_HINT),
    ("age", "nan", EN, AGE_HINT),
    ("age", "inf", EN, AGE_HINT),
    ("age", Press("42"), EN, AGE_HINT),
    ("height", "3,5", FR, 3.5),
    ("height", "3,5", EN, hint("hint.number_format", number="3.5")),
    ("height", "1.75", EN, 1.75),
    ("height", "2", EN, 2.0),
    ("height", "-0,5", FR, -0.5),
    ("height", "1e400", EN, hint("hint.number")),
    ("height", "", EN, hint("hint.number")),
    ("note", "hello", EN, "hello"),
    ("note", "  padded  ", EN, "padded"),
    ("note", "x" * 10, EN, "x" * 10),
    ("note", Press("_skip"), EN, None),
    ("note", "  PASSER ", FR, None),
    ("note", "/skip", FR, None),
    ("note", "skip.", EN, None),
    ("note", "x" * 11, EN, hint("hint.text", max=10)),
    ("note", "   ", EN, hint("hint.text", max=10)),
    ("note", Press("hello"), EN, hint("hint.text", max=10)),
]
NEXT: dict[str, str | None] = {
    "group": "brings",
    "brings": "clarity",
    "clarity": "agree",
    "agree": "age",
}
NEXT |= {"age": "height", "height": "note", "note": None}


ANSWER_IDS = [
    f"{node}:{turn!r:.24}:{getattr(label, 'locale', '')}" for node, turn, label, _ in ANSWERS
]


@pytest.mark.parametrize(("node_id", "turn", "label", "expected"), ANSWERS, ids=ANSWER_IDS)
def test_answer(node_id: str, turn: Turn, label: Label, expected: AnswerValue | Hint) -> None:
    """One input to one question: the value saved, or a hint and the same question."""
    state = RunState("kinds", 3, node_id, answers={"earlier": "kept"})
    step = resume(KINDS, state, as_input(turn, state), **speech(label))
    node = KINDS.node(node_id)
    assert isinstance(node, AskNode)
    if isinstance(expected, Hint):
        assert not step.accepted
        assert step.state == replace(state, misses=1)
        assert (step.answers, dict(step.profile)) == ((), {})
        assert [(r.key, dict(r.params), r.hint) for r in step.replies[:1]] == [
            (expected.key, expected.params, True)
        ]
        assert step.replies[1:] == prompt(KINDS, state).replies
        return
    assert step.accepted
    assert [(a.node_id, a.key, a.kind) for a in step.answers] == [(node_id, node.key, node.ask)]
    saved = step.answers[0].value
    assert (saved, type(saved)) == (expected, type(expected))
    assert step.answers[0].anonymous is (node_id == "note")
    assert step.state.answers == {"earlier": "kept", node.key: expected}
    assert step.state.node_id == NEXT[node_id]


def test_profile_fields_come_from_choice_and_text_answers() -> None:
    state = RunState("kinds", 3, "note")
    assert resume(KINDS, state, TextInput("Mayor"), label=EN).profile == {"role_title": "Mayor"}
    assert resume(KINDS, state, TextInput("/skip"), label=EN).profile == {}


def test_anonymous_flow_marks_every_answer_anonymous() -> None:
    flow = inline(KINDS_YAML, anonymous=True)
    step = resume(flow, RunState("kinds", 3, "group"), TextInput("1"), label=EN)
    assert [a.anonymous for a in step.answers] == [True]
    step = resume(KINDS, RunState("kinds", 3, "group"), TextInput("1"), label=EN)
    assert [a.anonymous for a in step.answers] == [False]


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (RunState("onboarding", 1, "language"), PressInput("consent", "yes")),
        (RunState("onboarding", 1, "language"), PressInput("group", "community")),
        (RunState("onboarding", 1, None), PressInput("consent", "yes")),
        (RunState("onboarding", 1, None), TextInput("yes")),
        (RunState("onboarding", 1, "welcome"), TextInput("yes")),
        (RunState("onboarding", 1, "no_such_node"), TextInput("yes")),
        (RunState("roles", 1, "consent"), PressInput("consent", "yes")),
    ],
)
def test_press_on_a_question_no_longer_open_is_closed(state: RunState, event: Input) -> None:
    """Input for anything but the open question changes nothing and says nothing."""
    step = resume(ONBOARDING, state, event, label=EN)
    assert (step.closed, step.accepted, step.replies, step.answers) == (True, False, (), ())
    assert step.state == state


def test_a_real_answer_then_the_old_button_again() -> None:
    first = resume(ONBOARDING, start(ONBOARDING).state, PressInput("consent", "yes"), label=EN)
    again = resume(ONBOARDING, first.state, PressInput("consent", "no"), label=EN)
    assert first.state.node_id == "language"
    assert again.closed
    assert again.state == first.state


def test_prompt_asks_the_open_question_again() -> None:
    state = RunState("roles", 1, "brings", answers={}, selected=("funding",))
    step = prompt(ROLES, state)
    assert (step.accepted, step.closed, step.state) == (False, False, state)
    assert [show(r) for r in step.replies] == ["ask brings: roles.brings ['funding']"]
    question = step.replies[0].question
    assert question is not None
    assert [(o.number, o.value, o.label) for o in question.options[:2]] == [
        (1, "local_knowledge", "roles.brings.local_knowledge"),
        (2, "technical_skills", "roles.brings.technical_skills"),
    ]
    assert prompt(ROLES, RunState("roles", 1, None)).closed


def test_scale_question_view() -> None:
    question = prompt(KINDS, RunState("kinds", 3, "clarity")).replies[0].question
    assert question is not None
    assert [(o.number, o.value, o.text) for o in question.options] == [
        (1, "0", "0"),
        (2, "1", "1"),
        (3, "2", "2"),
        (4, "3", "3"),
        (5, "4", "4"),
    ]
    assert (question.min, question.max) == (0, 4)
    assert (question.low_label, question.high_label) == ("roles.clarity.low", "roles.clarity.high")


@pytest.mark.parametrize(
    ("condition", "answers", "expected"),
    [
        ({"equals": "a"}, {"q": "a"}, True),
        ({"equals": "a"}, {"q": "b"}, False),
        ({"equals": 3}, {"q": 3.0}, True),
        ({"equals": 3}, {"q": "3"}, True),
        ({"equals": True}, {"q": "yes"}, True),
        ({"equals": False}, {"q": "yes"}, False),
        ({"in": ["a", "b"]}, {"q": "b"}, True),
        ({"in": ["a", "b"]}, {"q": "c"}, False),
        ({"in": [True]}, {"q": "yes"}, True),
        ({"lt": 3}, {"q": 2.5}, True),
        ({"lt": 3}, {"q": 3}, False),
        ({"lte": 3}, {"q": 3}, True),
        ({"gt": 3}, {"q": 3}, False),
        ({"gte": 3}, {"q": 3}, True),
        ({"gte": 3}, {"q": "4"}, False),
        ({"gte": 3}, {"q": None}, False),
        ({"gt": 0, "lt": 10}, {"q": 5}, True),
        ({"gt": 0, "lt": 10}, {"q": 10}, False),
        ({"contains": "a"}, {"q": ["a", "b"]}, True),
        ({"contains": "a"}, {"q": ["b"]}, False),
        ({"contains": "a"}, {"q": "a"}, False),
        ({"skipped": True}, {"q": None}, True),
        ({"skipped": True}, {}, True),
        ({"skipped": True}, {"q": "a"}, False),
        ({"skipped": False}, {"q": 0}, True),
        ({"answer": "other", "equals": "x"}, {"q": "y", "other": "x"}, True),
        ({"answer": "other", "equals": "x"}, {"q": "x", "other": "y"}, False),
    ],
)
def test_condition(
    condition: dict[str, Any], answers: dict[str, AnswerValue], expected: bool
) -> None:
    """Each test of a condition, on the current answer `q` unless `answer` names another."""
    assert holds(Condition.model_validate(condition), answers, "q") is expected


def test_run_state_json_round_trip() -> None:
    """The state survives JSON with every answer type intact."""
    state = RunState(
        flow_id="kinds",
        flow_version=3,
        node_id="brings",
        answers={"group": "other", "clarity": 4, "height": 1.75, "tools": ["a"], "note": None},
        selected=("funding", "time_labour"),
        misses=2,
    )
    data = json.loads(json.dumps(state.to_json()))
    assert data == {
        "flow_id": "kinds",
        "flow_version": 3,
        "node_id": "brings",
        "answers": {"group": "other", "clarity": 4, "height": 1.75, "tools": ["a"], "note": None},
        "selected": ["funding", "time_labour"],
        "misses": 2,
    }
    assert RunState.from_json(data) == state
    finished = RunState.from_json({"flow_id": "kinds", "flow_version": "3"})
    assert finished == RunState("kinds", 3, None)
    assert finished.finished


def test_say_loop_that_never_ends_raises() -> None:
    """A loop of `say` nodes that only a given answer leaves fails loudly, not forever."""
    flow = inline(
        """
schema: 1
id: spin
version: 1
title: s.title
start: q
nodes:
  - {id: q, ask: yes_no, text: s.q, next: loop}
  - id: loop
    say: s.loop
    next:
      - {when: {answer: q, equals: "yes"}, goto: done}
      - {goto: loop}
  - {id: done, end: true}
"""
    )
    assert resume(flow, start(flow).state, TextInput("yes"), label=EN).finished
    with pytest.raises(FlowRuntimeError, match="spin"):
        resume(flow, start(flow).state, TextInput("no"), label=EN)
