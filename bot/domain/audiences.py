"""Who a broadcast, a schedule or a digest goes to: one `Audience` type for every feature.

The storage turns an audience into one SQL filter (`bot/storage/audiences.py`); the wording of
an audience is its `labels`, message ids with their parameters.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

Label = tuple[str, Mapping[str, str | int]]


@dataclass(frozen=True)
class Part:
    """A part of the audience the /broadcast and /schedules pickers offer, one button per
    choice: the `Audience` field, the buttons' action, one choice's wording (`{}`: its value),
    and its choices: the picker facts' key (`facts`), or `fixed` values."""

    field: str
    action: str
    label: str
    facts: str = ""
    fixed: tuple[str, ...] = ()

    def choices(self, facts: Mapping[str, Any]) -> Sequence[str]:
        return self.fixed or tuple(facts.get(self.facts) or ())


# The picker's parts, in order (committees, chosen by id and named by the host, come after).
PICKED = (
    Part("groups", "group", "group.{}", facts="groups"),
    Part("languages", "lang", "language.name.{}", facts="locales"),
)


@dataclass(frozen=True)
class Audience:
    """Active members, narrowed by each non-empty part (empty tuples mean 'all').

    `committees` are committee ids; who sits on them is looked up when the message is sent.
    """

    groups: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    committees: tuple[int, ...] = ()

    @property
    def everyone(self) -> bool:
        return not self.groups and not self.languages and not self.committees

    def toggled(self, field: str, value: str, order: Collection[str]) -> Audience:
        """The audience with `value` of a part (`PICKED`) ticked or unticked, in `order`."""
        chosen = set(getattr(self, field)) ^ {value}
        changed: dict[str, Any] = {field: tuple(v for v in order if v in chosen)}
        return replace(self, **changed)

    def toggled_committee(self, committee_id: int) -> Audience:
        return replace(self, committees=tuple(sorted(set(self.committees) ^ {committee_id})))

    def labels(self) -> list[Label]:
        """The audience's parts in words: message ids and their parameters, in order."""
        found: list[Label] = [(f"group.{g}", {}) for g in self.groups]
        found += [(f"language.name.{code}", {}) for code in self.languages]
        found += [("committee.number", {"id": c}) for c in self.committees]
        return found

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {"groups": list(self.groups), "languages": list(self.languages)}
        if self.committees:
            found["committees"] = list(self.committees)
        return found

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Audience:
        return cls(
            tuple(data.get("groups") or ()),
            tuple(data.get("languages") or ()),
            tuple(int(c) for c in data.get("committees") or ()),
        )


def pressed(audience: Audience, action: str, arg: str, facts: Mapping[str, Any]) -> Audience | None:
    """The audience after a picker button: `all`, a choice of a part (`PICKED`) or a committee
    (`facts["committees"]`: the ids offered); None for another button or a choice not offered."""
    if action == "all":
        return Audience()
    for part in PICKED:
        if action == part.action:
            choices = part.choices(facts)
            return audience.toggled(part.field, arg, choices) if arg in choices else None
    if action == "committee" and arg.isdigit():
        known = set(facts.get("committees") or ()) | set(audience.committees)
        return audience.toggled_committee(int(arg)) if int(arg) in known else None
    return None
