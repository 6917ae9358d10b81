"""Flow definitions: the versioned YAML schema, its validation and the loader.

A flow is a small graph of nodes (`say`, `ask`, `end`). Flows carry locale keys, never
wording; the loader checks everything a broken file could get wrong and names the file, the
flow and the node in each problem it reports.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from bot.domain.flow_problems import FlowError as FlowError
from bot.domain.flow_problems import FlowProblem as FlowProblem
from bot.domain.media import MediaKind, media_problem
from bot.domain.payload import SKIP, SUBMIT, answer_payload_size

SCHEMA_VERSION = 1
TELEGRAM_CALLBACK_LIMIT = 64

SLUG = r"^[a-z0-9][a-z0-9_-]*$"
KEY = r"^[a-z0-9][a-z0-9_.-]*$"

Slug = Annotated[str, Field(pattern=SLUG, max_length=40)]
Key = Annotated[str, Field(pattern=KEY, max_length=120)]
AskKind = Literal[
    "choice", "multi_choice", "scale", "yes_no", "number", "text", "time_zone", "media"
]
ProfileField = Literal["language", "stakeholder_group", "organisation", "role_title", "time_zone"]
Scalar = str | int | float | bool

YES_NO_OPTIONS = (("yes", "common.yes"), ("no", "common.no"))


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(_Strict):
    """A test on one answer of the run; every field given must hold."""

    answer: Slug | None = None
    equals: Scalar | None = None
    in_: tuple[Scalar, ...] | None = Field(default=None, alias="in")
    contains: Slug | None = None
    lt: float | None = None
    lte: float | None = None
    gt: float | None = None
    gte: float | None = None
    skipped: bool | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Condition:
        tests = (self.equals, self.in_, self.contains, self.lt, self.lte, self.gt, self.gte)
        if all(t is None for t in tests) and self.skipped is None:
            raise ValueError("a condition needs at least one test (equals, in, lt, ...)")
        return self


class Branch(_Strict):
    """`goto` a node, when the condition holds (or always, without `when`)."""

    when: Condition | None = None
    goto: Slug


Next = Slug | tuple[Branch, ...]


class Option(_Strict):
    """One answer a member can pick: a stable value and the locale key of its label."""

    value: Slug
    label: Key


class SayNode(_Strict):
    """Send a message, then go on."""

    id: Slug
    say: Key
    next: Next


class EndNode(_Strict):
    """Finish the flow, optionally with a closing message or by starting another flow."""

    id: Slug
    end: Key | Literal[True]
    start_flow: Slug | None = None
    discard: bool = False

    @property
    def text(self) -> str | None:
        return None if self.end is True else self.end


class AskNode(_Strict):
    """Ask a question and wait for the member's answer."""

    id: Slug
    ask: AskKind
    text: Key
    options: tuple[Option, ...] = ()
    min: float | None = None
    max: float | None = None
    low_label: Key | None = None
    high_label: Key | None = None
    integer: bool = True
    max_length: int = Field(default=1000, ge=1, le=4000)
    skippable: bool = False
    anonymous: bool = False
    save_as: Slug | None = None
    sets: ProfileField | None = None
    hint: Key | None = None
    # A yes/no question asking whether the text answer it names may be quoted (without a
    # name) in digests: the host stores that answer once this one is given, marked quotable.
    quote_consent: Slug | None = None
    # A choice question shows the option a given answer names first, marked (see `given`).
    suggest: Slug | None = None
    # A media question: what it takes (bot/domain/media.py) and how many items at most.
    accepts: tuple[MediaKind, ...] = ()
    max_items: int | None = Field(default=None, ge=1, le=10)
    next: Next

    @model_validator(mode="after")
    def _kind_fits(self) -> AskNode:
        if self.ask in ("choice", "multi_choice"):
            if len(self.options) < 2:
                raise ValueError(f"a {self.ask} question needs at least two options")
            values = [o.value for o in self.options]
            if len(set(values)) != len(values):
                raise ValueError("option values must be unique")
        elif self.options:
            raise ValueError(f"a {self.ask} question takes no options")
        if self.ask == "scale":
            lo, hi = self.scale_bounds
            if not (lo < hi <= lo + 9) or lo != int(lo) or hi != int(hi):
                raise ValueError(
                    "a scale runs over whole numbers, from min to max, at most 10 steps"
                )
            if self.low_label is None or self.high_label is None:
                raise ValueError("a scale needs low_label and high_label")
        if self.ask == "number" and None not in (self.min, self.max) and self.min > self.max:  # type: ignore[operator]
            raise ValueError("min is above max")
        if self.sets is not None and self.ask not in ("choice", "text", "time_zone"):
            raise ValueError("`sets` takes the answer of a choice, text or time_zone question")
        if self.ask == "time_zone" and self.sets not in (None, "time_zone"):
            raise ValueError("a time_zone question can only set `time_zone`")
        if self.quote_consent is not None and self.ask != "yes_no":
            raise ValueError("`quote_consent` belongs on a yes_no question")
        if self.suggest is not None and self.ask != "choice":
            raise ValueError("`suggest` belongs on a choice question")
        if problem := media_problem(self.ask, self.accepts, self.max_items, self.skippable):
            raise ValueError(problem)
        return self

    @property
    def key(self) -> str:
        """The name this node's answer is saved under."""
        return self.save_as or self.id

    @property
    def scale_bounds(self) -> tuple[int, int]:
        return int(self.min if self.min is not None else 1), int(
            self.max if self.max is not None else 5
        )

    @property
    def choices(self) -> tuple[Option, ...]:
        """The options a member picks from, including the implicit ones of yes/no and scales."""
        if self.ask == "yes_no":
            return tuple(Option(value=v, label=k) for v, k in YES_NO_OPTIONS)
        return self.options

    def button_values(self) -> list[str]:
        """Every value a button of this question can carry."""
        values = [o.value for o in self.choices]
        if self.ask == "scale":
            lo, hi = self.scale_bounds
            values = [str(n) for n in range(lo, hi + 1)]
        if self.ask in ("multi_choice", "media"):
            values.append(SUBMIT)
        if self.skippable:
            values.append(SKIP)
        return values


Node = AskNode | SayNode | EndNode


class FlowHeader(_Strict):
    """The flow's own fields, validated before its nodes so problems name the flow."""

    schema_: int = Field(alias="schema")
    id: Slug
    version: int = Field(ge=1)
    title: Key
    description: Key | None = None
    command: Slug | None = None
    anonymous: bool = False
    # The code that takes the answers over when the flow ends (bot/domain/contracts.py).
    finisher: Slug | None = None
    # Members may open it over another flow, and even after /stop (a concern).
    at_any_time: bool = False
    # Answers the host may give before the flow starts (an invitation's group, say).
    given: tuple[Slug, ...] = ()
    start: Slug
    nodes: tuple[dict[str, Any], ...] = Field(min_length=1)


@dataclass(frozen=True)
class Flow:
    """A validated flow."""

    id: str
    version: int
    title: str
    description: str | None
    command: str | None
    anonymous: bool
    start: str
    nodes: Mapping[str, Node]
    source: str
    finisher: str | None = None
    at_any_time: bool = False
    given: tuple[str, ...] = ()

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    def quote_consents(self) -> dict[str, str]:
        """Consent question's answer name -> the text answer whose quoting it decides."""
        return {
            n.key: n.quote_consent
            for n in self.nodes.values()
            if isinstance(n, AskNode) and n.quote_consent is not None
        }

    def keys(self) -> set[str]:
        """Every locale key the flow uses."""
        found = {self.title} | ({self.description} if self.description else set())
        for node in self.nodes.values():
            found |= node_keys(node)
        return found


def node_keys(node: Node) -> set[str]:
    """The locale keys one node uses."""
    if isinstance(node, SayNode):
        return {node.say}
    if isinstance(node, EndNode):
        return {node.text} if node.text else set()
    keys = {node.text} | {o.label for o in node.choices}
    keys |= {k for k in (node.low_label, node.high_label, node.hint) if k}
    return keys


def targets(node: Node) -> list[str]:
    """The node ids this node can lead to."""
    if isinstance(node, EndNode):
        return []
    if isinstance(node.next, str):
        return [node.next]
    return [b.goto for b in node.next]


@dataclass(frozen=True)
class FlowRegistry:
    """All loaded flows, by id."""

    flows: Mapping[str, Flow]

    def __contains__(self, flow_id: object) -> bool:
        return flow_id in self.flows

    def __getitem__(self, flow_id: str) -> Flow:
        return self.flows[flow_id]

    def get(self, flow_id: str) -> Flow | None:
        return self.flows.get(flow_id)

    def by_command(self, command: str) -> Flow | None:
        return next((f for f in self.flows.values() if f.command == command), None)

    def options_for(self, field: str) -> tuple[str, ...]:
        """The values flows offer for a profile field (e.g. the stakeholder groups), in order."""
        values: list[str] = []
        for flow in self.flows.values():
            for node in flow.nodes.values():
                if isinstance(node, AskNode) and node.sets == field:
                    values.extend(o.value for o in node.options if o.value not in values)
        return tuple(values)

    def keys(self) -> set[str]:
        """Every locale key used by any flow."""
        return set().union(*(f.keys() for f in self.flows.values())) if self.flows else set()


def _pydantic_message(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        loc = ".".join(str(p) for p in item["loc"])
        msg = item["msg"].removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


def _parse_node(raw: dict[str, Any]) -> Node:
    kinds = [k for k in ("ask", "say", "end") if k in raw]
    if len(kinds) != 1:
        raise ValueError("a node needs exactly one of `ask`, `say` or `end`")
    model: type[Node] = {"ask": AskNode, "say": SayNode, "end": EndNode}[kinds[0]]  # type: ignore[assignment]
    return model.model_validate(raw)


def parse_flow(data: object, *, source: str) -> tuple[Flow | None, list[FlowProblem]]:
    """Validate one flow document; return the flow (if valid) and the problems found."""
    if not isinstance(data, dict):
        return None, [FlowProblem(source, "a flow file holds one mapping (schema, id, nodes…)")]
    flow_id = data.get("id") if isinstance(data.get("id"), str) else None
    if data.get("schema") != SCHEMA_VERSION:
        msg = (
            f"unsupported schema {data.get('schema')!r}; this version reads schema {SCHEMA_VERSION}"
        )
        return None, [FlowProblem(source, msg, flow_id)]
    try:
        header = FlowHeader.model_validate(data)
    except ValidationError as exc:
        return None, [FlowProblem(source, _pydantic_message(exc), flow_id)]

    problems: list[FlowProblem] = []
    nodes: dict[str, Node] = {}
    for index, raw in enumerate(header.nodes):
        node_id = raw.get("id") if isinstance(raw.get("id"), str) else f"#{index + 1}"
        try:
            node = _parse_node(raw)
        except (ValidationError, ValueError) as exc:
            msg = _pydantic_message(exc) if isinstance(exc, ValidationError) else str(exc)
            problems.append(FlowProblem(source, msg, header.id, node_id))
            continue
        if node.id in nodes:
            problems.append(FlowProblem(source, "duplicate node id", header.id, node.id))
            continue
        nodes[node.id] = node
    if problems:
        return None, problems

    flow = Flow(
        id=header.id,
        version=header.version,
        title=header.title,
        description=header.description,
        command=header.command,
        anonymous=header.anonymous,
        start=header.start,
        nodes=nodes,
        source=source,
        finisher=header.finisher,
        at_any_time=header.at_any_time,
        given=header.given,
    )
    problems.extend(check_graph(flow))
    return (None if problems else flow), problems


def check_graph(flow: Flow) -> list[FlowProblem]:
    """Structural checks: targets exist, every node is reachable and can reach an end."""
    problems: list[FlowProblem] = []

    def problem(message: str, node: str | None = None) -> None:
        problems.append(FlowProblem(flow.source, message, flow.id, node))

    if flow.start not in flow.nodes:
        problem(f"start node '{flow.start}' does not exist")
        return problems
    saved: dict[str, str] = {}
    for node in flow.nodes.values():
        for target in targets(node):
            if target not in flow.nodes:
                problem(f"unknown target '{target}'", node.id)
        if not isinstance(node, EndNode) and not isinstance(node.next, str):
            if not node.next or node.next[-1].when is not None:
                problem("a branch list must end with a `goto` that has no `when`", node.id)
            if isinstance(node, SayNode) and any(b.when and not b.when.answer for b in node.next):
                problem("a `say` node can only branch on a named `answer`", node.id)
        if isinstance(node, AskNode):
            if node.key in saved:
                problem(
                    f"answer name '{node.key}' is also used by node '{saved[node.key]}'", node.id
                )
            saved[node.key] = node.id
            if node.suggest is not None and node.suggest not in flow.given:
                problem(f"`suggest` names no given answer '{node.suggest}'", node.id)
            for value in node.button_values():
                size = answer_payload_size(node.id, value)
                if size > TELEGRAM_CALLBACK_LIMIT:
                    problem(
                        f"button payload for value '{value}' takes {size} bytes, over "
                        f"Telegram's {TELEGRAM_CALLBACK_LIMIT}-byte limit: shorten the node id "
                        "or the value",
                        node.id,
                    )
    if problems:
        return problems
    consented: set[str] = set()
    for node in flow.nodes.values():
        if isinstance(node, AskNode) and node.quote_consent is not None:
            quoted = flow.nodes.get(saved.get(node.quote_consent, ""))
            if not isinstance(quoted, AskNode) or quoted.ask != "text":
                problem(f"quote_consent names no text answer '{node.quote_consent}'", node.id)
            elif node.quote_consent in consented:
                problem(f"answer '{node.quote_consent}' already has a quote_consent", node.id)
            consented.add(node.quote_consent)
        if isinstance(node, SayNode | AskNode) and not isinstance(node.next, str):
            for branch in node.next:
                name = branch.when.answer if branch.when else None
                if name in flow.given:
                    continue
                if name and name not in saved:
                    problem(f"condition refers to unknown answer '{name}'", node.id)
                    continue
                asked = flow.nodes[saved[name]] if name else node
                if branch.when is not None and isinstance(asked, AskNode):
                    for message in condition_problems(branch.when, asked, own=not name):
                        problem(message, node.id)

    reachable = _walk(flow.start, lambda n: targets(flow.nodes[n]))
    for node_id in flow.nodes:
        if node_id not in reachable:
            problem("unreachable: no path leads here from the start", node_id)
    incoming: dict[str, list[str]] = {n: [] for n in flow.nodes}
    for node in flow.nodes.values():
        for target in targets(node):
            incoming[target].append(node.id)
    ends = [n.id for n in flow.nodes.values() if isinstance(n, EndNode)]
    finishing: set[str] = set()
    for end in ends:
        finishing |= _walk(end, lambda n: incoming[n])
    for node_id in flow.nodes:
        if node_id in reachable and node_id not in finishing:
            problem("no path leads from here to an `end` node", node_id)
    return problems


def condition_problems(condition: Condition, asked: AskNode, *, own: bool) -> list[str]:
    """What in `condition` can never hold for the answers `asked` can take (`own`: the
    condition is on the question's own answer, which is always given when it is tested)."""
    subject = f"'{asked.key}' ({asked.ask})"
    found: list[str] = []
    tested = [condition.equals] if condition.equals is not None else []
    tested += list(condition.in_ or ())
    if asked.ask in ("multi_choice", "media") and tested:
        found.append(f"answer {subject} is a list: test it with `contains`, not `equals`/`in`")
    elif asked.choices or asked.ask in ("scale", "number"):
        values = [o.value for o in asked.choices]
        for value in tested:
            if (_as_text(value) not in values) if values else not _within(value, asked):
                why = f"its values: {values}" if values else _range(asked)
                found.append(f"answer {subject} is never {value!r}; {why}")
    if condition.contains is not None:
        values = [o.value for o in asked.choices] if asked.ask == "multi_choice" else []
        if condition.contains not in values:
            where = f"its values: {values}" if values else "`contains` tests a multi_choice answer"
            found.append(f"answer {subject} never contains '{condition.contains}'; {where}")
    bounds = (condition.lt, condition.lte, condition.gt, condition.gte)
    if asked.ask not in ("scale", "number") and any(b is not None for b in bounds):
        found.append(f"answer {subject} is not a number: lt/lte/gt/gte never hold")
    if own and condition.skipped and not asked.skippable:
        found.append(f"answer {subject} cannot be skipped: `skipped: true` never holds")
    return found


def _as_text(value: Scalar) -> str:
    # YAML reads a bare `yes`/`no` as a boolean; the engine takes it for the yes/no value.
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _within(value: Scalar, asked: AskNode) -> bool:
    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except ValueError:
        return False
    lo, hi = asked.scale_bounds if asked.ask == "scale" else (asked.min, asked.max)
    whole = asked.ask == "scale" or asked.integer
    in_range = (lo is None or number >= lo) and (hi is None or number <= hi)
    return in_range and (number.is_integer() or not whole)


def _range(asked: AskNode) -> str:
    lo, hi = asked.scale_bounds if asked.ask == "scale" else (asked.min, asked.max)
    kind = "whole number" if asked.ask == "scale" or asked.integer else "number"
    bounds = [f"from {lo:g}"] if lo is not None else []
    bounds += [f"to {hi:g}"] if hi is not None else []
    return " ".join([f"it takes a {kind}", *bounds])


def _walk(start: str, neighbours: Any) -> set[str]:
    seen = {start}
    queue = deque([start])
    while queue:
        for nxt in neighbours(queue.popleft()):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def check_registry(
    flows: Mapping[str, Flow],
    *,
    locale_keys: Mapping[str, set[str]],
) -> list[FlowProblem]:
    """Checks across flows and catalogs: flows started by others exist, keys are translated."""
    problems: list[FlowProblem] = []
    commands: dict[str, str] = {}
    for flow in flows.values():
        if flow.command:
            if flow.command in commands:
                msg = f"command /{flow.command} is also used by flow '{commands[flow.command]}'"
                problems.append(FlowProblem(flow.source, msg, flow.id))
            commands[flow.command] = flow.id
        for node in flow.nodes.values():
            if isinstance(node, EndNode) and node.start_flow and node.start_flow not in flows:
                msg = f"start_flow names unknown flow '{node.start_flow}'"
                problems.append(FlowProblem(flow.source, msg, flow.id, node.id))
            if isinstance(node, AskNode) and node.sets == "language":
                unknown = [o.value for o in node.options if o.value not in locale_keys]
                if unknown:
                    msg = f"language options {unknown} have no catalog in locales/"
                    problems.append(FlowProblem(flow.source, msg, flow.id, node.id))
        for locale, keys in sorted(locale_keys.items()):
            header_missing = sorted(
                k for k in {flow.title, flow.description} if k and k not in keys
            )
            if header_missing:
                msg = f"keys missing in locale '{locale}': {', '.join(header_missing)}"
                problems.append(FlowProblem(flow.source, msg, flow.id))
            for node in flow.nodes.values():
                missing = sorted(k for k in node_keys(node) if k not in keys)
                if missing:
                    msg = f"keys missing in locale '{locale}': {', '.join(missing)}"
                    problems.append(FlowProblem(flow.source, msg, flow.id, node.id))
    return problems


RegistryCheck = Callable[[Mapping[str, Flow], Mapping[str, set[str]]], list[FlowProblem]]


def parse_flows(documents: Iterable[tuple[str, str]]) -> tuple[dict[str, Flow], list[FlowProblem]]:
    """Parse and check each flow document (source name, YAML text) on its own."""
    problems: list[FlowProblem] = []
    flows: dict[str, Flow] = {}
    for source, text in documents:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
            parts = (getattr(exc, "context", None), getattr(exc, "problem", None))
            reason = " ".join(" ".join(p for p in parts if p).split()) or " ".join(str(exc).split())
            problems.append(FlowProblem(source, f"not valid YAML{where}: {reason}"))
            continue
        flow, found = parse_flow(data, source=source)
        problems.extend(found)
        if flow is not None and flow.id in flows:
            msg = f"flow id also defined in {flows[flow.id].source}"
            problems.append(FlowProblem(source, msg, flow.id))
        elif flow is not None:
            flows[flow.id] = flow
    return flows, problems


def read_flows(
    documents: Iterable[tuple[str, str]],
    *,
    locale_keys: Mapping[str, set[str]],
    checks: Sequence[RegistryCheck] = (),
) -> FlowRegistry:
    """Parse and check flow documents, with each other, the catalogs and `checks` (the code's
    contracts); raise FlowError listing every problem found."""
    flows, problems = parse_flows(documents)
    problems.extend(check_registry(flows, locale_keys=locale_keys))
    for check in checks:
        problems.extend(check(flows, locale_keys))
    if problems:
        raise FlowError(problems)
    return FlowRegistry(flows=flows)
