"""Concerns and their tickets: the choices a raiser makes, the lifecycle, handles and routing.

A concern becomes a ticket that moves forward only: received -> discussed in committee ->
action agreed -> done, or declined (with a reason) from any open step. Every step is told to
the raiser, so they hear what became of what they said.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.media import MediaItem, items_of

CATEGORIES = ("roles", "resources", "communication", "trust", "service_delivery", "other")
ABOUT = ("municipality", "private_sector", "civil_society", "partnership")
URGENCIES = ("low", "medium", "high")
URGENT = "high"  # "Urgent" in the flow: escalates when left unanswered
IDENTITIES = ("named", "anonymous")
# The media questions of flows/concerns.yaml: a named raiser's, and an anonymous one's (asked
# only after the warning about what media give away).
EVIDENCE = ("evidence", "evidence_anonymous")
# Answers, replies and decline reasons are bounded like the concern itself (the `text` question
# of flows/concerns.yaml).
MAX_TEXT = 2000

RECEIVED, DISCUSSED, AGREED, DONE, DECLINED = "received", "discussed", "agreed", "done", "declined"
STATUSES = (RECEIVED, DISCUSSED, AGREED, DONE, DECLINED)
OPEN = frozenset({RECEIVED, DISCUSSED, AGREED})
CLOSED = frozenset({DONE, DECLINED})
_RANK = {RECEIVED: 0, DISCUSSED: 1, AGREED: 2, DONE: 3, DECLINED: 3}

# No 0/O, 1/I/L: a handle is read aloud and typed on basic phones.
HANDLE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
HANDLE_LENGTH = 6
HANDLE_BITS = 40


class ConcernError(ValueError):
    """A concern or a step that cannot be: `code` names the reason (a locale key's last part)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Concern:
    """What a member said, as the concerns flow collected it."""

    category: str
    about: str
    urgency: str
    text: str
    anonymous: bool
    media: tuple[MediaItem, ...] = ()

    @classmethod
    def from_answers(cls, answers: Mapping[str, Any]) -> Concern:
        """The concern in a finished run's answers; raises ConcernError when one is missing."""
        category, about = answers.get("category"), answers.get("about")
        urgency, identity = answers.get("urgency"), answers.get("identity")
        text = str(answers.get("text") or "").strip()
        if category not in CATEGORIES or about not in ABOUT or urgency not in URGENCIES:
            raise ConcernError("incomplete")
        if identity not in IDENTITIES or not text:
            raise ConcernError("incomplete")
        anonymous = identity == "anonymous"
        media = tuple(m for key in EVIDENCE for m in items_of(answers.get(key)))
        return cls(
            category=str(category),
            about=str(about),
            urgency=str(urgency),
            text=text,
            anonymous=anonymous,
            # A document may carry its author's name: never on an anonymous ticket.
            media=tuple(m for m in media if not (anonymous and m.kind == "document")),
        )


def can_move(current: str, target: str) -> bool:
    """Whether a ticket in `current` may go to `target`: forward only, never out of a close."""
    if current not in OPEN or target not in STATUSES:
        return False
    return _RANK[target] > _RANK[current]


def check_move(current: str, target: str, reason: str | None) -> None:
    """Raise ConcernError unless the step is allowed (declining needs a reason)."""
    if current in CLOSED:
        raise ConcernError("closed")
    if not can_move(current, target):
        raise ConcernError("backwards")
    if target == DECLINED and not (reason or "").strip():
        raise ConcernError("reason_needed")


def handle_from(number: int) -> str:
    """A short ticket handle, e.g. "C-7KQ3XM", from a random number (the caller draws it)."""
    if number < 0:
        raise ValueError("a handle comes from a non-negative number")
    base = len(HANDLE_ALPHABET)
    chars = []
    for _ in range(HANDLE_LENGTH):
        number, digit = divmod(number, base)
        chars.append(HANDLE_ALPHABET[digit])
    return "C-" + "".join(reversed(chars))


def normalise_handle(text: str) -> str:
    """A handle as a member may type it ("c 7kq3xm", "7KQ3XM") in its stored form."""
    cleaned = "".join(ch for ch in text.upper() if ch.isalnum())
    if cleaned.startswith("C") and len(cleaned) == HANDLE_LENGTH + 1:
        cleaned = cleaned[1:]
    return "C-" + cleaned


@dataclass(frozen=True)
class CommitteeView:
    """A committee as routing sees it: the concern categories it declared it handles."""

    id: int
    archived: bool = False
    categories: frozenset[str] = frozenset()


def route(committees: Sequence[CommitteeView], category: str | None = None) -> int | None:
    """The committee a concern goes to: the active committee that handles its category, else
    the first committee created (the steering group) that is not archived; None when there is
    none, and the concern goes to every coordinator."""
    active = sorted((c for c in committees if not c.archived), key=lambda c: c.id)
    for committee in active:
        if category is not None and category in committee.categories:
            return committee.id
    return active[0].id if active else None


def check_categories(categories: Sequence[str]) -> tuple[str, ...]:
    """The categories a committee declares, in the flow's order; raises ConcernError
    ("category") for one that is not a concern category."""
    if any(c not in CATEGORIES for c in categories):
        raise ConcernError("category")
    return tuple(c for c in CATEGORIES if c in categories)


def overdue(*, urgency: str, created_at: datetime, now: datetime, after: timedelta) -> bool:
    """Whether an unanswered ticket of this urgency is due to escalate: an urgent one left
    `after` or longer."""
    return urgency == URGENT and now - created_at >= after
