"""Caucus rounds: a stakeholder group identifies its issues and opportunities on its own, sees
them first, reacts, and only then briefs the committee or joint forum named at the start.

Pure rules: what a round's answers are (`Entry`), which of its figures and words may be shown
(`summarise`: counts and priority means through `bot.domain.anonymity.suppress`, quotes only
where consented and only when at least k people took part), and which step a round may take.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.domain.anonymity import ALL, Cell, suppress

FINISHER = "caucus"  # a flow's `finisher:` handing its answers to caucus rounds
ROUND = "caucus_round"  # the answer the round's invitation gives the flow (`given:`)
KIND, TEXT, PRIORITY, QUOTE = "kind", "text", "priority", "quote"
KINDS = ("issue", "opportunity")
AGREE, DISAGREE, ADD = "agree", "disagree", "add"
REACTIONS = (AGREE, DISAGREE)
OPEN, SHARED, CLOSED = "open", "shared", "closed"
TOPIC_LENGTH = 200
COUNT, MEAN = "count", "priority"
MAX_QUOTES = 12


class CaucusError(Exception):
    """A step the round cannot take; `code` is the last part of `caucus.error.<code>`."""

    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params = params


@dataclass(frozen=True)
class Entry:
    """One issue or opportunity: what, how pressing (1-5), whether it may be quoted, and an
    opaque key that is the same for every entry of one person in the round."""

    kind: str
    text: str
    priority: int
    quotable: bool
    respondent: str
    added: bool = False


@dataclass(frozen=True)
class KindFigures:
    """What may be shown of one kind: the count and mean priority (None: hidden)."""

    kind: str
    count: int | None
    priority: float | None


@dataclass(frozen=True)
class Summary:
    """A round's results as they may be shown: `withheld` when fewer than k took part (then
    no figure and no quote at all)."""

    respondents: int
    k: int
    kinds: tuple[KindFigures, ...]
    total: KindFigures  # every point brought, whatever its kind
    quotes: tuple[Entry, ...]
    reactions: Mapping[str, int | None]

    @property
    def withheld(self) -> bool:
        return self.respondents < self.k


def entry_from_answers(answers: Mapping[str, object], *, respondent: str, added: bool) -> Entry:
    """The entry a finished caucus flow brings (its answers as the engine keeps them)."""
    kind = str(answers.get(KIND) or "")
    if kind not in KINDS:
        raise CaucusError("answers")
    text = str(answers.get(TEXT) or "").strip()
    priority = answers.get(PRIORITY)
    if not text or not isinstance(priority, int | float):
        raise CaucusError("answers")
    quote = answers.get(QUOTE)
    return Entry(kind, text, int(priority), quote in (True, "yes"), respondent, added)


def summarise(
    entries: Iterable[Entry], *, k: int, reactions: Mapping[str, int] | None = None
) -> Summary:
    """What may be shown of a round: nothing below k people; else each kind's count and mean
    priority where suppression leaves them visible, consented words (most pressing first) and
    the reactions' counts, each over at least k."""
    entries = list(entries)
    respondents = len({e.respondent for e in entries})
    if respondents < k:
        empty = {r: None for r in REACTIONS}
        hidden = tuple(KindFigures(c, None, None) for c in KINDS)
        return Summary(respondents, k, hidden, KindFigures(ALL, None, None), (), empty)
    people: dict[str, set[str]] = defaultdict(set)
    ratings: dict[str, list[int]] = defaultdict(list)
    for entry in entries:
        people[entry.kind].add(entry.respondent)
        ratings[entry.kind].append(entry.priority)
    present = [kind for kind in KINDS if ratings[kind]]
    # A person may bring points of both kinds: the totals are over distinct people.
    everyone = {(ALL, ALL): respondents}
    counts = suppress(
        {(kind, COUNT): Cell(len(people[kind]), len(ratings[kind])) for kind in present},
        k=k,
        order=(KINDS, ()),
        margin_respondents=everyone,
    )
    means = suppress(
        {
            (kind, MEAN): Cell(
                len(people[kind]), sum(ratings[kind]) / len(ratings[kind]), len(ratings[kind])
            )
            for kind in present
        },
        k=k,
        kind="mean",
        order=(KINDS, ()),
        margin_respondents=everyone,
    )
    kinds = []
    for kind in KINDS:
        count = counts.visible(kind, COUNT) if kind in present else Cell(0, 0)
        mean = means.visible(kind, MEAN) if kind in present else None
        kinds.append(
            KindFigures(
                kind,
                None if count is None else int(count.value),
                None if mean is None else round(mean.value, 1),
            )
        )
    quotes = sorted((e for e in entries if e.quotable), key=lambda e: (-e.priority, e.text))
    count, mean = counts.total(), means.total()
    total = KindFigures(
        ALL,
        None if count is None else int(count.value),
        None if mean is None else round(mean.value, 1),
    )
    return Summary(
        respondents,
        k,
        tuple(kinds),
        total,
        tuple(quotes[:MAX_QUOTES]),
        react_counts(reactions or {}, k=k),
    )


def react_counts(reactions: Mapping[str, int], *, k: int) -> dict[str, int | None]:
    """Agree and disagree counts, each hidden below k (and whatever would give it away)."""
    given = {r: n for r in REACTIONS if (n := reactions.get(r, 0)) > 0}
    # Nobody behind a zero: it is shown as it is, and left out of the table.
    shown: dict[str, int | None] = {r: 0 for r in REACTIONS}
    if given:
        table = suppress({(r, COUNT): Cell(n, n) for r, n in given.items()}, k=k)
        for reaction in given:
            cell = table.visible(reaction, COUNT)
            shown[reaction] = None if cell is None else int(cell.value)
    return shown


def may_share(status: str) -> None:
    """Results go to the group once, while the round is open."""
    if status != OPEN:
        raise CaucusError("not_open")


def may_close(status: str) -> None:
    """The brief goes to the committee only after the group has seen its own results."""
    if status == OPEN:
        raise CaucusError("share_first")
    if status == CLOSED:
        raise CaucusError("closed")


def clean_topic(topic: str) -> str:
    """The round's topic on one line, or CaucusError when blank or too long."""
    topic = " ".join(topic.split())
    if not topic or len(topic) > TOPIC_LENGTH:
        raise CaucusError("topic", max=TOPIC_LENGTH)
    return topic
