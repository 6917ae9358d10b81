"""Champions: the rules of the key-people register, over plain values (no I/O).

Each organisation (as its members named it at onboarding) has at most one lead and one deputy.
A key person's activity is read from what they did (answers, check-ins, tickets); one who has
done nothing for `quiet_after` is quiet, and coordinators hear of it once per quiet spell.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median

LEAD, DEPUTY = "lead", "deputy"
ROLES = (LEAD, DEPUTY)
# Why coordinators are told about a key person: the `champions.alert.<reason>` wording.
QUIET, STOPPED, DEMOTED, LEFT, ERASED, PROPOSED = (
    "quiet",
    "stopped",
    "demoted",
    "left",
    "erased",
    "proposed",
)
DEPARTURES = (STOPPED, DEMOTED, LEFT, ERASED)


def org_key(organisation: str) -> str:
    """An organisation as members' answers are compared: spaces and case folded."""
    return " ".join(organisation.split()).casefold()


@dataclass(frozen=True)
class Activity:
    """What a key person did: the figures coordinators see beside their name."""

    last_answer: datetime | None
    checkins_sent: int
    checkins_answered: int
    tickets_handled: int
    # Hours from a ticket's arrival to the person's first step on it, middle value.
    median_hours: float | None
    open_tickets: int
    seats: tuple[str, ...]
    last_active: datetime | None


def first_response_hours(pairs: Sequence[tuple[datetime, datetime]]) -> float | None:
    """The median of (ticket raised, first step taken) delays in hours; None without any."""
    delays = [max(0.0, (step - raised).total_seconds() / 3600) for raised, step in pairs]
    return round(median(delays), 1) if delays else None


def quiet_since(
    last_active: datetime | None, appointed_at: datetime, *, now: datetime, quiet_after: timedelta
) -> datetime | None:
    """When the key person's silence started, if it has lasted `quiet_after` by `now`.

    A seat given to someone who has done nothing since counts from the appointment."""
    since = appointed_at if last_active is None else max(last_active, appointed_at)
    return since if now - since >= quiet_after else None


def should_alert_quiet(quiet_from: datetime | None, alerted_at: datetime | None) -> bool:
    """One alert per quiet spell: again only after the person was active since the last one."""
    return quiet_from is not None and (alerted_at is None or alerted_at < quiet_from)
