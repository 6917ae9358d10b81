"""Pulse results end to end: members answer the trust pulse through the emulator; when its
window closes every participant gets the aggregate results, once, whatever restarts happen.

The app starts at 09:00 UTC on Monday 5 January 2026 with the default schedules: the trust
pulse goes out at 10:00 and its window closes on Thursday 8 January at 10:00 (22:00 UTC in
the last time zone on Earth, when the occurrence closes).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from conftest import Phone, onboard, release_ballots
from sqlmodel import col, select

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import outbox
from bot.storage import schedules as store
from bot.storage.models import Answer, ScheduleStatus

PULSE = "Weekly trust pulse"
RESULTS = "Trust pulse: what you said together"
TRUST_PULSE, REVIEW = 1, 2
NAMES = ("Amina", "Kenji", "Maria", "Ode", "Lena", "Tomas")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No background sweep: each test ticks when it means to."""
    return settings.model_copy(update={"checkin_sweep_s": 3600.0})


@pytest.fixture
async def restarts() -> AsyncIterator[list[BotApp]]:
    started: list[BotApp] = []
    yield started
    for app in started:
        await app.stop()


async def tick(app: BotApp) -> None:
    assert app.scheduler is not None
    await app.scheduler.tick()


async def pause(app: BotApp, schedule_id: int) -> None:
    assert app.session_factory is not None and app.checkins is not None
    async with app.session_factory() as session:
        await app.checkins.set_status(
            session, schedule_id=schedule_id, status=ScheduleStatus.PAUSED, now=app.clock.now()
        )
        await session.commit()


async def answer_pulse(
    phone: Phone, *, score: str = "4", comment: str | None = None, quote: str | None = None
) -> None:
    """Six scale questions, then the optional comment and, after one, the quoting question."""
    await phone.wait_for(PULSE)
    for _ in range(6):
        await phone.send(score)
    if comment is None:
        await phone.press("Skip")
    else:
        await phone.send(comment)
        await phone.wait_for("May we quote this comment")
        assert quote is not None
        await phone.press(quote)
    await phone.wait_for("See you next week")


async def texts_of(app: BotApp, phone: Phone) -> list[str]:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        return [m.text for m in await outbox.list_messages(session, chat_id=phone.user_id)]


async def restart(app: BotApp, restarts: list[BotApp], emulator: BotAPIEmulator) -> BotApp:
    await app.stop()
    again = BotApp(app.settings, clock=app.clock)
    restarts.append(again)
    polls = emulator.calls["getUpdates"]
    await again.start()
    await emulator.wait_for_calls("getUpdates", polls + 1)
    return again


@pytest.mark.parametrize(("answering", "shown"), [(4, False), (5, True)])
async def test_participants_get_the_results_once_when_the_window_closes(
    emulator: BotAPIEmulator,
    app: BotApp,
    clock: ManualClock,
    restarts: list[BotApp],
    answering: int,
    shown: bool,
) -> None:
    phones = [
        Phone(emulator, app, user_id=1001 + n, first_name=name)
        for n, name in enumerate(NAMES[: answering + 1])
    ]
    for phone in phones:
        await onboard(phone)
    await pause(app, REVIEW)
    clock.advance(timedelta(hours=1))  # Monday 10:00: the pulse goes out
    await tick(app)
    *answerers, silent = phones
    for n, phone in enumerate(answerers):
        await answer_pulse(phone, score=str(2 + n % 3))

    # The occurrence closes once its window has ended in every time zone (Thursday 22:00 UTC),
    # and results wait for the end of quiet hours: Friday 09:00.
    clock.advance(timedelta(days=3, hours=23))
    await tick(app)
    for phone in answerers:
        message = await phone.wait_for(RESULTS)
        if shown:
            assert "5 people answered: Community member 5." in message.plain_text
            assert "Feeling heard: 2.8 overall · Community member 2.8" in message.plain_text
        else:
            assert "Fewer than 5 people answered this time" in message.plain_text
            assert "overall" not in message.plain_text
        # What the bot sent (text as sent, buttons), not the chat's own header.
        wire = json.dumps([message.text, message.reply_markup], ensure_ascii=False)
        assert not [name for name in NAMES if name in wire]
    # Who did not take part gets no results.
    assert not any(RESULTS in text for text in await texts_of(app, silent))

    again = await restart(app, restarts, emulator)
    clock.advance(timedelta(hours=1))
    await tick(again)
    for phone in answerers:
        assert sum(RESULTS in t for t in await texts_of(again, phone)) == 1
    assert again.session_factory is not None
    async with again.session_factory() as session:
        [occurrence] = await store.list_occurrences(session, schedule_id=TRUST_PULSE)
    assert occurrence.results_sent_at is not None


async def test_comments_are_quotable_only_with_their_authors_consent(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, db: object
) -> None:
    amina = Phone(emulator, app, user_id=1001, first_name="Amina")
    kenji = Phone(emulator, app, user_id=1002, first_name="Kenji")
    maria = Phone(emulator, app, user_id=1003, first_name="Maria")
    for phone in (amina, kenji, maria):
        await onboard(phone)
    await pause(app, REVIEW)
    clock.advance(timedelta(hours=1))
    await tick(app)
    await answer_pulse(amina, comment="Street lights on the market road, please", quote="Yes")
    await answer_pulse(kenji, comment="Something only my street knows", quote="No")
    await answer_pulse(maria)
    await release_ballots(app)
    assert app.session_factory is not None
    async with app.session_factory() as session:
        rows = (
            await session.exec(
                select(Answer)
                .where(col(Answer.flow_id) == "trust_pulse", col(Answer.question_key) == "comment")
                .order_by(col(Answer.id))
            )
        ).all()
    found = {(a.value_text, a.quotable, a.skipped) for a in rows}
    assert found == {
        ("Street lights on the market road, please", True, False),
        ("Something only my street knows", False, False),
        (None, False, True),
    }
    # Anonymous all the same: no member, no run.
    assert all(a.member_id is None and a.run_id is None for a in rows)
