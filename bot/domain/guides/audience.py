"""The audience step broadcasts and schedules share (`ask_audience`, `pick`): everyone, or
stakeholder groups, languages and committees ticked one by one.

Facts: `groups`, `locales`, `committees` ((id, name) pairs), `audience_size` (of the draft's
audience now)."""

from __future__ import annotations

from typing import Any, Protocol, Self

from bot.domain import guided as g
from bot.domain.audiences import PICKED, Audience, pressed


class Picking(Protocol):
    """A draft with an audience to tick."""

    @property
    def audience(self) -> Audience: ...

    def with_audience(self, audience: Audience) -> Self: ...

    def to_json(self) -> dict[str, Any]: ...


def ask_audience(prefix: str, audience: Audience, facts: g.Data) -> g.Say:
    """The audience question and its picker, worded under `prefix` (`broadcast`, `schedules`):
    `<prefix>.ask_audience` with the audience's size, `.everyone`, `.continue`."""
    go_on, everyone = f"{prefix}.continue", f"{prefix}.everyone"
    rows = audience_rows(audience, facts, everyone=everyone, go_on=go_on)
    return g.say(f"{prefix}.ask_audience", *rows, count=facts["audience_size"])


def pick(draft: Picking, got: g.Input, facts: g.Data) -> g.Turn | None:
    """A press at the audience step: a tick redraws the picker in place (one picker, not one
    per press); None for the button to go on, which each machine takes its own way."""
    if got.action == "done":
        return None
    offered = {**facts, "committees": {c for c, _ in facts["committees"]}}
    ticked = pressed(draft.audience, got.action or "", got.arg, offered)
    return g.Turn((draft if ticked is None else draft.with_audience(ticked)).to_json(), redraw=True)


def audience_rows(
    audience: Audience, facts: g.Data, *, everyone: str, go_on: str
) -> tuple[g.Row, ...]:
    """One ticked button per choice of each part (`audiences.PICKED`), then the committees,
    then the one to go on."""
    buttons = [g.Button(g.checkbox(audience.everyone, everyone), "all")]
    for part in PICKED:
        chosen = getattr(audience, part.field)
        buttons += [
            g.Button(g.checkbox(value in chosen, part.label.format(value)), part.action, value)
            for value in part.choices(facts)
        ]
    buttons += [
        g.Button(
            g.checkbox(i in audience.committees, "broadcast.committee", name=name),
            "committee",
            str(i),
        )
        for i, name in facts["committees"]
    ]
    buttons.append(g.Button(g.label(go_on, "➜"), "done"))
    return g.column(*buttons)
