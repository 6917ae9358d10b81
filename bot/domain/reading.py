"""Reading what members type, the way people really type it (pure, no I/O).

Text is cleaned of characters that only hide or reorder it, folded so case, accents and
spacing do not matter, matched against the options a question offers (in every shipped
language, forgiving one typo when that is unambiguous) and read as a number the way the
member's language writes numbers.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Embeddings, overrides and isolates: they reorder the text around them (a name that reads
# backwards, a file name that hides its extension), so nothing we store or show keeps them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and symbols that show as nothing: Hangul fillers, the blank Braille pattern.
_BLANK_LOOKING = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f")
_BUTTON_MARKS = "☐☑✔✓✅▫▪• "
_NUMBERED = re.compile(r"^(\d{1,6})\s*(?:[.):-]\s*(.*))?$", re.DOTALL)
_FOLDS = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "`": "'", "œ": "oe", "æ": "ae"})
TYPO_MIN_LENGTH = 4
MAX_DIGITS = 15


def clean(text: str) -> str:
    """Text fit to store and show: no bidirectional controls, no control characters but line
    breaks and tabs (NUL above all, which PostgreSQL refuses), no surrounding blanks."""
    kept = (
        c
        for c in text
        if c not in BIDI_CONTROLS and (c in "\n\t" or unicodedata.category(c) != "Cc")
    )
    return "".join(kept).strip()


def _invisible(char: str) -> bool:
    if char.isspace() or char in _BLANK_LOOKING or "\ufe00" <= char <= "\ufe0f":
        return True
    return unicodedata.category(char) in ("Cc", "Cf", "Zs", "Zl", "Zp")


def is_blank(text: str) -> bool:
    """Whether `text` shows nothing: only spaces, zero-width, format or control characters."""
    return all(_invisible(c) for c in text)


def normalise(text: str) -> str:
    """Fold case and spacing so typed answers match labels the way people type them."""
    return " ".join(text.casefold().split()).strip(" .!?;:")


def fold(text: str) -> str:
    """`normalise`, and also without accents, invisible characters or typographic quotes."""
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_FOLDS))
    kept = "".join(
        " " if c.isspace() else c
        for c in decomposed
        if c.isspace() or not (unicodedata.combining(c) or _invisible(c))
    )
    return normalise(kept)


def strip_button_marks(text: str) -> str:
    """Typed text without a leading check box or bullet, as copied from a button."""
    return text.lstrip(_BUTTON_MARKS)


@dataclass(frozen=True)
class Choice:
    """One option as a member may type it: its wording in their language, in any shipped
    language (and the other words a catalog accepts for it)."""

    value: str
    own: tuple[str, ...]
    other: tuple[str, ...] = ()


@dataclass(frozen=True)
class Matched:
    """An option understood from typed text; `exact` when it was typed as shown."""

    value: str
    exact: bool


def match_choice(text: str, choices: Sequence[Choice]) -> Matched | None:
    """The option `text` names: by number, by wording or as shown on its button (`1. English`,
    `☐ 2. Funding`), then ignoring accents, in any shipped language, and last with one typo.
    None when nothing or more than one option fits."""
    typed = strip_button_marks(text.strip())
    numbered = _NUMBERED.match(normalise(typed))
    if numbered is not None:
        index, rest = int(numbered.group(1)), numbered.group(2)
        chosen = choices[index - 1] if 1 <= index <= len(choices) else None
        if not rest:
            return None if chosen is None else Matched(chosen.value, exact=True)
        # `1. English`: the words after the number must name the same option (a label may
        # also begin with a number: `1-5 people`).
        by_words = match_words(rest, choices)
        if chosen is not None and by_words is not None and by_words.value == chosen.value:
            return by_words
    return match_words(typed, choices)


def match_words(typed: str, choices: Sequence[Choice]) -> Matched | None:
    """The option `typed` names by its wording (see `match_choice`), numbers aside."""
    said, folded = normalise(typed), fold(typed)
    if not folded:
        return None
    tiers: list[tuple[bool, Iterable[tuple[str, bool]]]] = [
        (True, ((c.value, said in {normalise(w) for w in c.own}) for c in choices)),
        (False, ((c.value, folded in {fold(w) for w in c.own}) for c in choices)),
        (False, ((c.value, folded in {fold(w) for w in _every(c)}) for c in choices)),
        (False, ((c.value, _near(folded, _every(c))) for c in choices)),
    ]
    for exact, tests in tiers:
        found = {value for value, fits in tests if fits}
        if len(found) == 1:
            return Matched(found.pop(), exact=exact)
        if found:
            return None  # ambiguous: two options fit as well
    return None


def _every(choice: Choice) -> tuple[str, ...]:
    return (*choice.own, *choice.other, choice.value.replace("_", " "))


def _near(folded: str, words: Iterable[str]) -> bool:
    if len(folded) < TYPO_MIN_LENGTH:
        return False
    return any(len(w) >= TYPO_MIN_LENGTH and one_edit_apart(folded, w) for w in map(fold, words))


def one_edit_apart(a: str, b: str) -> bool:
    """Whether `a` and `b` differ by at most one letter added, dropped, changed or swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    start = 0
    while start < min(len(a), len(b)) and a[start] == b[start]:
        start += 1
    if len(a) == len(b):
        rest_a, rest_b = a[start + 1 :], b[start + 1 :]
        swapped = (
            a[start : start + 2] == b[start : start + 2][::-1] and a[start + 2 :] == b[start + 2 :]
        )
        return rest_a == rest_b or swapped
    longer, shorter = (a, b) if len(a) > len(b) else (b, a)
    return longer[start + 1 :] == shorter[start:]


# -- numbers --------------------------------------------------------------------------------

_NUMBER_CHARS = re.compile(r"^[+-]?[0-9][0-9 .,']*$")


@dataclass(frozen=True)
class NumberReading:
    """A typed number: `value` as the member's language writes numbers, `other` as the other
    style reads it (when that differs); `ambiguous` when both readings are plausible."""

    value: Decimal | None = None
    other: Decimal | None = None

    @property
    def ambiguous(self) -> bool:
        return self.value is not None and self.other is not None


def read_number(text: str, decimal_mark: str) -> NumberReading:
    """Read `text` as the member's language writes numbers: `decimal_mark` separates decimals,
    the other mark ("," or ".") and spaces group thousands in threes. Exponents, NaN and
    infinities are no numbers. A decimal mark followed by exactly three digits (`1,000` in
    French) also reads as thousands the other way, so both readings are kept."""
    ascii_digits = "".join(_ascii_digit(c) for c in unicodedata.normalize("NFKC", text))
    typed = ascii_digits.replace("\u2212", "-").strip()
    if not _NUMBER_CHARS.match(typed):
        return NumberReading()
    group_mark = "," if decimal_mark == "." else "."
    own = _parse(typed, decimal_mark, group_mark)
    # Read the other way only where the member wrote a decimal mark or an impossible number:
    # `1,000` in English is one thousand, `1.000` in French too, whatever the other style says.
    if own is not None and decimal_mark not in typed:
        return NumberReading(value=own)
    other = _parse(typed, group_mark, decimal_mark)
    return NumberReading(value=own, other=None if other == own else other)


def _ascii_digit(char: str) -> str:
    digit = unicodedata.decimal(char, None)
    return char if digit is None else str(digit)


def _parse(typed: str, decimal_mark: str, group_mark: str) -> Decimal | None:
    sign = ""
    if typed[:1] in "+-":
        sign, typed = typed[0].replace("+", ""), typed[1:]
    whole, _, fraction = typed.partition(decimal_mark)
    if decimal_mark in fraction or not fraction.isdigit() and fraction:
        return None
    groups = re.split(rf"[ '{re.escape(group_mark)}]", whole)
    if not groups[0].isdigit() or (
        len(groups) > 1
        and (
            not 0 < len(groups[0]) <= 3
            or groups[0].startswith("0")
            or any(len(g) != 3 or not g.isdigit() for g in groups[1:])
        )
    ):
        return None
    digits = "".join(groups) + fraction
    if len(digits) > MAX_DIGITS:
        return None
    try:
        return Decimal(f"{sign}{''.join(groups)}.{fraction or '0'}")
    except InvalidOperation:
        return None


def write_number(value: Decimal | float, decimal_mark: str) -> str:
    """A number as the member's language writes it, without grouping (`1.5`, `1,5`)."""
    number = Decimal(str(value))
    shown = format(number.normalize(), "f") if number != number.to_integral() else str(int(number))
    return shown.replace(".", decimal_mark)
