"""Branch conditions of flows: which `next` a node takes over the answers given so far."""

from __future__ import annotations

import operator
from collections.abc import Mapping

from bot.domain.flows import Branch, Condition, Next

AnswerValue = str | int | float | list[str] | None


class FlowRuntimeError(RuntimeError):
    """A flow that passed loading still cannot go on (e.g. a loop of `say` nodes)."""


def choose(next_: Next, answers: Mapping[str, AnswerValue], current: str | None) -> str:
    if isinstance(next_, str):
        return next_
    branch: Branch
    for branch in next_:
        if branch.when is None or holds(branch.when, answers, current):
            return branch.goto
    raise FlowRuntimeError("no branch matched and no default was given")


def holds(condition: Condition, answers: Mapping[str, AnswerValue], current: str | None) -> bool:
    """Whether `condition` holds over the answers given so far."""
    key = condition.answer or current
    value = answers.get(key) if key else None
    if condition.skipped is not None and (value is None) != condition.skipped:
        return False
    if condition.equals is not None and not _same(value, condition.equals):
        return False
    if condition.in_ is not None and not any(_same(value, c) for c in condition.in_):
        return False
    if condition.contains is not None and not (
        isinstance(value, list) and condition.contains in value
    ):
        return False
    bounds = (
        (condition.lt, operator.lt),
        (condition.lte, operator.le),
        (condition.gt, operator.gt),
        (condition.gte, operator.ge),
    )
    for bound, test in bounds:
        if bound is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not test(value, bound):
            return False
    return True


def _same(value: AnswerValue, expected: str | int | float | bool) -> bool:
    # YAML reads a bare `yes`/`no` as a boolean; flows mean the yes/no answer values.
    if isinstance(expected, bool):
        expected = "yes" if expected else "no"
    if isinstance(value, int | float) and isinstance(expected, int | float):
        return float(value) == float(expected)
    return value == expected or str(value) == str(expected)
