"""Golden transcripts as data: `flows/tests/<flow>.yaml` pins what a flow does, turn by turn.

Each case drives the pure engine from the flow's start (or from question `at`) with what a member
types or presses, and compares every turn with what the file expects: the messages said, the
question asked next, the answers saved, the profile set and how the flow ends. A field left out
expects nothing (no message, no answer...), so a case pins a turn whole. The format is described
in flows/README.md.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.domain.engine import (
    AnswerValue,
    Input,
    Label,
    MediaInput,
    PressInput,
    RunState,
    Step,
    TextInput,
    Words,
    prompt,
    resume,
    start,
)
from bot.domain.flows import AskNode, Flow, Slug
from bot.domain.media import RECEIVED_KEY, sent

Scalar = str | int | float | bool


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expect(_Strict):
    """What one turn shows and does; every field left out expects nothing."""

    hint: dict[str, Scalar] | None = None  # {key: hint.choice, count: 3}: a refusal and why
    says: tuple[str, ...] = ()  # message keys, in order, before the question
    asks: Slug | None = None  # the question asked next (its node id)
    way_out: bool = False  # asked with every way out, after repeated misunderstandings
    selected: tuple[str, ...] = ()  # the options ticked so far (multi_choice), in order
    refresh: bool = False  # the question's message is redrawn (a tick), not sent again
    saves: dict[str, AnswerValue] = Field(default_factory=dict)  # answer name -> value
    profile: dict[str, str] = Field(default_factory=dict)  # profile field -> value
    ends: bool = False
    then: Slug | None = None  # the flow started when this one ends
    discards: bool = False  # the member asked for nothing to be kept
    closed: bool = False  # input for a question no longer open: nothing happens

    @field_validator("saves", mode="before")
    @classmethod
    def _no_booleans(cls, saves: object) -> object:
        if isinstance(saves, dict):
            for key, value in saves.items():
                if isinstance(value, bool):
                    quote = 'write "yes" or "no" in quotes (YAML reads a bare one as true/false)'
                    raise ValueError(f"{key}: {quote}")
        return saves

    @model_validator(mode="after")
    def _ending(self) -> Expect:
        if (self.then or self.discards) and not self.ends:
            raise ValueError("`then` and `discards` come with `ends: true`")
        return self


class Turn(Expect):
    """What the member sends (`type` some text, `press` a button's value, or `send` media as
    `kind:file_id:unique_id`, `location:lat,long` or another kind alone, e.g. `sticker`), and the
    result."""

    type: str | None = None
    press: str | None = None
    send: str | None = None

    @model_validator(mode="after")
    def _one_input(self) -> Turn:
        if [self.type, self.press, self.send].count(None) != 2:
            raise ValueError(
                "a turn either types text (`type`), presses a button (`press`) or sends media "
                "(`send`)"
            )
        return self

    def expected(self) -> Expect:
        return Expect.model_validate(self.model_dump(exclude={"type", "press", "send"}))

    def shown(self) -> str:
        if self.send is not None:
            return f"send {self.send!r}"
        return f"press {self.press!r}" if self.press is not None else f"type {self.type!r}"


class Case(_Strict):
    """One conversation: the member's language, where it starts and each turn."""

    name: str
    language: str = "en"
    at: Slug | None = None  # start at this question instead of the flow's start
    given: dict[Slug, Scalar] = Field(default_factory=dict)  # the host's answers (flow `given`)
    start: Expect = Expect()
    turns: tuple[Turn, ...] = ()


class TranscriptFile(_Strict):
    """A `flows/tests/<flow>.yaml` file: cases for one flow."""

    flow: Slug
    cases: tuple[Case, ...] = Field(min_length=1)


@dataclass(frozen=True)
class MemberSpeech:
    """How members of each language are read: wording of keys, accepted words, decimal mark."""

    label_for: Callable[[str], Label]
    words: Words | None = None
    decimal_mark_for: Callable[[str], str] = lambda locale: "."


def parse_transcripts(data: object, *, source: str) -> TranscriptFile:
    """Validate a transcript file; ValueError names the file and what is wrong."""
    try:
        return TranscriptFile.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg'].removeprefix('Value error, ')}"
            for e in exc.errors()
        )
        raise ValueError(f"{source}: {problems}") from None


def observe(flow: Flow, step: Step) -> tuple[Expect, list[str]]:
    """What a step shows and does, and anything in it that breaks the engine's own rules
    (replies out of order, a question worded with another key, an answer of the wrong kind)."""
    problems: list[str] = []
    hints = [r for r in step.replies if r.hint]
    questions = [r for r in step.replies if r.question is not None]
    says = [r for r in step.replies if not r.hint and r.question is None]
    if list(step.replies) != [*hints, *says, *questions] or len(hints) > 1 or len(questions) > 1:
        problems.append(f"replies out of order: {[r.key for r in step.replies]}")
    question = questions[-1] if questions else None
    view = question.question if question is not None else None
    if view is not None and question is not None:
        node = flow.nodes.get(view.node_id)
        # A media question is asked again after each item as "received", with its buttons.
        again = isinstance(node, AskNode) and node.ask == "media" and question.key == RECEIVED_KEY
        if not isinstance(node, AskNode) or (node.text != question.key and not again):
            problems.append(f"question '{view.node_id}' asked with key '{question.key}'")
    for saved in step.answers:
        node = flow.nodes.get(saved.node_id)
        anonymous = isinstance(node, AskNode) and (node.anonymous or flow.anonymous)
        if not isinstance(node, AskNode) or (saved.kind, saved.anonymous) != (node.ask, anonymous):
            problems.append(f"answer '{saved.key}' saved as {saved.kind}, {saved.anonymous=}")
    seen = Expect(
        hint={"key": hints[0].key, **hints[0].params} if hints else None,
        says=tuple(r.key for r in says),
        asks=view.node_id if view is not None else None,
        way_out=question is not None and question.way_out,
        selected=tuple(sorted(view.selected)) if view is not None else (),
        refresh=step.refresh,
        saves={a.key: a.value for a in step.answers},
        profile=dict(step.profile),
        ends=step.finished and not step.closed,
        then=step.start_flow if step.finished and not step.closed else None,
        discards=step.discard and not step.closed,
        closed=step.closed,
    )
    return seen, problems


def run_case(flow: Flow, case: Case, speech: MemberSpeech) -> list[str]:
    """Drive `flow` through `case`; each difference from what it expects, as a sentence.

    Between turns the state goes through JSON, as the bot stores it.
    """
    label = speech.label_for(case.language)
    talk: dict[str, Any] = {
        "label": label,
        "words": speech.words,
        "decimal_mark": speech.decimal_mark_for(case.language),
    }
    unknown = [name for name in case.given if name not in flow.given]
    if unknown:
        return [f"given: {name} not in the flow's `given`" for name in unknown]
    if case.at is None:
        step = start(flow, case.given)
    else:
        step = prompt(flow, RunState(flow.id, flow.version, case.at, answers=case.given))
    found = _compare("start", flow, step, case.start)
    for number, turn in enumerate(case.turns, start=1):
        state = RunState.from_json(json.loads(json.dumps(step.state.to_json())))
        step = resume(flow, state, _input(turn, state), **talk)
        found += _compare(f"turn {number} ({turn.shown()})", flow, step, turn.expected())
        if found:
            break  # later turns follow from a different state: their differences would mislead
    return found


def _input(turn: Turn, state: RunState) -> Input:
    if turn.press is not None:
        return PressInput(state.node_id or "", turn.press)
    if turn.send is not None:
        return MediaInput(sent(turn.send))
    return TextInput(turn.type or "")


def _compare(where: str, flow: Flow, step: Step, expected: Expect) -> list[str]:
    seen, problems = observe(flow, step)
    found = [f"{where}: {p}" for p in problems]
    want, got = _typed(expected), _typed(seen)
    for name in Expect.model_fields:
        if want[name] != got[name]:
            found.append(f"{where}: {name} expected {want[name]!r}, got {got[name]!r}")
    return found


def _typed(expect: Expect) -> Mapping[str, Any]:
    """The fields to compare; saved values keep their type (2 is not 2.0, "2" is not 2)."""
    fields = expect.model_dump()
    fields["saves"] = {k: (v, type(v).__name__) for k, v in expect.saves.items()}
    return fields
