"""Pacing and back-off maths: evenly spaced slots never overflow Telegram's sliding windows."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.delivery.limits import PACING_HEADROOM, Pacer, backoff_delay
from bot.sandbox.emulator.limits import Window


def test_sends_are_spaced_by_the_overall_and_the_chat_interval() -> None:
    pacer = Pacer(global_per_s=10, chat_per_s=1, group_per_min=20, headroom=1.0)
    assert pacer.ready_at(1) == -math.inf
    pacer.take(1, 100.0)
    assert pacer.ready_at(2) == pytest.approx(100.1)
    assert pacer.ready_at(1) == pytest.approx(101.0)
    pacer.take(-5, 100.1)
    assert pacer.chat_ready_at(-5) == pytest.approx(103.1)  # 20 a minute: one every 3 s
    assert pacer.ready_at(3) == pytest.approx(100.2)


@pytest.mark.parametrize(
    ("late_by", "next_global"),
    [(0.0, 100.1), (0.005, 100.1), (0.009, 100.1), (0.011, 100.111), (0.5, 100.6)],
)
def test_a_late_send_keeps_its_slot_only_within_the_catch_up(
    late_by: float, next_global: float
) -> None:
    pacer = Pacer(global_per_s=10, chat_per_s=1, group_per_min=20, headroom=1.0)
    pacer.take(1, 99.9)
    pacer.take(2, 100.0 + late_by)
    assert pacer.ready_at(3) == pytest.approx(next_global)


def test_headroom_keeps_pacing_below_the_limit() -> None:
    pacer = Pacer(global_per_s=30, chat_per_s=1, group_per_min=20)
    assert pacer.global_interval == pytest.approx(1 / (30 * PACING_HEADROOM))
    assert pacer.chat_interval(7) == pytest.approx(1 / PACING_HEADROOM)
    assert pacer.chat_interval(-7) == pytest.approx(3 / PACING_HEADROOM)


def test_busy_chats_are_those_not_free_soon_and_idle_ones_are_forgotten() -> None:
    pacer = Pacer(global_per_s=100, chat_per_s=1, group_per_min=20, headroom=1.0)
    pacer.take(1, 0.0)  # free at 1.0
    pacer.take(2, 0.5)  # free at 1.5
    pacer.take(-3, 0.6)  # free at 3.6
    assert set(pacer.busy_chats(1.2, 0.25)) == {-3, 2}
    assert set(pacer.busy_chats(1.4, 0.25)) == {-3}
    assert pacer.chat_ready_at(1) == -math.inf


@pytest.mark.parametrize("rate", [0.0, -1.0])
def test_rates_must_be_positive(rate: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(global_per_s=rate, chat_per_s=1, group_per_min=20)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.floats(min_value=0.2, max_value=400),
    lateness=st.lists(st.floats(min_value=0, max_value=0.05), min_size=5, max_size=400),
)
def test_paced_sends_never_overflow_a_sliding_window_of_the_same_rate(
    rate: float, lateness: list[float]
) -> None:
    """However late each send starts, a window like Telegram's (the emulator's) never fills."""
    pacer = Pacer(global_per_s=rate, chat_per_s=rate, group_per_min=rate * 60)
    window = Window(rate, 1.0)
    now = 0.0
    for late in lateness:
        now = max(now, pacer.ready_at(1)) + late
        assert window.wait(now) == 0, f"a send at {now:.4f}s would be refused"
        window.stamps.append(now)
        pacer.take(1, now)


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
