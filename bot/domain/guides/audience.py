"""The audience step broadcasts and schedules share (`ask_audience`, `pick`): everyone, or
stakeholder groups, languages and committees ticked one by one.

Facts: `groups`, `locales`, `committees` ((id, name) pairs), `audience_size` (of the draft's
audience now)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any, Protocol, Self, TypeVar

from bot.domain.audiences import Audience
from bot.domain.guided import Button, Data, Input, Row, Say, Turn, checkbox, column, label, say


class Picking(Protocol):
    """A draft with an audience to tick."""

    @property
    def audience(self) -> Audience: ...

    def toggle_group(self, group: str, order: Collection[str]) -> Self: ...

    def toggle_language(self, language: str, order: Collection[str]) -> Self: ...

    def toggle_committee(self, committee_id: int) -> Self: ...

    def to_everyone(self) -> Self: ...

    def to_json(self) -> dict[str, Any]: ...


def ask_audience(prefix: str, audience: Audience, facts: Data) -> Say:
    """The audience question and its picker, worded under `prefix` (`broadcast`, `schedules`):
    `<prefix>.ask_audience` with the audience's size, `.everyone`, `.continue`."""
    go_on, everyone = f"{prefix}.continue", f"{prefix}.everyone"
    rows = audience_rows(audience, facts, everyone=everyone, go_on=go_on)
    return say(f"{prefix}.ask_audience", *rows, count=facts["audience_size"])


def pick(draft: Picking, got: Input, facts: Data) -> Turn | None:
    """A press at the audience step: a tick redraws the picker in place (one picker, not one
    per press); None for the button to go on, which each machine takes its own way."""
    if got.action == "done":
        return None
    ticked = tick(draft, got, facts)
    return Turn((ticked or draft).to_json(), redraw=True)


def audience_rows(audience: Audience, facts: Data, *, everyone: str, go_on: str) -> tuple[Row, ...]:
    """One ticked button per choice, then the one to go on."""
    buttons = [Button(checkbox(audience.everyone, everyone), "all")]
    buttons += [
        Button(checkbox(g in audience.groups, f"group.{g}"), "group", g) for g in facts["groups"]
    ]
    buttons += [
        Button(checkbox(c in audience.languages, f"language.name.{c}"), "lang", c)
        for c in facts["locales"]
    ]
    buttons += [
        Button(
            checkbox(i in audience.committees, "broadcast.committee", name=name),
            "committee",
            str(i),
        )
        for i, name in facts["committees"]
    ]
    buttons.append(Button(label(go_on, "➜"), "done"))
    return column(*buttons)


D = TypeVar("D", bound=Picking)


def tick(draft: D, got: Input, facts: Data) -> D | None:
    """The draft with one choice ticked or unticked; None if the press is not a tick."""
    arg, groups, locales = got.arg, facts["groups"], facts["locales"]
    if got.action == "all":
        return draft.to_everyone()
    if got.action == "group" and arg in groups:
        return draft.toggle_group(arg, groups)
    if got.action == "lang" and arg in locales:
        return draft.toggle_language(arg, locales)
    if got.action == "committee" and arg.isdigit():
        known = {c for c, _ in facts["committees"]} | set(draft.audience.committees)
        return draft.toggle_committee(int(arg)) if int(arg) in known else draft
    return None
