"""Flow checks on branch conditions: what a condition tests against what its question takes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.domain.flows import AskNode, Condition, Scalar


def condition_problems(condition: Condition, asked: AskNode, *, own: bool) -> list[str]:
    """What in `condition` can never hold for the answers `asked` can take (`own`: the
    condition is on the question's own answer, which is always given when it is tested)."""
    subject = f"'{asked.key}' ({asked.ask})"
    found: list[str] = []
    tested = [condition.equals] if condition.equals is not None else []
    tested += list(condition.in_ or ())
    if asked.ask == "multi_choice" and tested:
        found.append(f"answer {subject} is a list: test it with `contains`, not `equals`/`in`")
    elif asked.choices or asked.ask in ("scale", "number"):
        values = [o.value for o in asked.choices]
        for value in tested:
            if (_as_text(value) not in values) if values else not _within(value, asked):
                why = f"its values: {values}" if values else _range(asked)
                found.append(f"answer {subject} is never {value!r}; {why}")
    if condition.contains is not None:
        values = [o.value for o in asked.choices] if asked.ask == "multi_choice" else []
        if condition.contains not in values:
            where = f"its values: {values}" if values else "`contains` tests a multi_choice answer"
            found.append(f"answer {subject} never contains '{condition.contains}'; {where}")
    bounds = (condition.lt, condition.lte, condition.gt, condition.gte)
    if asked.ask not in ("scale", "number") and any(b is not None for b in bounds):
        found.append(f"answer {subject} is not a number: lt/lte/gt/gte never hold")
    if own and condition.skipped and not asked.skippable:
        found.append(f"answer {subject} cannot be skipped: `skipped: true` never holds")
    return found


def _as_text(value: Scalar) -> str:
    # YAML reads a bare `yes`/`no` as a boolean; the engine takes it for the yes/no value.
    return ("yes" if value else "no") if isinstance(value, bool) else str(value)


def _within(value: Scalar, asked: AskNode) -> bool:
    if isinstance(value, bool):
        return False
    try:
        number = float(value)
    except ValueError:
        return False
    lo, hi = asked.scale_bounds if asked.ask == "scale" else (asked.min, asked.max)
    whole = asked.ask == "scale" or asked.integer
    in_range = (lo is None or number >= lo) and (hi is None or number <= hi)
    return in_range and (number.is_integer() or not whole)


def _range(asked: AskNode) -> str:
    lo, hi = asked.scale_bounds if asked.ask == "scale" else (asked.min, asked.max)
    kind = "whole number" if asked.ask == "scale" or asked.integer else "number"
    bounds = [f"from {lo:g}"] if lo is not None else []
    bounds += [f"to {hi:g}"] if hi is not None else []
    return " ".join([f"it takes a {kind}", *bounds])
