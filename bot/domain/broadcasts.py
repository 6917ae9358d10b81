"""Coordinator broadcasts: who receives one, and the guided draft a coordinator fills in.

The draft is a small state machine over plain values; the host stores it as JSON between a
coordinator's messages and renders each step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from bot.domain.audiences import Audience
from bot.domain.text import message_parts

DEFAULT = ""  # the texts key of the text that goes to every language without its own

Step = Literal[
    "text", "audience", "variants", "variant_text", "urgent", "when", "when_at", "preview"
]


@dataclass(frozen=True)
class Draft:
    """A broadcast being written: each step fills one part."""

    step: Step = "text"
    texts: Mapping[str, str] = field(default_factory=dict)
    media_kind: str | None = None
    media_file_id: str | None = None
    audience: Audience = Audience()
    pending: tuple[str, ...] = ()
    urgent: bool = False
    send_at: datetime | None = None

    def with_text(self, text: str, *, media_kind: str | None, media_file_id: str | None) -> Draft:
        """The update's text (and optional photo or document)."""
        return replace(
            self,
            step="audience",
            texts={DEFAULT: text},
            media_kind=media_kind,
            media_file_id=media_file_id,
        )

    def with_audience(self, audience: Audience) -> Draft:
        return replace(self, audience=audience)

    def audience_chosen(self, *, locales: tuple[str, ...]) -> Draft:
        """Go on: offer a text per language when the audience may read several."""
        readers = self.audience.languages or locales
        return replace(self, step="variants" if len(readers) > 1 else "urgent")

    def one_text_for_all(self) -> Draft:
        return replace(self, step="urgent", texts={DEFAULT: self.texts[DEFAULT]})

    def text_per_language(self, *, locales: tuple[str, ...], own: str) -> Draft:
        """Ask a text for each language the audience reads, other than the coordinator's own."""
        readers = self.audience.languages or locales
        pending = tuple(code for code in readers if code != own)
        texts = {DEFAULT: self.texts[DEFAULT], own: self.texts[DEFAULT]}
        if not pending:
            return replace(self, step="urgent", texts=texts)
        return replace(self, step="variant_text", texts=texts, pending=pending)

    def with_variant(self, text: str) -> Draft:
        """The text for the first pending language."""
        language, rest = self.pending[0], self.pending[1:]
        texts = {**self.texts, language: text}
        return replace(self, texts=texts, pending=rest, step="variant_text" if rest else "urgent")

    def with_urgency(self, urgent: bool) -> Draft:
        return replace(self, urgent=urgent, step="when")

    def now(self) -> Draft:
        return replace(self, send_at=None, step="preview")

    def later(self) -> Draft:
        return replace(self, step="when_at")

    def at(self, moment: datetime) -> Draft:
        return replace(self, send_at=moment, step="preview")

    def text_for(self, language: str) -> str:
        """What a member reading `language` receives."""
        return self.texts.get(language) or self.texts[DEFAULT]

    def parts(self, text: str) -> list[tuple[str, str]]:
        """(kind, text) of each message `text` goes out as, split as the outbox will split it."""
        return message_parts(self.media_kind or "text", text)

    def variants(self) -> dict[str, str]:
        """Language -> text, `""` for everyone else."""
        return dict(self.texts)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "texts": dict(self.texts),
            "media_kind": self.media_kind,
            "media_file_id": self.media_file_id,
            "audience": self.audience.to_json(),
            "pending": list(self.pending),
            "urgent": self.urgent,
            "send_at": self.send_at.isoformat() if self.send_at else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Draft:
        send_at = data.get("send_at")
        return cls(
            step=data.get("step", "text"),
            texts=dict(data.get("texts") or {}),
            media_kind=data.get("media_kind"),
            media_file_id=data.get("media_file_id"),
            audience=Audience.from_json(data.get("audience") or {}),
            pending=tuple(data.get("pending") or ()),
            urgent=bool(data.get("urgent")),
            send_at=datetime.fromisoformat(send_at) if send_at else None,
        )
