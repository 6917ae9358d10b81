"""The flow engine: pure functions from (flow, state, input) to (replies, answers, new state).

The engine does no I/O and knows no wording: replies carry locale keys, and the host (the bot)
renders them, stores the answers and keeps the state between turns.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from bot.domain.conditions import AnswerValue as AnswerValue
from bot.domain.conditions import FlowRuntimeError as FlowRuntimeError
from bot.domain.conditions import choose
from bot.domain.conditions import holds as holds
from bot.domain.flows import (
    AskKind,
    AskNode,
    EndNode,
    Flow,
    Option,
    SayNode,
)
from bot.domain.media import RECEIVED_KEY, MediaItem, accepted_wording, most
from bot.domain.payload import SKIP, SUBMIT
from bot.domain.reading import (
    Choice,
    Matched,
    clean,
    is_blank,
    match_choice,
    match_words,
    normalise,
    read_number,
    strip_button_marks,
    write_number,
)
from bot.domain.timing import read_zone

Label = Callable[[str], str]
# Every wording a key accepts when typed: in each shipped language, and the catalogs' other words.
Words = Callable[[str], tuple[str, ...]]
Params = Mapping[str, str | int | float]

MAX_WALK = 200
SKIP_KEY = "common.skip"
DONE_KEY = "common.done"
# Misunderstandings in a row after which a question is shown with every way out of it.
WAY_OUT_AFTER = 3
# ... and after which, the way out shown twice, the question is set aside until it is asked
# again (/start): the member is told once how to come back, and nothing typed is refused.
SET_ASIDE_AFTER = WAY_OUT_AFTER + 2
SET_ASIDE_KEY = "chat.set_aside"
WAITING_KEY = "chat.set_aside.waiting"


@dataclass(frozen=True)
class RunState:
    """Where a member is in a flow; serialisable to JSON between turns."""

    flow_id: str
    flow_version: int
    node_id: str | None
    answers: Mapping[str, AnswerValue] = field(default_factory=dict)
    selected: tuple[str, ...] = ()
    misses: int = 0  # answers in a row to the open question that could not be read

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
            "misses": self.misses,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> RunState:
        return cls(
            flow_id=data["flow_id"],
            flow_version=int(data["flow_version"]),
            node_id=data.get("node_id"),
            answers=dict(data.get("answers") or {}),
            selected=tuple(data.get("selected") or ()),
            misses=int(data.get("misses") or 0),
        )


@dataclass(frozen=True)
class OptionView:
    """One numbered option of a question; `label` is a locale key, `text` literal wording."""

    number: int
    value: str
    label: str | None = None
    text: str | None = None
    suggested: bool = False


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
    accepts: tuple[str, ...] = ()  # a media question's kinds, and the items it holds so far
    held: int = 0


@dataclass(frozen=True)
class Reply:
    """One message to show: a locale key, its parameters, and the question it asks, if any.

    A `way_out` question is shown after repeated misunderstandings: its options as a numbered
    list, and how to skip it or leave. A `sealed` reply is stored only sealed, chat and text:
    it pairs an anonymous raiser's chat with their ticket."""

    key: str
    params: Params = field(default_factory=dict)
    question: QuestionView | None = None
    hint: bool = False
    way_out: bool = False
    sealed: bool = False


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


@dataclass(frozen=True)
class MediaInput:
    """The member sent something other than text: a voice note, a photo, a sticker..."""

    item: MediaItem


Input = TextInput | PressInput | MediaInput


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
    # The answer given, worded for the answered question's message (shown there after a press).
    answered: Reply | None = None

    @property
    def finished(self) -> bool:
        return self.state.finished


@dataclass(frozen=True)
class Speech:
    """How the member speaks: their language's wording, every shipped language's words for a
    key, and the mark their language writes decimals with."""

    label: Label
    words: Words | None = None
    decimal_mark: str = "."

    def every(self, key: str) -> tuple[str, ...]:
        return self.words(key) if self.words is not None else (self.label(key),)


@dataclass(frozen=True)
class Reading:
    """An input read as an answer: `value` (None: skipped) when understood; `guessed` when it
    was not typed as shown, so the member is told what was understood; a hint of its own."""

    understood: bool
    value: AnswerValue = None
    guessed: bool = False
    hint: Reply | None = None


def start(flow: Flow, given: Mapping[str, AnswerValue] | None = None) -> Step:
    """Begin `flow`: the replies up to and including its first question; `given`: answers the
    host gives it first (only those the flow declares in `given`), which branches may test."""
    kept = {name: value for name, value in (given or {}).items() if name in flow.given}
    state = RunState(flow_id=flow.id, flow_version=flow.version, node_id=flow.start, answers=kept)
    return _walk(flow, state, flow.start)


def prompt(flow: Flow, state: RunState) -> Step:
    """Ask the open question again (after a restart, /start or a language change), afresh:
    the misunderstandings before it no longer count."""
    node = _open_question(flow, state)
    if node is None:
        return Step(state=state, accepted=False, closed=True)
    asked = replace(state, misses=0)
    return Step(state=asked, replies=(_question(node, asked),), accepted=False)


def resume(
    flow: Flow,
    state: RunState,
    event: Input,
    *,
    label: Label,
    words: Words | None = None,
    decimal_mark: str = ".",
) -> Step:
    """Apply the member's input to the open question; `label` turns a key into its wording in
    the member's language, `words` into every wording a member may type for it."""
    node = _open_question(flow, state)
    if node is None or (isinstance(event, PressInput) and event.node_id != node.id):
        return Step(state=state, accepted=False, closed=True)
    speech = Speech(label=label, words=words, decimal_mark=decimal_mark)
    if node.ask == "media":
        return _media(flow, state, node, event, speech)
    if node.ask == "multi_choice" and isinstance(event, PressInput) and event.value != SKIP:
        if event.value == SUBMIT:
            return _submit(flow, state, node, speech)
        if event.value not in {o.value for o in node.options}:
            return _reject(node, state)
        picked = set(state.selected) ^ {event.value}
        order = [o.value for o in node.options]
        new_state = replace(state, selected=tuple(v for v in order if v in picked), misses=0)
        return Step(
            state=new_state,
            replies=(_question(node, new_state),),
            accepted=False,
            refresh=True,
        )
    if (
        node.ask == "multi_choice"
        and isinstance(event, TextInput)
        and _says(event, DONE_KEY, speech)
    ):
        return _submit(flow, state, node, speech)

    reading = read(node, event, speech, _ordered(node, state))
    if not reading.understood:
        return _reject(node, state, reading.hint)
    return _accept(flow, state, node, reading, speech)


def _submit(flow: Flow, state: RunState, node: AskNode, speech: Speech) -> Step:
    """ "Done" on a multi-choice question: the options ticked so far, or a skip."""
    if state.selected:
        order = [o.value for o in node.options]
        chosen = sorted(state.selected, key=order.index)
        return _accept(flow, state, node, Reading(True, chosen), speech)
    if node.skippable:
        return _accept(flow, state, node, Reading(True, None), speech)
    return _reject(node, state)


def _media(flow: Flow, state: RunState, node: AskNode, event: Input, speech: Speech) -> Step:
    """A media question: items gather in its answer until Done, Skip or `max_items`."""
    held = list(state.answers.get(node.key) or [])  # type: ignore[arg-type]
    if isinstance(event, MediaInput) and event.item.kind in node.accepts:
        held.append(event.item.encode())
        if len(held) >= most(node.max_items):
            return _accept(flow, state, node, Reading(True, held), speech)
        kept = replace(state, answers={**state.answers, node.key: held}, misses=0)
        received = replace(_question(node, kept), key=RECEIVED_KEY, params={"count": len(held)})
        return Step(state=kept, replies=(received,), accepted=False)
    pressed = isinstance(event, PressInput) and event.value in (SKIP, SUBMIT)
    typed = isinstance(event, TextInput) and any(
        _says(event, key, speech) for key in (SKIP_KEY, DONE_KEY)
    )
    if pressed or typed:
        return _accept(flow, state, node, Reading(True, held or None), speech)
    accepted = accepted_wording(node.accepts, speech.label)
    return _reject(node, state, Reply(node.hint or "hint.media", {"accepted": accepted}, hint=True))


def _says(event: TextInput, key: str, speech: Speech) -> bool:
    typed = normalise(strip_button_marks(clean(event.text)))
    return typed in {normalise(w) for w in speech.every(key)} | {f"/{key.rsplit('.', 1)[-1]}"}


def read(
    node: AskNode, event: Input, speech: Speech, shown: tuple[Option, ...] | None = None
) -> Reading:
    """Read an input as an answer to `node`, whose options were `shown` in that order."""
    if isinstance(event, MediaInput):  # sent to a question that takes text or buttons
        return Reading(False, hint=Reply(key="chat.unsupported", hint=True))
    if isinstance(event, PressInput):
        if event.value == SKIP:
            return Reading(node.skippable)
        if node.ask == "scale":
            lo, hi = node.scale_bounds
            number = _as_int(event.value)
            return Reading(number is not None and lo <= number <= hi, number)
        if event.value in {o.value for o in node.choices}:
            return Reading(True, event.value)
        return Reading(False)

    if is_blank(event.text):
        return Reading(False)
    text = clean(event.text)
    if node.skippable and _says(TextInput(text), SKIP_KEY, speech):
        return Reading(True)
    if node.ask in ("choice", "yes_no"):
        found = match_choice(text, _choices(node, speech, shown))
        return Reading(False) if found is None else Reading(True, found.value, not found.exact)
    if node.ask == "multi_choice":
        return _match_many(node, text, speech)
    if node.ask == "scale":
        return _read_scale(node, text, speech)
    if node.ask == "number":
        return _read_number(node, text, speech.decimal_mark)
    if node.ask == "time_zone":
        name = read_zone(text)
        return Reading(name is not None, name)
    if len(text) > node.max_length:
        return Reading(False)
    return Reading(True, text)


def _choices(
    node: AskNode, speech: Speech, shown: tuple[Option, ...] | None = None
) -> list[Choice]:
    return [
        Choice(o.value, own=(speech.label(o.label),), other=speech.every(o.label))
        for o in (node.choices if shown is None else shown)
    ]


def _ordered(node: AskNode, state: RunState) -> tuple[Option, ...]:
    """The options as shown: the one a given answer suggests (`AskNode.suggest`) first."""
    suggested = state.answers.get(node.suggest) if node.suggest else None
    first = tuple(o for o in node.choices if o.value == suggested)
    return (*first, *(o for o in node.choices if o.value != suggested))


def _match_many(node: AskNode, text: str, speech: Speech) -> Reading:
    choices = _choices(node, speech)
    whole = match_choice(text, choices)
    if whole is not None:  # one option, typed as its button shows it (a label may hold a comma)
        return Reading(True, [whole.value], not whole.exact)
    parts = [p for p in re.split(r"[,;\n]+", text) if p.strip()]
    if len(parts) == 1 and all(t.isdigit() for t in parts[0].split()):
        parts = parts[0].split()
    found: list[Matched] = []
    for part in parts:
        matched = match_choice(part, choices)
        if matched is None:
            return Reading(False)
        found.append(matched)
    order = [o.value for o in node.options]
    values = sorted({m.value for m in found}, key=order.index)
    return Reading(bool(values), values or None, not all(m.exact for m in found))


def _read_scale(node: AskNode, text: str, speech: Speech) -> Reading:
    lo, hi = node.scale_bounds
    number = _as_int(normalise(text))
    if number is not None:
        return Reading(lo <= number <= hi, number)
    ends = [
        Choice(str(end), own=(speech.label(key),), other=speech.every(key))
        for end, key in ((lo, node.low_label), (hi, node.high_label))
        if key
    ]
    found = match_words(text, ends)
    if found is None:
        return Reading(False)
    return Reading(True, int(found.value), not found.exact)


def _read_number(node: AskNode, text: str, decimal_mark: str) -> Reading:
    reading = read_number(text, decimal_mark)
    number, other = _in_bounds(node, reading.value), _in_bounds(node, reading.other)
    if number is not None and other is None:
        return Reading(True, number)
    if number is not None and other is not None:
        # `1,000` to a French question: one, as French writes it, or a thousand, as typed on
        # an English keyboard. Asking costs one message; a wrong guess costs the answer.
        first, second = write_number(other, decimal_mark), write_number(number, decimal_mark)
        params = {"first": first, "second": second}
        return Reading(False, hint=Reply(key="hint.number_ambiguous", params=params, hint=True))
    if reading.value is None and other is not None:
        # `1,5` to an English question: most likely 1.5, but it could be a mistyped 1,500.
        shown = write_number(other, decimal_mark)
        hint = Reply(key="hint.number_format", params={"number": shown}, hint=True)
        return Reading(False, hint=hint)
    return Reading(False)


def _in_bounds(node: AskNode, value: Decimal | None) -> int | float | None:
    if value is None or (node.integer and value != value.to_integral_value()):
        return None
    number: int | float = int(value) if node.integer else float(value)
    if node.min is not None and number < node.min:
        return None
    if node.max is not None and number > node.max:
        return None
    return number


def answer_wording(node: AskNode, value: AnswerValue, label: Label) -> str:
    """An answer as the member's language words it: option labels, a number, the text."""
    if value is None:
        return label(SKIP_KEY)
    if node.ask == "media":
        return label("media.answered").format(count=len(value))  # type: ignore[arg-type]
    labels = {o.value: label(o.label) for o in node.choices}
    if isinstance(value, list):
        return ", ".join(labels.get(v, v) for v in value)
    if isinstance(value, str):
        return labels.get(value, value)
    return _fmt(value)


def _as_int(text: str) -> int | None:
    return int(text) if text.isdecimal() and len(text) < 6 else None


def _open_question(flow: Flow, state: RunState) -> AskNode | None:
    if state.node_id is None or state.flow_id != flow.id:
        return None
    node = flow.nodes.get(state.node_id)
    return node if isinstance(node, AskNode) else None


def _reject(node: AskNode, state: RunState, hint: Reply | None = None) -> Step:
    missed = replace(state, misses=state.misses + 1)
    if missed.misses >= SET_ASIDE_AFTER:
        # Spoken to whoever types (a facilitator in a proxy run), like a hint.
        key = SET_ASIDE_KEY if missed.misses == SET_ASIDE_AFTER else WAITING_KEY
        return Step(state=missed, replies=(Reply(key=key, hint=True),), accepted=False)
    if missed.misses >= WAY_OUT_AFTER:
        # The same refusal again would not help: every option, and every way out, instead.
        return Step(
            state=missed, replies=(replace(_question(node, missed), way_out=True),), accepted=False
        )
    return Step(
        state=missed,
        replies=(hint or _hint(node), _question(node, missed)),
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
    if node.ask == "time_zone":
        return Reply(key="hint.time_zone", hint=True)
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
        suggested = state.answers.get(node.suggest) if node.suggest else None
        options = tuple(
            OptionView(number=i + 1, value=o.value, label=o.label, suggested=o.value == suggested)
            for i, o in enumerate(_ordered(node, state))
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
        max={"scale": node.scale_bounds[1], "media": most(node.max_items)}.get(node.ask, node.max),
        max_length=node.max_length if node.ask == "text" else None,
        accepts=node.accepts,
        held=len(state.answers.get(node.key) or ()) if node.ask == "media" else 0,  # type: ignore[arg-type]
    )
    return Reply(key=node.text, question=view)


def _accept(flow: Flow, state: RunState, node: AskNode, reading: Reading, speech: Speech) -> Step:
    value = reading.value
    saved = SavedAnswer(
        node_id=node.id,
        key=node.key,
        kind=node.ask,
        value=value,
        anonymous=node.anonymous or flow.anonymous,
    )
    answers = {**state.answers, node.key: value}
    profile: dict[str, str] = {node.sets: str(value)} if node.sets and value is not None else {}
    moved = replace(state, answers=answers, selected=(), misses=0)
    following = choose(node.next, answers, node.key)
    step = _walk(flow, moved, following)
    wording = {"answer": answer_wording(node, value, speech.label)}
    replies = step.replies
    if reading.guessed:
        replies = (Reply(key="chat.understood", params=wording), *replies)
    answered = Reply(key="chat.answered", params=wording)
    return replace(step, replies=replies, answers=(saved,), profile=profile, answered=answered)


def _walk(flow: Flow, state: RunState, node_id: str) -> Step:
    replies: list[Reply] = []
    for _ in range(MAX_WALK):
        node = flow.nodes[node_id]
        if isinstance(node, AskNode):
            state = replace(state, node_id=node.id, selected=(), misses=0)
            replies.append(_question(node, state))
            return Step(state=state, replies=tuple(replies))
        if isinstance(node, SayNode):
            replies.append(Reply(key=node.say))
            node_id = choose(node.next, state.answers, None)
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
