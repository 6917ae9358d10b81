"""Invitation links: the token's shape, the link, and whether a link still admits anyone.

A link is `https://t.me/<bot>?start=<token>`; Telegram passes the token to /start and accepts
at most 64 characters of [A-Za-z0-9_-] there.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

TOKEN_BYTES = 16  # 22 characters once url-safe encoded
START_PARAMETER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# What the onboarding flow is given when a person opened a link (see flows/onboarding.yaml).
INVITED_GROUP = "invited_group"
INVITED_COMMITTEE = "invited_committee"
# The onboarding answer by which an invited person takes the committee seat offered.
COMMITTEE_SEAT = "committee_seat"
_LIMIT = re.compile(r"^(\d{1,4})([dx])$")


class InviteState(StrEnum):
    """Whether a link admits anyone; the others are the reasons it does not."""

    OPEN = "open"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_UP = "used_up"
    UNKNOWN = "unknown"


def is_token(text: str) -> bool:
    """Whether `text` can be a start parameter at all."""
    return bool(START_PARAMETER.match(text))


def link(bot_username: str, token: str) -> str:
    """The deep link that opens the bot with this token."""
    return f"https://t.me/{bot_username.lstrip('@')}?start={token}"


def state(
    *,
    now: datetime,
    expires_at: datetime | None,
    max_uses: int | None,
    uses: int,
    revoked_at: datetime | None,
) -> InviteState:
    """Whether a link admits one more person now."""
    if revoked_at is not None:
        return InviteState.REVOKED
    if expires_at is not None and now >= expires_at:
        return InviteState.EXPIRED
    if max_uses is not None and uses >= max_uses:
        return InviteState.USED_UP
    return InviteState.OPEN


@dataclass(frozen=True)
class Limits:
    """How long a link lasts and how many may join through it (None: no limit)."""

    days: int | None = None
    uses: int | None = None

    def expiry(self, now: datetime) -> datetime | None:
        return None if self.days is None else now + timedelta(days=self.days)


def parse_limits(words: list[str]) -> Limits | None:
    """`7d` (lasts seven days) and `50x` (fifty people), in any order; None when a word is
    neither or a limit is zero."""
    found: dict[str, int] = {}
    for word in words:
        matched = _LIMIT.match(word.lower())
        if matched is None or matched.group(2) in found or int(matched.group(1)) == 0:
            return None
        found[matched.group(2)] = int(matched.group(1))
    return Limits(days=found.get("d"), uses=found.get("x"))


NOMINEE_COLUMNS = ("name", "group", "organisation", "committee")


@dataclass(frozen=True)
class Nominee:
    """A person a partner nominates, as their CSV row gives them (`row`: its line number)."""

    row: int
    name: str
    group: str | None
    organisation: str | None
    committee: str | None


def read_nominees(text: str) -> list[Nominee]:
    """The rows of a nominees CSV (a header naming `NOMINEE_COLUMNS`, in any order; `name`
    required, the others may be empty). Raises ValueError naming the first bad row."""
    reader = csv.DictReader(text.lstrip("\ufeff").splitlines(keepends=True))
    header = [(h or "").strip().lower() for h in reader.fieldnames or ()]
    if "name" not in header or not set(header) <= set(NOMINEE_COLUMNS):
        raise ValueError(f"the header must name {', '.join(NOMINEE_COLUMNS)} (name required)")
    reader.fieldnames = header
    found = []
    for number, row in enumerate(reader, start=2):
        cells = {k: " ".join((row.get(k) or "").split()) or None for k in NOMINEE_COLUMNS}
        name, group, committee = cells["name"], cells["group"], cells["committee"]
        if name is None:
            raise ValueError(f"row {number}: no name")
        if group is None and committee is None:
            raise ValueError(f"row {number}: neither a group nor a committee")
        found.append(Nominee(number, name, group, cells["organisation"], committee))
    return found
