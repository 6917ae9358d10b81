"""Partners' objectives: recorded when the objectives flow ends, listed for every partner
(`/objectives`, transparency), and rated, one objective at a time, by the partner's members."""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.domain.engine import Reply
from bot.domain.figures import NO_GROUP
from bot.domain.objectives import (
    CATEGORIES,
    GIVEN_OBJECTIVE,
    StatedObjective,
    may_rate,
    objective_fields,
    rated_value,
)
from bot.domain.reports import Words, group_label
from bot.storage import objectives as store
from bot.storage.models import Member

# Telegram's message limit is 4096 characters: the list goes in messages below this.
MESSAGE_BUDGET = 3500
# How many of their partner's objectives a member is offered to rate, the newest.
RATE_BUTTONS = 8
BUTTON_TEXT = 40


@dataclass(frozen=True)
class Listing:
    """What `/objectives` shows: the list in messages, and the objectives the reader may rate."""

    messages: tuple[str, ...]
    rateable: tuple[StatedObjective, ...]


class Objectives:
    """The objectives flow's and the progress flow's hand-over, and the shared list."""

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock

    async def finish_objective(
        self, session: AsyncSession, member: Member, answers: Mapping[str, Any]
    ) -> tuple[Reply, ...]:
        """The objectives flow ended: the objective is recorded for the member's partner."""
        fields = objective_fields(answers)
        if fields is None or member.id is None:
            return (Reply(key="objectives.not_saved"),)
        await store.add_objective(
            session,
            member_id=member.id,
            organisation=member.organisation,
            group=member.stakeholder_group,
            fields=fields,
            now=self.clock.now(),
        )
        return (Reply(key="objectives.saved"),)

    async def finish_rating(
        self, session: AsyncSession, member: Member, answers: Mapping[str, Any]
    ) -> tuple[Reply, ...]:
        """The progress flow ended: its rating is tied to the objective it was given. Opened
        without one (a check-in), it points to `/objectives`, where each is rated."""
        if GIVEN_OBJECTIVE not in answers:  # the flow has already pointed to /objectives
            return ()
        rated = rated_value(answers)
        objective = (
            None if rated is None else await store.get_objective(session, objective_id=rated[0])
        )
        if rated is None or objective is None or not may_rate(objective, member.stakeholder_group):
            return (Reply(key="progress.not_saved"),)
        await store.add_rating(
            session,
            objective_id=objective.id,
            member_id=member.id,
            group=member.stakeholder_group,
            rating=rated[1],
            now=self.clock.now(),
        )
        return (Reply(key="progress.saved"),)

    async def rateable(
        self, session: AsyncSession, *, member: Member, objective_id: int
    ) -> StatedObjective | None:
        """The objective, when this member may rate it."""
        objective = await store.get_objective(session, objective_id=objective_id)
        if objective is None or not may_rate(objective, member.stakeholder_group):
            return None
        return objective

    async def listing(self, session: AsyncSession, *, member: Member, words: Words) -> Listing:
        """Every partner's objectives by category, in words; and those the member may rate."""
        found = await store.list_objectives(session)
        if not found:
            return Listing((words("objectives.list.empty"),), ())
        blocks = [words("objectives.list.title")]
        for category in CATEGORIES:
            stated = [o for o in found if o.category == category]
            if stated:
                heading = f"<b>{html.escape(words(f'objectives.category.{category}'))}</b>"
                blocks += [heading, *(describe(o, words) for o in stated)]
        mine = [o for o in found if may_rate(o, member.stakeholder_group)]
        return Listing(_in_messages(blocks), tuple(reversed(mine[-RATE_BUTTONS:])))


def measured(objective: StatedObjective) -> dict[str, str]:
    """What an objective aims for and how it is measured, as wording parameters (unescaped)."""
    return {
        "statement": objective.statement,
        "indicator": objective.indicator or "–",
        "baseline": objective.baseline or "–",
        "target": objective.target or "–",
    }


def describe(objective: StatedObjective, words: Words) -> str:
    """One objective as partners read it (HTML): whose, what, and how it is measured."""
    partner = group_label(words, objective.group or NO_GROUP)
    if objective.organisation:
        partner = f"{objective.organisation} ({partner})"
    escaped = {name: html.escape(value) for name, value in measured(objective).items()}
    return words("objectives.list.item", partner=html.escape(partner), **escaped)


def rate_button_text(objective: StatedObjective, words: Words) -> str:
    """A rate button's label: the objective's first words."""
    short = objective.statement
    if len(short) > BUTTON_TEXT:
        short = short[: BUTTON_TEXT - 1].rstrip() + "…"
    return words("objectives.button.rate", statement=short)


def given_for(objective: StatedObjective) -> dict[str, Any]:
    """What the progress flow is given to rate this objective."""
    return {GIVEN_OBJECTIVE: objective.id}


def _in_messages(blocks: list[str]) -> tuple[str, ...]:
    """Blocks joined into as few messages as fit Telegram's limit (a block is never split:
    each is far below the limit, the flow bounding its texts)."""
    messages: list[str] = []
    for block in blocks:
        if messages and len(messages[-1]) + 2 + len(block) <= MESSAGE_BUDGET:
            messages[-1] += "\n\n" + block
        else:
            messages.append(block)
    return tuple(messages)
