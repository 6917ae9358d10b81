"""Champions' pure rules and the /champions step machine: who may do what, each path's
effect, and every key it shows worded in every locale."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH

from bot.domain import champions as rules
from bot.domain.guided import Input, Label, Say, Turn
from bot.domain.guides.champions import ChampionsGuide
from bot.i18n import Catalogs
from bot.telegram.callbacks import GuidedStep

ROOT = Path(__file__).resolve().parents[2]
KEYS = Catalogs.load(ROOT / "locales", default="en").keys()
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
COORDINATOR: dict[str, Any] = {
    "coordinator": True,
    "lead_of": None,
    "register": "<b>Champions</b>",
    "proposals": [(3, "Market women · deputy: Bob")],
    "seats": [(3, "Market women · lead: Amina")],
    "matches": [(5, "Bob · Market women")],
    "summary": "Handover",
}
LEAD: dict[str, Any] = {"coordinator": False, "lead_of": "Market women"}
guide = ChampionsGuide()


def press(data: Any, action: str, arg: str = "", facts: dict[str, Any] = COORDINATOR) -> Turn:
    return guide.step(data, Input(action=action, arg=arg), facts)


def write(data: Any, text: str, facts: dict[str, Any] = COORDINATOR) -> Turn:
    return guide.step(data, Input(text=text), facts)


def test_quiet_counts_from_the_last_activity_or_the_appointment() -> None:
    week = timedelta(days=7)
    assert rules.quiet_since(None, NOW, now=NOW + week, quiet_after=week) == NOW
    assert rules.quiet_since(None, NOW, now=NOW + week / 2, quiet_after=week) is None
    later = NOW + timedelta(days=3)
    assert rules.quiet_since(later, NOW, now=NOW + week, quiet_after=week) is None
    # Activity before the appointment does not count against the new key person.
    assert rules.quiet_since(NOW - week, NOW, now=NOW + week, quiet_after=week) == NOW


def test_one_quiet_alert_per_silence() -> None:
    assert rules.should_alert_quiet(NOW, None)
    assert not rules.should_alert_quiet(NOW, NOW + timedelta(days=1))
    assert rules.should_alert_quiet(NOW + timedelta(days=2), NOW + timedelta(days=1))
    assert not rules.should_alert_quiet(None, None)


def test_first_response_is_the_median_in_hours() -> None:
    hour = timedelta(hours=1)
    pairs = [(NOW, NOW + hour), (NOW, NOW + 3 * hour), (NOW, NOW + 10 * hour)]
    assert rules.first_response_hours(pairs) == 3.0
    assert rules.first_response_hours([]) is None
    assert rules.org_key("  Market   Women ") == "market women"


def test_who_may_open_the_register() -> None:
    assert guide.start("", COORDINATOR).data == {"step": "home"}
    assert guide.start("", LEAD).data == {"step": "propose_role"}
    refused = guide.start("", {"coordinator": False, "lead_of": None})
    assert refused.data is None and refused.says[0].key == "champions.coordinators_only"
    # A coordinator demoted with the register open: the next press is refused.
    gone = press({"step": "home"}, "set", facts={"coordinator": False, "lead_of": None})
    assert gone.data is None and gone.says[0].key == "champions.coordinators_only"


def test_naming_a_key_person_ends_in_one_effect() -> None:
    turn = press({"step": "home"}, "set")
    turn = press(turn.data, "role", "deputy")
    assert turn.data == {"step": "who", "purpose": "set", "role": "deputy"}
    turn = write(turn.data, "bo")
    assert turn.data is not None and turn.data["query"] == "bo"
    turn = press(turn.data, "pick", "5")
    assert turn.effect is not None
    assert (turn.effect.name, dict(turn.effect.params)) == ("set", {"member": 5, "role": "deputy"})


def test_a_handover_is_confirmed_once() -> None:
    turn = press({"step": "home"}, "handover")
    turn = press(turn.data, "seat", "3")
    turn = write(turn.data, "Bob")
    turn = press(turn.data, "pick", "5")
    assert turn.data is not None and turn.data["step"] == "confirm" and turn.effect is None
    back = press(turn.data, "back")
    assert back.data is not None and back.data["step"] == "who"
    done = press(turn.data, "confirm")
    assert done.effect is not None
    assert dict(done.effect.params) == {"seat": 3, "successor": 5}


def test_a_lead_proposes_by_typing_a_name() -> None:
    turn = press({"step": "propose_role"}, "role", "deputy", facts=LEAD)
    turn = write(turn.data, " Bob ", LEAD)
    assert turn.data is None and turn.effect is not None
    assert dict(turn.effect.params) == {"role": "deputy", "text": "Bob"}
    # A lead cannot reach the coordinators' steps.
    assert press({"step": "seat", "purpose": "remove"}, "seat", "3", facts=LEAD).data is None


def _keys(value: Any) -> set[str]:
    if isinstance(value, Label):
        return {value.key, *(k for v in value.params.values() for k in _keys(v))}
    if isinstance(value, tuple):
        return {k for v in value for k in _keys(v)}
    return set()


STEPS = [
    ({"step": s, "purpose": p, "role": "lead", "query": "b", "seat": 3}, f)
    for s, p, f in [
        ("home", "", COORDINATOR),
        ("role", "set", COORDINATOR),
        ("seat", "handover", COORDINATOR),
        ("who", "set", COORDINATOR),
        ("pick", "set", COORDINATOR),
        ("pick", "set", {**COORDINATOR, "matches": []}),
        ("confirm", "handover", COORDINATOR),
        ("propose_role", "", LEAD),
        ("propose_who", "", LEAD),
    ]
]


@pytest.mark.parametrize(("data", "facts"), STEPS, ids=lambda v: str(v.get("step", "")))
def test_every_step_is_worded_and_its_buttons_fit(data: Any, facts: Any) -> None:
    shown: tuple[Say, ...] = guide.show(data, facts)
    keys = {guide.title, guide.cancelled, guide.refusal, "champions.usage"}
    for say in shown:
        keys |= {say.key} if say.key else set()
        keys |= {k for v in say.params.values() for k in _keys(v)}
        for button in (b for row in say.rows for b in row):
            keys |= _keys(button.label)
            packed = GuidedStep(
                kind=guide.kind, step=guide.step_of(data), action=button.action, arg=button.arg
            ).pack()
            assert len(packed.encode()) <= MAX_CALLBACK_LENGTH
    for locale, worded in KEYS.items():
        assert keys - worded == set(), locale
