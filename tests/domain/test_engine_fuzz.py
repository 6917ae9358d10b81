"""Property tests: no input to any question of a shipped flow makes the engine raise.

Every question is reached by driving the engine from the flow's start, so the states are ones
a member can really be in. Any input is either accepted (and saved as a valid answer) or
answered by a hint and the same question, with the state unchanged.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.content import load_flows
from bot.domain.engine import (
    SET_ASIDE_AFTER,
    SET_ASIDE_KEY,
    WAITING_KEY,
    WAY_OUT_AFTER,
    Input,
    Label,
    PressInput,
    RunState,
    Step,
    TextInput,
    prompt,
    resume,
    start,
)
from bot.domain.flows import AskNode, Flow
from bot.domain.payload import SKIP, SUBMIT
from bot.i18n import Catalogs

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = Catalogs.load(ROOT / "locales", default="en")
LABELS = [CATALOGS.translator(locale) for locale in CATALOGS.locales]
SHIPPED = load_flows(ROOT / "flows", locale_keys=CATALOGS.keys())
PROBES = ["1", "2", "3", "yes", "no", "Something", SKIP]


def given_answers(flow: Flow) -> dict[str, str]:
    """Answers the host may give the flow (its `given`): an option of the question a given
    answer is suggested to, or an id."""
    suggested = {
        n.suggest: n.choices[-1].value
        for n in flow.nodes.values()
        if isinstance(n, AskNode) and n.suggest
    }
    return {name: suggested.get(name, "1") for name in flow.given}


def reachable_states(flow: Flow) -> dict[str, RunState]:
    """The first state found at each question, exploring every button and a few typed inputs,
    from the start with and without the answers the flow may be given."""
    found: dict[str, RunState] = {}
    # Given answers go in at the start: a branch before the first question may test them.
    for beginning in (start(flow).state, start(flow, given_answers(flow)).state):
        for node_id, state in _explore(flow, beginning).items():
            found.setdefault(node_id, state)
    return found


def _explore(flow: Flow, beginning: RunState) -> dict[str, RunState]:
    found: dict[str, RunState] = {}
    queue = deque([beginning])
    while queue:
        state = queue.popleft()
        if state.node_id is None or state.node_id in found:
            continue
        found[state.node_id] = state
        node = flow.node(state.node_id)
        assert isinstance(node, AskNode)
        events: list[Input] = [PressInput(node.id, v) for v in node.button_values()]
        events += [TextInput(t) for t in PROBES]
        for event in events:
            queue.append(resume(flow, state, event, label=LABELS[0]).state)
    return found


STATES = {flow_id: reachable_states(flow) for flow_id, flow in SHIPPED.flows.items()}
QUESTIONS = [
    (flow_id, node_id)
    for flow_id, flow in SHIPPED.flows.items()
    for node_id, node in flow.nodes.items()
    if isinstance(node, AskNode)
]


def question(flow_id: str, node_id: str) -> AskNode:
    node = SHIPPED[flow_id].node(node_id)
    assert isinstance(node, AskNode)
    return node


FAST = settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def test_every_question_is_reached() -> None:
    """Exploring from the start reaches every question, so every one is fuzzed below."""
    assert sorted(QUESTIONS) == sorted((f, n) for f, states in STATES.items() for n in states)
    assert {f for f, _ in QUESTIONS} == set(SHIPPED.flows), "every shipped flow asks something"


def typed_forms(flow: Flow) -> list[str]:
    """Every label of the flow in every locale, as typed with odd case and spacing."""
    words = [label(key) for label in LABELS for key in sorted(flow.keys())]
    words += [label("common.skip") for label in LABELS]
    return [w for word in words for w in (word, f"  {word.upper()} ", word.lower() + "!")]


def texts(flow: Flow) -> st.SearchStrategy[str]:
    digits = st.sampled_from("0123456789²³¹١٣৪߃⁴₅")
    return st.one_of(
        st.text(),
        st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp", "So", "Nd", "No"])),
        st.text(digits, min_size=1, max_size=8),
        st.builds(
            lambda d, n: d * n, st.text(digits, min_size=1, max_size=2), st.integers(1, 6000)
        ),
        st.builds(lambda s, n: s * n, st.text(min_size=1, max_size=3), st.integers(1, 5000)),
        st.sampled_from(typed_forms(flow)),
        st.sampled_from(["nan", "inf", "-0", "1e400", "3,5", "1, 3", "1 2 3", "/skip", SUBMIT]),
        st.lists(st.sampled_from(["1", "2", "7", ",", ";", " ", "\n", "oui"])).map("".join),
    )


def presses(flow: Flow, node: AskNode) -> st.SearchStrategy[PressInput]:
    values = sorted(
        {v for n in flow.nodes.values() if isinstance(n, AskNode) for v in n.button_values()}
    )
    node_ids = st.one_of(
        st.just(node.id), st.sampled_from(sorted(flow.nodes)), st.text(max_size=50)
    )
    return st.builds(
        PressInput,
        node_id=node_ids,
        value=st.one_of(st.sampled_from(values + ["0", "6", "²", "١", "99999"]), st.text()),
    )


TEXTS = {flow_id: texts(flow) for flow_id, flow in SHIPPED.flows.items()}
PRESSES = {(f, n): presses(SHIPPED[f], question(f, n)) for f, n in QUESTIONS}


def check_outcome(flow: Flow, node: AskNode, state: RunState, event: Input, step: Step) -> None:
    """The step is an accepted answer, a refusal, a toggle or a `closed` no-op."""
    if isinstance(event, PressInput) and event.node_id != node.id:
        assert (step.closed, step.accepted, step.replies, step.state) == (True, False, (), state)
        return
    assert not step.closed
    asked_again = prompt(flow, state).replies
    if step.accepted:
        assert [a.node_id for a in step.answers] == [node.id]
        value = step.answers[0].value
        assert step.state.answers[node.key] == value
        assert step.state.node_id != node.id
        assert step.state.selected == ()
        check_value(node, value)
    elif step.refresh:
        assert node.ask == "multi_choice" and isinstance(event, PressInput)
        assert set(step.state.selected) == set(state.selected) ^ {event.value}
        assert (step.state.answers, step.answers) == (state.answers, ())
        assert len(step.replies) == 1 and step.replies[0].key == node.text
    else:
        assert step.state == replace(state, misses=state.misses + 1)
        assert (step.answers, dict(step.profile)) == ((), {})
        if step.state.misses >= SET_ASIDE_AFTER:
            [reply] = step.replies
            assert reply.question is None and reply.hint
            first = step.state.misses == SET_ASIDE_AFTER
            assert reply.key == (SET_ASIDE_KEY if first else WAITING_KEY)
            return
        if step.state.misses >= WAY_OUT_AFTER:
            assert [r.way_out for r in step.replies] == [True]
            assert step.replies[0].question == asked_again[0].question
            return
        assert [r.hint for r in step.replies] == [True, False]
        assert step.replies[0].key == (node.hint or expected_hint(node))
        assert step.replies[1:] == asked_again


def expected_hint(node: AskNode) -> str:
    if node.ask == "number" and node.min is not None and node.max is not None:
        return "hint.number_between"
    return f"hint.{node.ask}"


def check_value(node: AskNode, value: object) -> None:
    if value is None:
        assert node.skippable
    elif node.ask in ("choice", "yes_no"):
        assert value in [o.value for o in node.choices]
    elif node.ask == "multi_choice":
        order = [o.value for o in node.options]
        assert isinstance(value, list) and value
        assert value == sorted(set(value), key=order.index)
    elif node.ask == "scale":
        lo, hi = node.scale_bounds
        assert isinstance(value, int) and lo <= value <= hi
    elif node.ask == "text":
        assert isinstance(value, str) and value == value.strip()
        assert 0 < len(value) <= node.max_length
    elif node.ask == "time_zone":
        assert isinstance(value, str) and ZoneInfo(value) is not None
    else:
        assert isinstance(value, int | float)


def state_at(data: st.DataObject, flow: Flow, node: AskNode) -> RunState:
    """The reached state at `node`; at a multi-choice question, with some options toggled."""
    state = STATES[flow.id][node.id]
    if node.ask != "multi_choice":
        return state
    order = [o.value for o in node.options]
    picked = data.draw(st.sets(st.sampled_from(order)), label="selected")
    return replace(state, selected=tuple(v for v in order if v in picked))


@pytest.mark.parametrize(("flow_id", "node_id"), QUESTIONS)
@FAST
@given(data=st.data())
def test_any_text(flow_id: str, node_id: str, data: st.DataObject) -> None:
    """Typed text is an answer or a hint with the same question, never an exception."""
    flow, node = SHIPPED[flow_id], question(flow_id, node_id)
    state = state_at(data, flow, node)
    text = data.draw(TEXTS[flow_id], label="text")
    label: Label = data.draw(st.sampled_from(LABELS), label="locale")
    event = TextInput(text)
    mark = CATALOGS.decimal_mark(getattr(label, "locale", None))
    step = resume(flow, state, event, label=label, words=CATALOGS.words, decimal_mark=mark)
    check_outcome(flow, node, state, event, step)


@pytest.mark.parametrize(("flow_id", "node_id"), QUESTIONS)
@FAST
@given(data=st.data())
def test_any_press(flow_id: str, node_id: str, data: st.DataObject) -> None:
    """Any button payload is an answer, a toggle, a hint or `closed`, never an exception."""
    flow, node = SHIPPED[flow_id], question(flow_id, node_id)
    state = state_at(data, flow, node)
    event = data.draw(PRESSES[flow_id, node_id], label="press")
    label: Label = data.draw(st.sampled_from(LABELS), label="locale")
    check_outcome(flow, node, state, event, resume(flow, state, event, label=label))
