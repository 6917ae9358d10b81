"""Wording: gettext catalogs in `locales/<lang>/LC_MESSAGES/partnerbot.po`, keyed by message ids.

Catalogs are compiled to `.mo` by `make catalogs` (Babel); when a compiled file is missing or
older than its source, the `.po` is read directly so a fresh checkout still speaks.
"""

from __future__ import annotations

import gettext
import io
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from babel.core import UnknownLocaleError
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.numbers import get_decimal_symbol

DOMAIN = "partnerbot"
# `<key>.also`: other words members may type for a key's wording, separated by "|".
ALSO = ".also"
PLACEHOLDER_NOTE = "added by `partnerbot flows keys`: write the wording, then drop `fuzzy`"
log = logging.getLogger(__name__)


class _Missing(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class Translator:
    """Wording for one locale, falling back to the default locale, then to the key."""

    locale: str
    _catalog: gettext.GNUTranslations
    _fallback: gettext.GNUTranslations | None

    def has(self, key: str) -> bool:
        return key in self._catalog._catalog  # type: ignore[attr-defined]

    def __call__(self, key: str, /, **params: object) -> str:
        text = self._lookup(key)
        return text.format_map(_Missing(params)) if params else text

    def _lookup(self, key: str) -> str:
        found = self._catalog._catalog.get(key)  # type: ignore[attr-defined]
        if found:
            return str(found)
        if self._fallback is not None:
            found = self._fallback._catalog.get(key)  # type: ignore[attr-defined]
            if found:
                return str(found)
        log.warning("no wording for key %r in locale %r", key, self.locale)
        return key


class Catalogs:
    """Every shipped locale's catalog."""

    def __init__(self, catalogs: Mapping[str, gettext.GNUTranslations], default: str) -> None:
        if default not in catalogs:
            raise ValueError(f"default locale '{default}' has no catalog")
        self._catalogs = dict(catalogs)
        self.default = default

    @classmethod
    def load(cls, directory: Path, *, default: str) -> Catalogs:
        """Load every `<lang>/LC_MESSAGES/partnerbot.(mo|po)` under `directory`."""
        catalogs = {locale: _read_catalog(po) for locale, po in catalog_files(directory).items()}
        if not catalogs:
            raise FileNotFoundError(f"no catalogs found under {directory}")
        return cls(catalogs, default)

    def replace_with(self, other: Catalogs) -> None:
        """Take another load's wording, so every holder of this object sees the new one."""
        self._catalogs = dict(other._catalogs)
        self.default = other.default

    @property
    def locales(self) -> tuple[str, ...]:
        return tuple(sorted(self._catalogs))

    def resolve(self, *candidates: str | None) -> str:
        """The first candidate locale we ship (`fr-CA` counts as `fr`), else the default."""
        for candidate in candidates:
            if not candidate:
                continue
            base = candidate.replace("_", "-").split("-")[0].lower()
            if base in self._catalogs:
                return base
        return self.default

    def translator(self, locale: str | None) -> Translator:
        code = self.resolve(locale)
        fallback = None if code == self.default else self._catalogs[self.default]
        return Translator(code, self._catalogs[code], fallback)

    def words(self, key: str) -> tuple[str, ...]:
        """Every wording members may type for `key`: each locale's, and its `.also` words."""
        found: list[str] = []
        for catalog in self._catalogs.values():
            for wording in (catalog.gettext(key), *catalog.gettext(key + ALSO).split("|")):
                if wording and wording not in (key, key + ALSO) and wording not in found:
                    found.append(wording)
        return tuple(found)

    def decimal_mark(self, locale: str | None) -> str:
        """The mark the locale writes decimals with (`.` in English, `,` in French)."""
        try:
            return str(get_decimal_symbol(self.resolve(locale)))
        except UnknownLocaleError:
            return "."

    def keys(self) -> dict[str, set[str]]:
        """The keys each locale translates (an empty translation does not count)."""
        return {
            locale: {k for k, v in cat._catalog.items() if k and v}  # type: ignore[attr-defined]
            for locale, cat in self._catalogs.items()
        }


def catalog_files(directory: Path) -> dict[str, Path]:
    """Each locale's `<lang>/LC_MESSAGES/partnerbot.po` under `directory`."""
    found = sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return {po.parent.parent.name: po for po in found}


def _read_catalog(po: Path) -> gettext.GNUTranslations:
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as fh:
            return gettext.GNUTranslations(fh)
    log.info("compiling %s in memory (run `make catalogs` to compile it once)", po)
    buffer = io.BytesIO()
    with po.open("rb") as fh:
        write_mo(buffer, read_po(fh, locale=po.parent.parent.name))
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def add_missing_keys(directory: Path, keys: Iterable[str], *, default: str) -> dict[str, list[str]]:
    """Append each key a `<lang>/LC_MESSAGES/partnerbot.po` under `directory` lacks, marked
    fuzzy (so it counts as untranslated), worded as the default locale words it, else as the
    key; the keys added, by locale. The rest of each file is left byte for byte."""
    files = catalog_files(directory)
    if default not in files:
        raise ValueError(f"default locale '{default}' has no catalog under {directory}")
    catalogs = {}
    for locale, po in files.items():
        with po.open("rb") as fh:
            catalogs[locale] = read_po(fh, locale=locale)
    source = catalogs[default]
    added: dict[str, list[str]] = {}
    for locale, po in files.items():
        missing = sorted(k for k in set(keys) if k not in catalogs[locale])
        if not missing:
            continue
        extra = Catalog(locale=locale)
        for key in missing:
            known = source.get(key)
            worded = known is not None and known.string and not known.fuzzy
            text = str(known.string) if worded and known is not None else key
            extra.add(key, text, flags=("fuzzy",), auto_comments=(PLACEHOLDER_NOTE,))
        buffer = io.BytesIO()
        write_po(buffer, extra, omit_header=True, width=100)
        with po.open("ab") as fh:
            fh.write(b"\n" + buffer.getvalue())
        added[locale] = missing
    return added
