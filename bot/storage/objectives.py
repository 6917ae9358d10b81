"""Partners' objectives and the progress ratings tied to each: writes and the reads behind
`/objectives`, the progress report and the alignment matrix."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select as select_columns
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.figures import AnswerRow
from bot.domain.objectives import StatedObjective, rating_row
from bot.storage.objective_models import Objective, ObjectiveRating


def _stated(row: Objective) -> StatedObjective:
    assert row.id is not None
    return StatedObjective(
        id=row.id,
        group=row.stakeholder_group,
        organisation=row.organisation,
        category=row.category,
        statement=row.statement,
        indicator=row.indicator,
        baseline=row.baseline,
        target=row.target,
        needs=tuple(row.needs or ()),
    )


async def add_objective(
    session: AsyncSession,
    *,
    member_id: int,
    organisation: str | None,
    group: str | None,
    fields: dict[str, Any],
    now: datetime,
) -> StatedObjective:
    """Record an objective a partner states (fields from `objective_fields`)."""
    row = Objective(
        member_id=member_id,
        organisation=organisation,
        stakeholder_group=group,
        created_at=now,
        **fields,
    )
    session.add(row)
    await session.flush()
    return _stated(row)


async def list_objectives(session: AsyncSession) -> list[StatedObjective]:
    """Every partner's objectives, oldest first."""
    found = await session.exec(select(Objective).order_by(col(Objective.id)))
    return [_stated(row) for row in found.all()]


async def get_objective(session: AsyncSession, *, objective_id: int) -> StatedObjective | None:
    """One objective, or None when it is gone."""
    row = await session.get(Objective, objective_id)
    return None if row is None else _stated(row)


async def add_rating(
    session: AsyncSession,
    *,
    objective_id: int,
    member_id: int | None,
    group: str | None,
    rating: float,
    now: datetime,
) -> None:
    """Record a progress rating of one objective (no member when anonymous)."""
    session.add(
        ObjectiveRating(
            objective_id=objective_id,
            member_id=member_id,
            stakeholder_group=group,
            rating=rating,
            created_at=now,
        )
    )
    await session.flush()


async def list_rating_rows(
    session: AsyncSession, *, since: datetime | None = None
) -> Sequence[AnswerRow]:
    """Progress ratings given since `since` as figure rows, under their objective's category;
    a named rating's rater has the key its member's named answers have (`reports._respondent`),
    so one person is one respondent across both."""
    query = select_columns(
        col(ObjectiveRating.member_id),
        col(ObjectiveRating.stakeholder_group),
        col(ObjectiveRating.rating),
        col(ObjectiveRating.created_at),
        col(Objective.category),
    ).join(Objective, col(Objective.id) == col(ObjectiveRating.objective_id))
    if since is not None:
        query = query.where(col(ObjectiveRating.created_at) >= since)
    found = await (await session.connection()).execute(query)
    return [
        rating_row(
            category=category,
            group=group,
            rating=rating,
            created_at=created_at,
            rater=None if member_id is None else f"m{member_id}",
        )
        for member_id, group, rating, created_at, category in found.all()
    ]
