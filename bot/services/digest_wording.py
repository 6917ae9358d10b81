"""The digests' wording: pulse results, the voice digest and "you said, we did" in one
reader's language, from figures already k-anonymous (`bot.domain.digests`)."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, tzinfo

from babel.numbers import format_decimal

from bot.domain.anonymity import SuppressedCounts
from bot.domain.concerns import ABOUT, CATEGORIES
from bot.domain.digests import ActedOn, PulseResults, VoiceDigest
from bot.domain.flows import AskNode, FlowRegistry
from bot.i18n import Translator
from bot.storage.models import Committee

SEPARATOR = " · "


class DigestWording:
    """Words digests for one set of flows; `k` is named where figures are hidden."""

    def __init__(self, flows: FlowRegistry, *, k: int, tz: tzinfo) -> None:
        self.flows = flows
        self.k = k
        self.tz = tz

    def _number(self, value: float, t: Translator) -> str:
        return format_decimal(value, format="0.0", locale=t.locale)

    def _group(self, group: str, t: Translator) -> str:
        key = f"group.{group}"
        return t(key) if t.has(key) else group

    def _counts(self, counts: SuppressedCounts, label: Callable[[str], str], t: Translator) -> str:
        parts = [
            f"{html.escape(label(key))} {t('results.hidden') if n is None else n}"
            for key, n in counts.counts.items()
        ]
        return SEPARATOR.join(parts)

    def _tally(
        self,
        counts: SuppressedCounts,
        label: Callable[[str, Translator], str],
        t: Translator,
        *,
        key: str,
        none: str,
        named: str,
    ) -> str:
        """A total and its parts (`key`, the parts as `named`), or `none` when nothing counted."""
        if not counts.counts:
            return t(none)
        total = t("results.hidden") if counts.total is None else counts.total
        parts = self._counts(counts, lambda part: label(part, t), t)
        return t(key, n=total, **{named: parts})

    def _figures(self, results: PulseResults, flow_id: str, t: Translator) -> list[str]:
        lines = []
        for figure in results.figures:
            if not figure.shown:
                continue
            label = self.question_label(flow_id, figure.question_key, t)
            overall = (
                t("results.hidden") if figure.overall is None else self._number(figure.overall, t)
            )
            groups = [
                f"{html.escape(self._group(g, t))} "
                f"{t('results.hidden') if v is None else self._number(v, t)}"
                for g, v in figure.by_group.items()
            ]
            lines.append(
                t("results.figure", question=label, overall=overall, groups=SEPARATOR.join(groups))
            )
        return lines

    def question_label(self, flow_id: str, question_key: str, t: Translator) -> str:
        """A short name for a question: `results.<flow>.<key>`, else the question itself."""
        short = f"results.{flow_id}.{question_key}"
        if t.has(short):
            return t(short)
        flow = self.flows.get(flow_id)
        node = None if flow is None else flow.nodes.get(question_key)
        if isinstance(node, AskNode):
            return t(node.text)
        return html.escape(question_key)

    def _respondents(self, results: PulseResults, t: Translator) -> str:
        counts = results.respondents
        if counts.total is None:
            return t("results.respondents_few", k=self.k)
        by_group = self._counts(counts, lambda g: self._group(g, t), t)
        return t("results.respondents", n=counts.total, groups=by_group)

    def render_results(self, results: PulseResults, flow_id: str, day: date, t: Translator) -> str:
        """A pulse's results for its participants."""
        flow = self.flows.get(flow_id)
        title = t(flow.title) if flow else flow_id
        parts = [t("results.title", flow=html.escape(title), date=day.isoformat())]
        if results.empty:
            parts.append(t("results.too_few", k=self.k))
            return "\n\n".join(parts)
        parts.append(self._respondents(results, t))
        figures = self._figures(results, flow_id, t)
        if figures:
            parts.append(t("results.scale") + "\n" + "\n".join(figures))
        if results.suppressed:
            parts.append(t("results.note", k=self.k))
        return "\n\n".join(parts)

    def render_voice_digest(
        self,
        digest: VoiceDigest,
        committee: Committee,
        pulse_flow: str,
        since: datetime,
        t: Translator,
    ) -> str:
        """The committee's digest, in one reader's language."""
        local = since.astimezone(self.tz)
        parts = [
            t(
                "digest.voice.title",
                committee=html.escape(committee.name),
                since=f"{local:%Y-%m-%d}",
            )
        ]
        # Conversations finished by group, then open concerns by category.
        tallies = (
            (digest.responses, self._group, "groups", "digest.voice.responses"),
            (digest.concerns, self._category, "categories", "digest.voice.concerns"),
        )
        empty = {"groups": "digest.voice.no_responses", "categories": "digest.voice.no_concerns"}
        for counts, label, named, key in tallies:
            parts.append(self._tally(counts, label, t, key=key, none=empty[named], named=named))
        flow = self.flows.get(pulse_flow)
        title = html.escape(t(flow.title) if flow else pulse_flow)
        if digest.pulse.empty:
            parts.append(t("digest.voice.pulse_few", flow=title, k=self.k))
        else:
            lines = [
                self._respondents(digest.pulse, t),
                *self._figures(digest.pulse, pulse_flow, t),
            ]
            parts.append(t("digest.voice.pulse", flow=title) + "\n" + "\n".join(lines))
        if digest.quotes:
            quoted = "\n".join(t("digest.voice.quote", text=html.escape(q)) for q in digest.quotes)
            parts.append(t("digest.voice.quotes") + "\n" + quoted)
        if digest.suppressed:
            parts.append(t("results.note", k=self.k))
        return "\n\n".join(parts)

    def _category(self, category: str, t: Translator) -> str:
        key = f"digest.category.{category}"
        return t(key) if category in CATEGORIES else category

    def _about(self, about: str, t: Translator) -> str:
        key = f"digest.about.{about}"
        return t(key) if about in ABOUT else about

    def render_you_said_we_did(self, lines: Sequence[ActedOn], t: Translator) -> str:
        """What became of the concerns acted on, without anyone's name or words."""
        parts = [t("digest.yswd.title")]
        for line in lines:
            text = t(
                "digest.yswd.line",
                category=html.escape(self._category(line.category, t)),
                about=html.escape(self._about(line.about, t)),
                outcome=t(f"digest.yswd.status.{line.status}"),
            )
            if line.summary:
                text += "\n" + t("digest.yswd.summary", text=html.escape(line.summary))
            if line.reason:
                text += "\n" + t("digest.yswd.reason", reason=html.escape(line.reason))
            parts.append(text)
        parts.append(t("digest.yswd.outro"))
        return "\n\n".join(parts)


def digest_labels() -> Mapping[str, tuple[str, ...]]:
    """The locale keys built from parts here, for the wording checks."""
    return {
        "digest.category": CATEGORIES,
        "digest.about": ABOUT,
        "digest.yswd.status": ("agreed", "done", "declined"),
    }
