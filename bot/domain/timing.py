"""Time rules over plain values: quiet hours in a member's zone, and reading a typed date."""

from __future__ import annotations

import functools
import re
import unicodedata
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def zone(name: str | None, fallback: str) -> ZoneInfo:
    """The member's zone, or the partnership's when theirs is unknown or invalid."""
    for candidate in (name, fallback):
        if candidate:
            try:
                return ZoneInfo(candidate)
            except (ZoneInfoNotFoundError, ValueError):
                continue
    return ZoneInfo("UTC")


_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?:[:h.]?(\d{2}))?$")


def _fold(text: str) -> str:
    """Case, accents, spaces and underscores folded, so `sao paulo` finds `America/Sao_Paulo`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return "".join(c for c in plain if c.isalnum() or c == "/")


@functools.cache
def _zones_by_name() -> dict[str, str]:
    """Folded zone names and city names (their last part) -> the IANA zone name."""
    names = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
    found: dict[str, str] = {}
    for name in names:
        found[_fold(name)] = name
        # A city shared by two zones (none today) keeps the first, alphabetically.
        found.setdefault(_fold(name.rsplit("/", 1)[-1]), name)
    return found


def read_zone(text: str) -> str | None:
    """The IANA zone a typed answer names: `Africa/Dakar`, a city (`dakar`), `UTC`, or a whole-hour
    offset (`+1`, `UTC+01:00`, `GMT-5`); None when it names no zone."""
    cleaned = " ".join(text.strip().split())
    lowered = cleaned.casefold()
    if lowered in ("utc", "gmt", "z"):
        return "UTC"
    if offset := _OFFSET.match(lowered):
        sign, hours, minutes = offset.group(1), int(offset.group(2)), offset.group(3)
        if (minutes and int(minutes)) or hours > 14 or (sign == "-" and hours > 12):
            return None  # no fixed zone for half hours: a city names them exactly
        if hours == 0:
            return "UTC"
        # The Etc/ names count the POSIX way, their sign reversed: UTC+1 is Etc/GMT-1.
        return f"Etc/GMT{'-' if sign == '+' else '+'}{hours}"
    return _zones_by_name().get(_fold(cleaned.replace(" ", "_"))) if cleaned else None


def zone_label(name: str) -> str:
    """How a stored zone is shown: `Etc/GMT-1` as `UTC+1`, others as they are."""
    if name.startswith("Etc/GMT") and len(name) > len("Etc/GMT"):
        hours = name.removeprefix("Etc/GMT")
        return f"UTC{'+' if hours[0] == '-' else '-'}{hours[1:]}"
    return name


def in_quiet_hours(local: time, start: time, end: time) -> bool:
    """Whether a local time falls in quiet hours (which may span midnight)."""
    if start == end:
        return False
    if start < end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(now: datetime, tz: ZoneInfo, start: time, end: time) -> datetime:
    """`now` if it is outside quiet hours in `tz`, else the UTC moment they end."""
    local = now.astimezone(tz)
    if not in_quiet_hours(local.time(), start, end):
        return now
    day = local.date() if local.time() < end else local.date() + timedelta(days=1)
    # Wall-clock arithmetic through the zone keeps DST transitions right.
    wake = datetime.combine(day, end, tzinfo=tz)
    return wake.astimezone(UTC)


_DATE_TIME = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})[ t](\d{1,2})[:h.](\d{2})$")
_DAY_MONTH_TIME = re.compile(r"^(\d{1,2})[/.](\d{1,2})(?:[/.](\d{4}))? (\d{1,2})[:h.](\d{2})$")
_TIME = re.compile(r"^(\d{1,2})[:h.](\d{2})$")


class BadDateTime(ValueError):
    """A typed date/time that cannot be read or is not in the future."""


def parse_local_datetime(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """Read `2026-12-01 09:00`, `01/12 09:00`, `01/12/2026 9h00` or `09:00` in `tz`, as UTC.

    A bare time means its next occurrence. The moment must be in the future.
    """
    cleaned = " ".join(text.strip().lower().split())
    local_now = now.astimezone(tz)
    try:
        if match := _DATE_TIME.match(cleaned):
            y, mo, d, h, mi = (int(g) for g in match.groups())
            moment = datetime.combine(date(y, mo, d), time(h, mi), tzinfo=tz)
        elif match := _DAY_MONTH_TIME.match(cleaned):
            d, mo = int(match.group(1)), int(match.group(2))
            y = int(match.group(3)) if match.group(3) else local_now.year
            h, mi = int(match.group(4)), int(match.group(5))
            moment = datetime.combine(date(y, mo, d), time(h, mi), tzinfo=tz)
            if not match.group(3) and moment <= local_now:
                moment = moment.replace(year=y + 1)
        elif match := _TIME.match(cleaned):
            h, mi = int(match.group(1)), int(match.group(2))
            moment = datetime.combine(local_now.date(), time(h, mi), tzinfo=tz)
            if moment <= local_now:
                moment = datetime.combine(
                    local_now.date() + timedelta(days=1), time(h, mi), tzinfo=tz
                )
        else:
            raise BadDateTime("format")
    except BadDateTime:
        raise
    except ValueError as exc:  # Feb 30th, 25:00 …
        raise BadDateTime("invalid") from exc
    if moment <= local_now:
        raise BadDateTime("past")
    return moment.astimezone(UTC)
