"""What digests say, from plain rows: pulse results, the voice digest, "you said, we did".

Pure: rows in, figures out. Means go through the same pipeline as the reports'
(`bot.domain.figures.mean_table`), counts through k-anonymity (`bot.domain.anonymity`): a
group over fewer than k people is hidden, and so is whatever would let it be worked out.
Nothing here needs an identity: answers are read without their respondent (each rating counts
as one), concerns as (category, about, outcome), comments as bare text their authors allowed us
to quote.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.domain.anonymity import SuppressedCounts, suppress_groups
from bot.domain.figures import AnswerRow, count_answers, mean_table
from bot.domain.releases import releasable

# Answers without a stakeholder group (a profile never finished) count under this one.
NO_GROUP = "other"
MAX_QUOTES = 3
QUOTE_LENGTH = 300
REPORTED = ("agreed", "done", "declined")
_MEAN_COLUMN = "mean"


@dataclass(frozen=True)
class Figure:
    """One question's mean overall and by group; None stands for a hidden figure."""

    question_key: str
    overall: float | None
    by_group: Mapping[str, float | None]

    @property
    def shown(self) -> bool:
        return self.overall is not None or any(v is not None for v in self.by_group.values())


@dataclass(frozen=True)
class PulseResults:
    """Respondents by group and each question's figures, suppressed."""

    respondents: SuppressedCounts
    figures: tuple[Figure, ...]

    @property
    def empty(self) -> bool:
        """Nothing may be shown (no answers, or too few)."""
        return not self.respondents.total and not any(f.shown for f in self.figures)

    @property
    def suppressed(self) -> bool:
        """Some figure was hidden, so the reader is told why."""
        counts = self.respondents
        hidden = bool(counts.hidden) or (counts.total is None and bool(counts.counts))
        return hidden or any(f.overall is None or None in f.by_group.values() for f in self.figures)


@dataclass(frozen=True)
class VoiceDigest:
    """What members said since the committee's last digest."""

    responses: SuppressedCounts
    concerns: SuppressedCounts
    pulse: PulseResults
    quotes: tuple[str, ...]

    @property
    def suppressed(self) -> bool:
        return (
            bool(self.responses.hidden)
            or bool(self.concerns.hidden)
            or (self.responses.total is None and bool(self.responses.counts))
            or (self.concerns.total is None and bool(self.concerns.counts))
            or self.pulse.suppressed
        )


@dataclass(frozen=True)
class TicketRow:
    """A ticket as the digest may see it: never its raiser, never its text."""

    ticket_id: int
    category: str
    about: str
    status: str
    reason: str | None


@dataclass(frozen=True)
class ActedOn:
    """One line of "you said, we did"."""

    category: str
    about: str
    status: str
    reason: str | None
    summary: str | None


def _group(raw: str | None) -> str:
    return raw or NO_GROUP


def _ordered(found: Iterable[str], order: Sequence[str]) -> list[str]:
    seen = set(found)
    return [g for g in order if g in seen] + sorted(seen - set(order))


def suppress_counts(
    counts: Mapping[str, int], *, k: int, withheld: Sequence[str] = ()
) -> SuppressedCounts:
    """Counts by key with their total, k-anonymous (an empty mapping stays empty); `withheld`
    keys show hidden and add nothing to the total."""
    present = {key: n for key, n in counts.items() if n > 0}
    if not present and not withheld:
        return SuppressedCounts(counts={}, total=0, hidden=frozenset())
    return suppress_groups(present, k=k, withheld=withheld)


def suppress_means(
    rows: Sequence[AnswerRow], *, k: int
) -> tuple[float | None, dict[str, float | None]]:
    """One question's overall mean and each group's, k-anonymous: a group's mean is a sum in
    disguise. A group's period with fewer than k ratings shows hidden, in no overall mean."""
    table = mean_table(
        rows,
        row_of=lambda row: _group(row.group),
        column_of=lambda _: _MEAN_COLUMN,
        k=k,
        respondents=count_answers,
    )
    by_group: dict[str, float | None] = {}
    for group in table.rows:
        cell = table.visible(group, _MEAN_COLUMN)
        by_group[group] = None if cell is None else cell.value
    total = table.total()
    return (None if total is None else total.value), by_group


def pulse_results(
    rows: Iterable[AnswerRow],
    *,
    questions: Sequence[str],
    groups: Sequence[str] = (),
    k: int,
) -> PulseResults:
    """Respondents by group and the mean of each question (in `questions` order), suppressed.

    Every respondent leaves one row per question reached (skipped ones included), so a group's
    respondents are its most-answered question's rows. A group's period with fewer than k
    respondents (for a mean: k ratings) is withheld: shown hidden, in no total.
    """
    asked = [row for row in rows if row.question_key in questions]
    kept = releasable(
        asked,
        figure_of=lambda row: _group(row.group),
        period_of=lambda row: row.period,
        respondents=_most_reached,
        k=k,
    )
    reached: dict[str, dict[str, int]] = {}
    for row in kept:
        per_question = reached.setdefault(row.question_key, {})
        per_question[_group(row.group)] = per_question.get(_group(row.group), 0) + row.count
    respondents: dict[str, int] = {}
    for per_question in reached.values():
        for group, n in per_question.items():
            respondents[group] = max(respondents.get(group, 0), n)
    withheld = sorted({_group(row.group) for row in asked} - set(respondents))
    order = _ordered([*respondents, *withheld], groups)
    figures = []
    for question in questions:
        overall, by_group = suppress_means(
            [row for row in asked if row.question_key == question], k=k
        )
        if by_group:
            ordered = {g: by_group[g] for g in _ordered(by_group, order)}
            figures.append(Figure(question, overall, ordered))
    present = {g: respondents[g] for g in order if g in respondents}
    counts = suppress_counts(present, k=k, withheld=withheld)
    ordered_counts = {g: counts.counts[g] for g in order if g in counts.counts}
    return PulseResults(
        respondents=SuppressedCounts(ordered_counts, counts.total, counts.hidden),
        figures=tuple(figures),
    )


def _most_reached(rows: Sequence[AnswerRow]) -> int:
    """A block's respondents: the rows of its most-answered question."""
    per_question: dict[str, int] = {}
    for row in rows:
        per_question[row.question_key] = per_question.get(row.question_key, 0) + row.count
    return max(per_question.values(), default=0)


def pick_quotes(texts: Iterable[str], *, limit: int = MAX_QUOTES) -> tuple[str, ...]:
    """A few comments, newest first as given, once each, cut to a readable length."""
    picked: list[str] = []
    for raw in texts:
        text = " ".join(raw.split())
        if not text:
            continue
        if len(text) > QUOTE_LENGTH:
            text = text[: QUOTE_LENGTH - 1].rstrip() + "…"
        if text not in picked:
            picked.append(text)
        if len(picked) >= limit:
            break
    return tuple(picked)


def voice_digest(
    *,
    responses: Mapping[str, int],
    open_concerns: Mapping[str, int],
    pulse_rows: Iterable[AnswerRow],
    pulse_questions: Sequence[str],
    quotes: Iterable[str],
    groups: Sequence[str] = (),
    categories: Sequence[str] = (),
    k: int,
) -> VoiceDigest:
    """The committee's digest: conversations finished by group, open concerns by category,
    the pulse by group, and a few comments their authors allowed us to quote."""
    by_group = {g: responses[g] for g in _ordered(responses, groups)}
    by_category = {c: open_concerns[c] for c in _ordered(open_concerns, categories)}
    return VoiceDigest(
        responses=suppress_counts(by_group, k=k),
        concerns=suppress_counts(by_category, k=k),
        pulse=pulse_results(pulse_rows, questions=pulse_questions, groups=groups, k=k),
        quotes=pick_quotes(quotes),
    )


def acted_on(tickets: Iterable[TicketRow], summaries: Mapping[int, str]) -> tuple[ActedOn, ...]:
    """The lines of "you said, we did": done first, then agreed, then declined (with reasons)."""
    rank = {"done": 0, "agreed": 1, "declined": 2}
    lines = [
        ActedOn(
            category=t.category,
            about=t.about,
            status=t.status,
            reason=(t.reason or None) if t.status == "declined" else None,
            summary=(summaries.get(t.ticket_id) or "").strip() or None,
        )
        for t in tickets
        if t.status in rank
    ]
    return tuple(sorted(lines, key=lambda line: (rank[line.status], line.category, line.about)))
