"""The flow engine: pure functions from (flow, state, input) to (replies, answers, new state).

The engine does no I/O and knows no wording: replies carry locale keys, and the host (the bot)
renders them, stores the answers and keeps the state between turns.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from bot.domain.flows import AskKind, AskNode, Branch, Condition, EndNode, Flow, Next, SayNode
from bot.domain.payload import SKIP, SUBMIT

AnswerValue = str | int | float | list[str] | None
Label = Callable[[str], str]
Params = Mapping[str, str | int | float]

MAX_WALK = 200
SKIP_KEY = "common.skip"


@dataclass(frozen=True)
class RunState:
    """Where a member is in a flow; serialisable to JSON between turns."""

    flow_id: str
    flow_version: int
    node_id: str | None
    answers: Mapping[str, AnswerValue] = field(default_factory=dict)
    selected: tuple[str, ...] = ()

    @property
    def finished(self) -> bool:
        return self.node_id is None

    def to_json(self) -> dict[str, Any]:
        return {
            "flow_id": self.flow_id,
            "flow_version": self.flow_version,
            "node_id": self.node_id,
            "answers": dict(self.answers),
            "selected": list(self.selected),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        return cls(
            flow_id=data["flow_id"],
            flow_version=int(data["flow_version"]),
            node_id=data.get("node_id"),
            answers=dict(data.get("answers") or {}),
            selected=tuple(data.get("selected") or ()),
        )


@dataclass(frozen=True)
class OptionView:
    """One numbered option of a question; `label` is a locale key, `text` literal wording."""

    number: int
    value: str
    label: str | None = None
    text: str | None = None


@dataclass(frozen=True)
class QuestionView:
    """What the host needs to render an open question."""

    node_id: str
    kind: AskKind
    options: tuple[OptionView, ...] = ()
    selected: frozenset[str] = frozenset()
    skippable: bool = False
    low_label: str | None = None
    high_label: str | None = None
    min: float | None = None
    max: float | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class Reply:
    """One message to show: a locale key, its parameters, and the question it asks, if any."""

    key: str
    params: Params = field(default_factory=dict)
    question: QuestionView | None = None
    hint: bool = False


@dataclass(frozen=True)
class SavedAnswer:
    """An answer for the host to store."""

    node_id: str
    key: str
    kind: AskKind
    value: AnswerValue
    anonymous: bool

    @property
    def skipped(self) -> bool:
        return self.value is None


@dataclass(frozen=True)
class TextInput:
    """The member typed something."""

    text: str


@dataclass(frozen=True)
class PressInput:
    """The member pressed a button of question `node_id`."""

    node_id: str
    value: str


Input = TextInput | PressInput


@dataclass(frozen=True)
class Step:
    """The outcome of one engine call."""

    state: RunState
    replies: tuple[Reply, ...] = ()
    answers: tuple[SavedAnswer, ...] = ()
    profile: Mapping[str, str] = field(default_factory=dict)
    accepted: bool = True
    closed: bool = False
    refresh: bool = False
    start_flow: str | None = None
    discard: bool = False

    @property
    def finished(self) -> bool:
        return self.state.finished


class FlowRuntimeError(RuntimeError):
    """A flow that passed loading still cannot go on (e.g. a loop of `say` nodes)."""


def start(flow: Flow) -> Step:
    """Begin `flow`: the replies up to and including its first question."""
    state = RunState(flow_id=flow.id, flow_version=flow.version, node_id=flow.start)
    return _walk(flow, state, flow.start)


def prompt(flow: Flow, state: RunState) -> Step:
    """Ask the open question again (after a restart, /start or a language change)."""
    node = _open_question(flow, state)
    if node is None:
        return Step(state=state, accepted=False, closed=True)
    return Step(state=state, replies=(_question(node, state),), accepted=False)


def resume(flow: Flow, state: RunState, event: Input, *, label: Label) -> Step:
    """Apply the member's input to the open question; `label` turns a key into its wording."""
    node = _open_question(flow, state)
    if node is None or (isinstance(event, PressInput) and event.node_id != node.id):
        return Step(state=state, accepted=False, closed=True)

    if node.ask == "multi_choice" and isinstance(event, PressInput) and event.value != SKIP:
        if event.value == SUBMIT:
            if state.selected:
                order = [o.value for o in node.options]
                chosen = sorted(state.selected, key=order.index)
                return _accept(flow, state, node, chosen)
            if node.skippable:
                return _accept(flow, state, node, None)
            return _reject(node, state)
        if event.value not in {o.value for o in node.options}:
            return _reject(node, state)
        picked = set(state.selected) ^ {event.value}
        order = [o.value for o in node.options]
        new_state = replace(state, selected=tuple(v for v in order if v in picked))
        return Step(
            state=new_state,
            replies=(_question(node, new_state),),
            accepted=False,
            refresh=True,
        )

    ok, value = interpret(node, event, label=label)
    if not ok:
        return _reject(node, state)
    return _accept(flow, state, node, value)


def interpret(node: AskNode, event: Input, *, label: Label) -> tuple[bool, AnswerValue]:
    """Read an input as an answer to `node`: (understood, value); value None means skipped."""
    if isinstance(event, PressInput):
        if event.value == SKIP:
            return node.skippable, None
        if node.ask == "scale":
            lo, hi = node.scale_bounds
            number = _as_int(event.value)
            return (number is not None and lo <= number <= hi), number
        if event.value in {o.value for o in node.choices}:
            return True, event.value
        return False, None

    text = event.text.strip()
    if node.skippable and normalise(text) in {normalise(label(SKIP_KEY)), "/skip"}:
        return True, None
    if node.ask in ("choice", "yes_no"):
        value = _match_option(node, text, label)
        return value is not None, value
    if node.ask == "multi_choice":
        values = _match_many(node, text, label)
        return bool(values), values
    if node.ask == "scale":
        return _read_scale(node, text, label)
    if node.ask == "number":
        return _read_number(node, text)
    # Control characters (NUL above all, which PostgreSQL refuses) carry no meaning here.
    text = "".join(c for c in text if c in "\n\t" or unicodedata.category(c) != "Cc").strip()
    if not text or len(text) > node.max_length:
        return False, None
    return True, text


def normalise(text: str) -> str:
    """Fold case and spacing so typed answers match labels the way people type them."""
    return " ".join(text.casefold().split()).strip(" .!?;:")


_NUMBERED = re.compile(r"^(\d{1,6})\s*[.)]?$")


def _match_option(node: AskNode, text: str, label: Label) -> str | None:
    options = node.choices
    wanted = normalise(text)
    numbered = _NUMBERED.match(wanted)
    if numbered:
        index = int(numbered.group(1))
        return options[index - 1].value if 1 <= index <= len(options) else None
    for option in options:
        if wanted in (normalise(label(option.label)), option.value.replace("_", " ")):
            return option.value
    return None


def _match_many(node: AskNode, text: str, label: Label) -> list[str]:
    parts = [p for p in re.split(r"[,;\n]+", text) if p.strip()]
    if len(parts) == 1 and all(t.isdigit() for t in parts[0].split()):
        parts = parts[0].split()
    values: list[str] = []
    for part in parts:
        value = _match_option(node, part, label)
        if value is None:
            return []
        if value not in values:
            values.append(value)
    order = [o.value for o in node.options]
    return sorted(values, key=order.index)


def _read_scale(node: AskNode, text: str, label: Label) -> tuple[bool, AnswerValue]:
    lo, hi = node.scale_bounds
    wanted = normalise(text)
    number = _as_int(wanted)
    if number is not None:
        return lo <= number <= hi, number
    if node.low_label and wanted == normalise(label(node.low_label)):
        return True, lo
    if node.high_label and wanted == normalise(label(node.high_label)):
        return True, hi
    return False, None


def _read_number(node: AskNode, text: str) -> tuple[bool, AnswerValue]:
    cleaned = text.strip().replace(" ", "").replace(",", ".")
    try:
        number = float(cleaned)
    except ValueError:
        return False, None
    if number != number or number in (float("inf"), float("-inf")):
        return False, None
    if node.integer:
        if number != int(number):
            return False, None
        number = int(number)
    if node.min is not None and number < node.min:
        return False, None
    if node.max is not None and number > node.max:
        return False, None
    return True, number


def _as_int(text: str) -> int | None:
    return int(text) if text.isdecimal() and len(text) < 6 else None


def _open_question(flow: Flow, state: RunState) -> AskNode | None:
    if state.node_id is None or state.flow_id != flow.id:
        return None
    node = flow.nodes.get(state.node_id)
    return node if isinstance(node, AskNode) else None


def _reject(node: AskNode, state: RunState) -> Step:
    return Step(
        state=state,
        replies=(_hint(node), _question(node, state)),
        accepted=False,
    )


def _hint(node: AskNode) -> Reply:
    if node.hint:
        return Reply(key=node.hint, hint=True)
    if node.ask in ("scale",):
        lo, hi = node.scale_bounds
        return Reply(key="hint.scale", params={"min": lo, "max": hi}, hint=True)
    if node.ask == "number":
        if node.min is not None and node.max is not None:
            params = {"min": _fmt(node.min), "max": _fmt(node.max)}
            return Reply(key="hint.number_between", params=params, hint=True)
        return Reply(key="hint.number", hint=True)
    if node.ask == "text":
        return Reply(key="hint.text", params={"max": node.max_length}, hint=True)
    return Reply(key=f"hint.{node.ask}", params={"count": len(node.choices)}, hint=True)


def _fmt(number: float) -> str:
    return str(int(number)) if number == int(number) else str(number)


def _question(node: AskNode, state: RunState) -> Reply:
    if node.ask == "scale":
        lo, hi = node.scale_bounds
        options = tuple(
            OptionView(number=i + 1, value=str(n), text=str(n))
            for i, n in enumerate(range(lo, hi + 1))
        )
    else:
        options = tuple(
            OptionView(number=i + 1, value=o.value, label=o.label)
            for i, o in enumerate(node.choices)
        )
    view = QuestionView(
        node_id=node.id,
        kind=node.ask,
        options=options,
        selected=frozenset(state.selected),
        skippable=node.skippable,
        low_label=node.low_label,
        high_label=node.high_label,
        min=node.scale_bounds[0] if node.ask == "scale" else node.min,
        max=node.scale_bounds[1] if node.ask == "scale" else node.max,
        max_length=node.max_length if node.ask == "text" else None,
    )
    return Reply(key=node.text, question=view)


def _accept(flow: Flow, state: RunState, node: AskNode, value: AnswerValue) -> Step:
    saved = SavedAnswer(
        node_id=node.id,
        key=node.key,
        kind=node.ask,
        value=value,
        anonymous=node.anonymous or flow.anonymous,
    )
    answers = {**state.answers, node.key: value}
    profile: dict[str, str] = {node.sets: str(value)} if node.sets and value is not None else {}
    moved = replace(state, answers=answers, selected=())
    following = _choose(node.next, answers, node.key)
    step = _walk(flow, moved, following)
    return replace(step, answers=(saved,), profile=profile)


def _walk(flow: Flow, state: RunState, node_id: str) -> Step:
    replies: list[Reply] = []
    for _ in range(MAX_WALK):
        node = flow.nodes[node_id]
        if isinstance(node, AskNode):
            state = replace(state, node_id=node.id, selected=())
            replies.append(_question(node, state))
            return Step(state=state, replies=tuple(replies))
        if isinstance(node, SayNode):
            replies.append(Reply(key=node.say))
            node_id = _choose(node.next, state.answers, None)
            continue
        assert isinstance(node, EndNode)
        if node.text:
            replies.append(Reply(key=node.text))
        return Step(
            state=replace(state, node_id=None, selected=()),
            replies=tuple(replies),
            start_flow=node.start_flow,
            discard=node.discard,
        )
    raise FlowRuntimeError(f"flow '{flow.id}' passed {MAX_WALK} nodes without a question")


def _choose(next_: Next, answers: Mapping[str, AnswerValue], current: str | None) -> str:
    if isinstance(next_, str):
        return next_
    branch: Branch
    for branch in next_:
        if branch.when is None or holds(branch.when, answers, current):
            return branch.goto
    raise FlowRuntimeError("no branch matched and no default was given")


def holds(condition: Condition, answers: Mapping[str, AnswerValue], current: str | None) -> bool:
    """Whether `condition` holds over the answers given so far."""
    key = condition.answer or current
    value = answers.get(key) if key else None
    if condition.skipped is not None and (value is None) != condition.skipped:
        return False
    if condition.equals is not None and not _same(value, condition.equals):
        return False
    if condition.in_ is not None and not any(_same(value, c) for c in condition.in_):
        return False
    if condition.contains is not None and not (
        isinstance(value, list) and condition.contains in value
    ):
        return False
    bounds = (
        (condition.lt, operator.lt),
        (condition.lte, operator.le),
        (condition.gt, operator.gt),
        (condition.gte, operator.ge),
    )
    for bound, test in bounds:
        if bound is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not test(value, bound):
            return False
    return True


def _same(value: AnswerValue, expected: str | int | float | bool) -> bool:
    # YAML reads a bare `yes`/`no` as a boolean; flows mean the yes/no answer values.
    if isinstance(expected, bool):
        expected = "yes" if expected else "no"
    if isinstance(value, int | float) and isinstance(expected, int | float):
        return float(value) == float(expected)
    return value == expected or str(value) == str(expected)
