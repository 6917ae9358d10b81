"""Pacing and back-off maths: however late the server counts each send, its windows never fill."""

from __future__ import annotations

import heapq
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.limits import Pacer, backoff_delay
from bot.sandbox.emulator.limits import Window


def test_starts_are_spaced_by_the_overall_and_the_chat_interval() -> None:
    pacer = Pacer(global_per_s=10, chat_per_s=1, group_per_min=20)
    assert pacer.ready_at(1, 100.0) == -math.inf
    pacer.take(1, 100.0)
    assert pacer.ready_at(2, 100.0) == pytest.approx(100.1)
    assert pacer.ready_at(1, 100.0) == math.inf  # its one send a second is in flight
    pacer.answered(1, 100.2)
    assert pacer.ready_at(1, 100.2) == pytest.approx(101.2)  # a second after the answer
    pacer.take(-5, 100.3)
    pacer.answered(-5, 100.4)
    assert pacer.chat_ready_at(-5, 100.4) == pytest.approx(103.3)  # 20 a minute: 3 s apart


def test_a_send_counts_until_a_window_after_its_answer() -> None:
    pacer = Pacer(global_per_s=3, chat_per_s=100, group_per_min=6000)
    for chat, (start, answer) in enumerate([(0.0, 0.5), (0.4, 0.6), (0.8, 0.9)], start=1):
        assert pacer.ready_at(chat, start) <= start
        pacer.take(chat, start)
        pacer.answered(chat, answer)
    # Three counted: the fourth waits until the first answer is a second old.
    assert pacer.ready_at(9, 1.0) == pytest.approx(1.5)
    assert pacer.ready_at(9, 1.5) <= 1.5


def test_sends_in_flight_fill_the_window_until_answered() -> None:
    pacer = Pacer(global_per_s=2, chat_per_s=100, group_per_min=6000)
    pacer.take(1, 0.0)
    pacer.take(2, 0.5)
    assert pacer.ready_at(3, 5.0) == math.inf
    pacer.answered(2, 5.0)
    assert pacer.ready_at(3, 5.0) == pytest.approx(6.0)  # one in flight, one just answered


def test_busy_chats_are_those_not_free_soon_and_idle_ones_are_forgotten() -> None:
    pacer = Pacer(global_per_s=100, chat_per_s=1, group_per_min=20)
    for chat, start in ((1, 0.0), (2, 0.5), (-3, 0.6)):
        pacer.take(chat, start)
        pacer.answered(chat, start)
    pacer.take(4, 1.1)  # in flight
    assert set(pacer.busy_chats(1.2, 0.25)) == {-3, 2, 4}
    assert pacer.busy_chats(1.4, 0.25) == {-3: pytest.approx(3.6), 4: math.inf}
    assert pacer.chat_ready_at(1, 1.4) == -math.inf


def test_an_answer_needs_a_send() -> None:
    with pytest.raises(ValueError, match="in flight"):
        Pacer(global_per_s=1, chat_per_s=1, group_per_min=20).answered(1, 0.0)


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_rates_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(global_per_s=rate, chat_per_s=1, group_per_min=20)


@settings(max_examples=300, deadline=None)
@given(
    rate=st.floats(min_value=0.2, max_value=400),
    one_chat=st.booleans(),
    concurrency=st.integers(min_value=1, max_value=16),
    delays=st.lists(
        st.tuples(st.floats(min_value=0, max_value=0.5), st.floats(min_value=0, max_value=1)),
        min_size=5,
        max_size=300,
    ),
)
def test_paced_sends_never_overflow_a_window_whenever_the_server_counts_them(
    rate: float, one_chat: bool, concurrency: int, delays: list[tuple[float, float]]
) -> None:
    """The server counts each send at some moment between its start and its answer (`delays`:
    on the way there, then back): a window like Telegram's (the emulator's) never overfills,
    for the overall limit (many chats) and a chat's own (one chat)."""
    big = rate * 1000
    pacer = Pacer(
        global_per_s=big if one_chat else rate, chat_per_s=rate if one_chat else big,
        group_per_min=big,
    )  # fmt: skip
    answers: list[tuple[float, int]] = []
    counted: list[float] = []
    now = 0.0
    for n, (there, back) in enumerate(delays):
        chat = 1 if one_chat else n + 1
        while (
            ready := pacer.ready_at(chat, now) if len(answers) < concurrency else math.inf
        ) > now:
            if answers and answers[0][0] <= ready:
                at, answered = heapq.heappop(answers)
                now = max(now, at)
                pacer.answered(answered, now)
            else:
                now = ready
        pacer.take(chat, now)
        counted.append(now + there)
        heapq.heappush(answers, (now + there + back, chat))
    window = Window(rate, 1.0)
    for moment in sorted(counted):
        assert window.wait(moment) == 0, f"a send counted at {moment:.4f}s would be refused"
        window.stamps.append(moment)


@pytest.mark.parametrize(
    ("attempt", "low", "high"),
    [(1, 1.0, 2.0), (2, 2.0, 4.0), (3, 4.0, 8.0), (10, 300.0, 600.0), (60, 300.0, 600.0)],
)
def test_backoff_doubles_with_jitter_and_a_cap(attempt: int, low: float, high: float) -> None:
    assert backoff_delay(attempt, jitter=0.0) == pytest.approx(low)
    assert low <= backoff_delay(attempt, jitter=0.5) < high
    assert backoff_delay(attempt, jitter=0.999999) == pytest.approx(high, rel=1e-5)


@pytest.mark.parametrize(("attempt", "jitter"), [(0, 0.5), (1, 1.0), (1, -0.1)])
def test_backoff_rejects_nonsense(attempt: int, jitter: float) -> None:
    with pytest.raises(ValueError):
        backoff_delay(attempt, jitter=jitter)
