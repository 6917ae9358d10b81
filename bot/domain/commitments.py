"""Commitments as co-production: pure rules over plain values (no I/O).

A commitment says who (a partner organisation, maybe one person of it) does what, by when, for
whom, and the agreement or clause it comes from. Its owner is asked how delivery goes before
the due date and on it; the partner it is for rates delivery and spirit anonymously; any partner
concerned may propose a change (a variation) or raise a dispute, which a coordinator settles.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

PENDING = "pending"
# What the owner answers at a delivery check-in (the flow's `status` options).
DELIVERY_STATES = ("done", "on_track", "at_risk", "blocked")
STATUSES = (PENDING, *DELIVERY_STATES)
# When the owner is asked: `BEFORE` some days ahead of the due date, `DUE` on it.
BEFORE, DUE, RATE = "before", "due", "rate"
STAGES = (BEFORE, DUE)
# A variation changes the commitment (maybe its due date); a dispute says it is not kept.
VARIATION_KINDS = ("change", "dispute")
OPEN, ACCEPTED, REJECTED = "open", "accepted", "rejected"
OUTCOMES = (ACCEPTED, REJECTED)
RESPONSES = ("agree", "disagree")
RATING_SCALE = (1, 5)
MAX_WHAT, MAX_PARTY, MAX_SOURCE, MAX_NOTE = 500, 200, 300, 1000
CSV_COLUMNS = ("owner", "what", "due", "for", "source")
# The flows' hand-overs (their `finisher:`), see bot/domain/contracts.py.
CHECKIN_FINISHER, RATING_FINISHER = "commitment_checkin", "commitment_rating"


class CommitmentError(ValueError):
    """A commitment that cannot be recorded: `key` words why, with `params`."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key, self.params = key, params


@dataclass(frozen=True)
class CommitmentSpec:
    """A commitment to record; `person` names one member of the owner organisation (by
    Telegram user id), or nobody: the organisation as a whole."""

    owner_org: str
    what: str
    due_on: date
    beneficiary: str
    source: str = ""
    person: int | None = None


def parse_due(text: str, *, today: date) -> date:
    """A due date typed as YYYY-MM-DD, today or later."""
    try:
        due = date.fromisoformat(text.strip())
    except ValueError:
        raise CommitmentError("commitments.error.date", value=text.strip()) from None
    if due < today:
        raise CommitmentError("commitments.error.past", value=due.isoformat())
    return due


def checked(spec: CommitmentSpec, *, today: date) -> CommitmentSpec:
    """The spec with its parts trimmed; raises CommitmentError when one is missing or too long."""
    owner, what = spec.owner_org.strip(), " ".join(spec.what.split())
    beneficiary, source = spec.beneficiary.strip(), spec.source.strip()
    for value, limit in ((owner, MAX_PARTY), (what, MAX_WHAT), (beneficiary, MAX_PARTY)):
        if not value:
            raise CommitmentError("commitments.error.missing")
        if len(value) > limit:
            raise CommitmentError("commitments.error.long", limit=limit)
    if len(source) > MAX_SOURCE:
        raise CommitmentError("commitments.error.long", limit=MAX_SOURCE)
    if spec.due_on < today:
        raise CommitmentError("commitments.error.past", value=spec.due_on.isoformat())
    return CommitmentSpec(owner, what, spec.due_on, beneficiary, source, spec.person)


@dataclass(frozen=True)
class CsvProblem:
    """A CSV line that cannot be imported, and why (a message key with parameters)."""

    line: int
    key: str
    params: dict[str, object]


def parse_csv(text: str, *, today: date) -> tuple[list[CommitmentSpec], list[CsvProblem]]:
    """Commitments from CSV with a header `owner,what,due,for,source` (and optionally
    `person`, a Telegram user id); every line is checked, none is half-read."""
    reader = csv.DictReader(text.lstrip("\ufeff").splitlines())
    header = {(name or "").strip().casefold() for name in reader.fieldnames or ()}
    missing = [c for c in CSV_COLUMNS if c not in header and c != "source"]
    if missing:
        return [], [CsvProblem(1, "commitments.csv.header", {"columns": ", ".join(missing)})]
    specs, problems = [], []
    for number, raw in enumerate(reader, start=2):
        row = {(k or "").strip().casefold(): (v or "").strip() for k, v in raw.items()}
        try:
            person = row.get("person") or None
            if person is not None and not person.isdigit():
                raise CommitmentError("commitments.csv.person", value=person)
            spec = CommitmentSpec(
                owner_org=row.get("owner", ""),
                what=row.get("what", ""),
                due_on=parse_due(row.get("due", ""), today=today),
                beneficiary=row.get("for", ""),
                source=row.get("source", ""),
                person=int(person) if person else None,
            )
            specs.append(checked(spec, today=today))
        except CommitmentError as exc:
            problems.append(CsvProblem(number, exc.key, dict(exc.params)))
    return specs, problems


def checkin_moments(due_on: date, *, lead: timedelta, at: time, tz: tzinfo) -> dict[str, datetime]:
    """When the owner is asked: `lead` before the due date and on it, at `at` local time."""
    on_due = datetime.combine(due_on, at, tzinfo=tz)
    return {BEFORE: datetime.combine(due_on - lead, at, tzinfo=tz), DUE: on_due}


def stages_due(
    due_on: date, *, now: datetime, lead: timedelta, at: time, tz: tzinfo
) -> tuple[str, ...]:
    """The stages whose moment has come by `now`; only the latest counts (a commitment
    recorded two days before its due date is asked once, not twice)."""
    reached = [
        s for s, moment in checkin_moments(due_on, lead=lead, at=at, tz=tz).items() if moment <= now
    ]
    return tuple(reached[-1:])


def is_open(status: str) -> bool:
    """Whether a commitment is still to be delivered."""
    return status != "done"


def concerned(owner_org: str, beneficiary: str, organisation: str | None) -> bool:
    """Whether a member of `organisation` is a party to the commitment (the owner or whom it
    is for); names compare without case or surrounding spaces."""
    if not organisation:
        return False
    mine = organisation.strip().casefold()
    return mine in (owner_org.strip().casefold(), beneficiary.strip().casefold())


def mean(total: int, count: int) -> float:
    """A mean of `count` ratings summing to `total` (0 when none)."""
    return total / count if count else 0.0


VARIATION_PREFIX = "cv"


def variation_button(variation_id: int, choice: str) -> str:
    """A variation button's callback data (`bot.telegram.callbacks.VariationPress` unpacks it):
    a partner's response (agree, disagree) or a coordinator's outcome (accepted, rejected)."""
    return f"{VARIATION_PREFIX}:{variation_id}:{choice}"
