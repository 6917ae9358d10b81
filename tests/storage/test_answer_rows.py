"""Answers as figure rows (`bot.storage.reports.list_answer_rows`): identical anonymous answers
counted in SQL as one row, named ones one row each, both giving the same figures."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.domain.figures import count_answers, count_respondents, count_responses, mean_table
from bot.storage.db import SessionFactory
from bot.storage.models import Answer
from bot.storage.reports import list_answer_rows

DAY = datetime(2026, 11, 2, tzinfo=UTC)


def _answer(value: float, *, anonymous: bool = True, proxy: bool = False) -> Answer:
    return Answer(
        flow_id="trust_pulse",
        question_key="municipality",
        kind="scale",
        value_number=value,
        anonymous=anonymous,
        stakeholder_group="community",
        created_at=DAY,
        proxy=proxy,
    )


async def test_identical_anonymous_answers_are_one_counted_row(sessions: SessionFactory) -> None:
    async with sessions() as session:
        session.add_all([_answer(4.0) for _ in range(30)] + [_answer(2.0) for _ in range(10)])
        session.add_all(_answer(2.0, anonymous=False, proxy=True) for _ in range(3))
        await session.commit()
    async with sessions() as session:
        rows = await list_answer_rows(session, flow_ids=["trust_pulse"])
        own = await list_answer_rows(session, flow_ids=["trust_pulse"], own_only=True)
    assert sorted((r.number, r.proxy, r.count) for r in rows) == [
        (2.0, False, 10),
        (2.0, True, 3),
        (4.0, False, 30),
    ]
    assert count_answers(own) == 40
    assert count_responses(own) == count_respondents(own) == 40
    table = mean_table(own, row_of=lambda r: r.group or "", column_of=lambda r: "mean", k=5)
    cell = table.visible("community", "mean")
    assert cell is not None and cell.value == (30 * 4.0 + 10 * 2.0) / 40
    assert cell.respondents == 40 and cell.weight == 40
