"""Who a broadcast, a schedule or a digest goes to: one `Audience` type for every feature.

The storage turns an audience into one SQL filter (`bot/storage/audiences.py`); the wording of
an audience is its `labels`, message ids with their parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Label = tuple[str, Mapping[str, str | int]]


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
