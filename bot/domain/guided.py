"""Guided commands as step machines: one protocol for every coordinator conversation.

A draft is plain JSON data. A machine takes the draft, what the person typed or pressed and
the facts the host looked up, and returns a `Turn`: the next draft (or None: closed), what to
show as message keys and button specs (never wording), and at most one `Effect` for the host
to carry out (the I/O), whose outcome the machine then words with `settle`.

A machine is a `Guide` (the scaffolding every one shares: the step kept under "step", the
defaults, the confirm and cancel endings) and registers itself with `@guided(host=...)`,
naming the host that does its I/O (in `bot.services.guides`). Machines import this module as
`g` (`from bot.domain import guided as g`), one short vocabulary: `g.say`, `g.Button`, `g.Turn`.
`bot.services.guided` stores one draft per (member, kind), so several can be open at once; the
router (`bot.telegram.routers.guided`) renders turns and packs buttons.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol, TypeVar

Data = Mapping[str, Any]
Role = Literal["member", "coordinator"]
CHECKED, UNCHECKED = "☑", "☐"


@dataclass(frozen=True)
class Label:
    """Wording by key; a parameter may itself be a Label (or a tuple of them, listed with
    commas); a `mark` (☑, ➜) goes before it."""

    key: str
    params: Mapping[str, Any] = field(default_factory=dict)
    mark: str = ""


def label(key: str, mark: str = "", **params: Any) -> Label:
    return Label(key, params, mark)


def checkbox(chosen: bool, key: str, **params: Any) -> Label:
    return Label(key, params, CHECKED if chosen else UNCHECKED)


@dataclass(frozen=True)
class Button:
    """A button of the draft's current step: pressing it steps with (action, arg). A plain
    string label is shown as it is (a number)."""

    label: Label | str
    action: str
    arg: str = ""


Row = tuple[Button, ...]


@dataclass(frozen=True)
class Say:
    """One message: a key with parameters and buttons in rows; or a text sent exactly
    (`exact`, built by a service, with its Bot API `keyboard`); or a questionnaire's turn
    (`engine`, an engine outcome the conversation renderer shows)."""

    key: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    rows: tuple[Row, ...] = ()
    exact: str | None = None
    keyboard: Any = None
    media: tuple[str, str] | None = None  # an exact text's photo or document: (kind, file id)
    engine: Any = None


def say(key: str, *rows: Row, **params: Any) -> Say:
    return Say(key, params, tuple(rows))


def column(*buttons: Button) -> tuple[Row, ...]:
    """One button per row."""
    return tuple((b,) for b in buttons)


def ask(key: str, *choices: Button, **params: Any) -> Say:
    """A question with its choices, one button per row."""
    return Say(key, params, column(*choices))


@dataclass(frozen=True)
class Input:
    """What came in: typed text (its HTML too), media, or a pressed button (action, arg)."""

    text: str | None = None
    html: str | None = None
    media: tuple[str, str] | None = None
    action: str | None = None
    arg: str = ""

    @property
    def pressed(self) -> bool:
        return self.action is not None


@dataclass(frozen=True)
class Effect:
    """Work only the host can do (store, send, erase), by name with JSON-able parameters."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Turn:
    """A step's result. `show` asks the host to follow with the next step's question;
    `redraw` edits the pressed message instead; `toast` answers the press alone."""

    data: Data | None
    says: tuple[Say, ...] = ()
    effect: Effect | None = None
    show: bool = True
    redraw: bool = False
    toast: Label | None = None
    alert: bool = False


def closed(*says: Say) -> Turn:
    return Turn(None, says, show=False)


def stay(data: Data, *says: Say) -> Turn:
    """The same step again, saying why (a typed value that does not fit)."""
    return Turn(data, says, show=False)


def refuse(data: Data, toast: Label) -> Turn:
    """A press that cannot be taken: an alert over the chat, the draft unchanged."""
    return Turn(data, show=False, toast=toast, alert=True)


class Machine(Protocol):
    """A guided command. `kind` keys its drafts and buttons; `command` starts it (none: a
    button elsewhere starts it through the host); `title` names it in the list of open ones;
    `cancelled` is said on /cancel; `refusal` to whom may not hold it. They are read only, so
    that a machine may give them as plain class attributes (see `Guide`)."""

    @property
    def kind(self) -> str: ...
    @property
    def command(self) -> str | None: ...
    @property
    def role(self) -> Role: ...
    @property
    def title(self) -> str: ...
    @property
    def cancelled(self) -> str: ...
    @property
    def refusal(self) -> str: ...

    def start(self, args: str, facts: Data) -> Turn:
        """A new draft from the command's arguments."""
        ...

    def step_of(self, data: Data) -> str:
        """The draft's current step; a button of another step is stale."""
        ...

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        """Apply an input to the draft."""
        ...

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        """The draft's current question."""
        ...

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """Word what the host's effect did."""
        ...


class Guide(ABC):
    """A `Machine` without the scaffolding: the draft keeps its step under "step" (`first` when
    missing), a new draft starts at `first`, a coordinator's command by default (`command`
    None: started by a button elsewhere), `title` is `guided.title.<kind>`, and the host words
    its own outcome (`said`). A machine names `kind`, `cancelled`, `refusal` and `first`, and
    writes `show` and `step`."""

    kind: str
    command: str | None = None
    role: Role = "coordinator"
    title: str
    cancelled: str
    refusal: str
    first: str

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "kind" in cls.__dict__ and "title" not in cls.__dict__:
            cls.title = f"guided.title.{cls.kind}"

    def begin(self, **data: Any) -> Turn:
        """A new draft at the first step, holding `data`."""
        return Turn({"step": self.first, **data})

    def start(self, args: str, facts: Data) -> Turn:
        return self.begin()

    def step_of(self, data: Data) -> str:
        return str(data.get("step", self.first))

    @abstractmethod
    def show(self, data: Data, facts: Data) -> tuple[Say, ...]: ...

    @abstractmethod
    def step(self, data: Data, got: Input, facts: Data) -> Turn: ...

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """The host's outcome: what it `said` (see `said`); the draft closes."""
        return closed(said(outcome))

    def cancel(self) -> Turn:
        """Close the draft, saying what /cancel says."""
        return closed(say(self.cancelled))

    def turn_away(self) -> Turn:
        """Close the draft, saying the refusal (the member may not hold it)."""
        return closed(say(self.refusal))

    def confirmed(self, yes: bool, effect: Effect) -> Turn:
        """The answer to a summary: yes carries out `effect`, no cancels; either closes it."""
        return carry_out(effect) if yes else self.cancel()


def carry_out(effect: Effect) -> Turn:
    """Close the draft and have the host carry out `effect` (`settle` words its outcome)."""
    return Turn(None, effect=effect, show=False)


def said(outcome: Data) -> Say:
    """What a host said: a key (`said`) with its parameters (`params`)."""
    return say(str(outcome["said"]), **outcome.get("params", {}))


def confirm_or_cancel(confirm: str, cancel: str, action: str = "send") -> tuple[Row, ...]:
    """A summary's two buttons, one a row: ✔ `confirm` (pressed: `action`), then `cancel`."""
    return column(Button(label(confirm, "✔"), action), Button(label(cancel), "cancel"))


@dataclass(frozen=True)
class Registered:
    """A machine; the host (by name, `bot.services.guides`) that serves its facts and effects,
    "" for none; how long an untouched draft stays open (None: until closed)."""

    machine: Machine
    host: str = ""
    lapse: timedelta | None = None


MACHINES: dict[str, Registered] = {}
M = TypeVar("M", bound=Machine)


def guided(*, host: str = "", lapse: timedelta | None = None) -> Callable[[type[M]], type[M]]:
    """Register a step machine class (a decorator): every module of `bot.domain.guides` is
    imported by the host, so a new guided command needs no list to be added to."""

    def register(cls: type[M]) -> type[M]:
        made = cls()
        MACHINES[made.kind] = Registered(made, host, lapse)
        return cls

    return register


def typed(got: Input) -> str:
    """The typed text, stripped ("" for a press or media alone)."""
    return (got.text or "").strip()
