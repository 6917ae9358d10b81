"""Media a member sends to an `ask: media` question: voice notes, photos, documents, places.

Media are kept as Telegram's file ids (and a place as its coordinates), never downloaded. An
item travels through the engine and the run's memory as one string, `kind:file_id:unique_id`
or `location:latitude,longitude` (file ids are URL-safe base64: no colons).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

MediaKind = Literal["voice", "photo", "document", "location"]
MEDIA_KINDS: tuple[MediaKind, ...] = ("voice", "photo", "document", "location")
LOCATION = "location"
# How many items a media question takes when its flow does not say (`max_items`).
DEFAULT_MAX_ITEMS = 5
KIND_KEY = "media.kind.{kind}"
RECEIVED_KEY = "media.received"  # an item taken, the question still open (with Done)


@dataclass(frozen=True)
class MediaItem:
    """One thing a member sent: its kind (any content type, e.g. "sticker", for refusals),
    Telegram's file ids, or a place's coordinates."""

    kind: str
    file_id: str = ""
    file_unique_id: str = ""
    latitude: float | None = None
    longitude: float | None = None

    def encode(self) -> str:
        """The item as stored in a run's answers and in answer exports."""
        if self.kind == LOCATION:
            return f"{LOCATION}:{place_text(self.latitude, self.longitude)}"
        return f"{self.kind}:{self.file_id}:{self.file_unique_id}"

    @classmethod
    def decode(cls, text: str) -> MediaItem:
        """An item made by `encode`; raises ValueError for anything else."""
        kind, _, rest = text.partition(":")
        if kind == LOCATION:
            latitude, longitude = place_of(rest)
            return cls(kind, latitude=latitude, longitude=longitude)
        file_id, _, unique = rest.partition(":")
        if kind not in MEDIA_KINDS or not file_id:
            raise ValueError(f"not a media item: {text!r}")
        return cls(kind, file_id=file_id, file_unique_id=unique)


def most(max_items: int | None) -> int:
    """How many items a media question takes at most."""
    return max_items or DEFAULT_MAX_ITEMS


def media_problem(
    ask: str, accepts: tuple[str, ...], max_items: int | None, skippable: bool
) -> str | None:
    """What is wrong with a question's media fields, if anything (`flows check`)."""
    if ask != "media":
        if accepts or max_items is not None:
            return "`accepts` and `max_items` belong on a media question"
        return None
    if not accepts or len(set(accepts)) != len(accepts):
        return "a media question needs `accepts`: voice, photo, document, location"
    if not skippable:
        return "a media question must be skippable: Skip is always offered"
    return None


def place_text(latitude: float | None, longitude: float | None) -> str:
    """A place as the outbox keeps it where a file id would be."""
    return f"{latitude},{longitude}"


def place_of(text: str) -> tuple[float, float]:
    """The coordinates `place_text` wrote."""
    latitude, _, longitude = text.partition(",")
    return float(latitude), float(longitude)


def sent(text: str) -> MediaItem:
    """An item as a transcript writes it: encoded (`MediaItem.encode`), or a kind alone."""
    kind = text.partition(":")[0]
    return MediaItem.decode(text) if kind in MEDIA_KINDS else MediaItem(kind)


def items_of(value: object) -> tuple[MediaItem, ...]:
    """The media items of a media answer (None when skipped)."""
    if not isinstance(value, list):
        return ()
    return tuple(MediaItem.decode(str(v)) for v in value)


def accepted_wording(accepts: tuple[str, ...], label: Callable[[str], str]) -> str:
    """The kinds a question takes, worded (`label`: a key's wording in the member's language)."""
    return ", ".join(label(KIND_KEY.format(kind=kind)) for kind in accepts)
