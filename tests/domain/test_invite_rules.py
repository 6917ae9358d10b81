"""Invitation rules (pure) and the engine's suggested option: the invited group shown first,
read back by its number as shown, and flows checked for what they may be given."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.domain import engine
from bot.domain.engine import PressInput, TextInput
from bot.domain.flows import parse_flow
from bot.domain.invites import (
    InviteState,
    Limits,
    Nominee,
    is_token,
    link,
    parse_limits,
    read_nominees,
    state,
)

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expires", "max_uses", "uses", "revoked", "expected"),
    [
        (None, None, 100, None, InviteState.OPEN),
        (NOW + timedelta(seconds=1), 2, 1, None, InviteState.OPEN),
        (NOW, None, 0, None, InviteState.EXPIRED),
        (None, 2, 2, None, InviteState.USED_UP),
        (NOW - timedelta(days=1), 2, 2, NOW, InviteState.REVOKED),
    ],
)
def test_state(
    expires: datetime | None,
    max_uses: int | None,
    uses: int,
    revoked: datetime | None,
    expected: InviteState,
) -> None:
    found = state(now=NOW, expires_at=expires, max_uses=max_uses, uses=uses, revoked_at=revoked)
    assert found is expected


def test_limits_and_tokens() -> None:
    assert parse_limits([]) == Limits()
    assert parse_limits(["30d", "200X"]) == Limits(days=30, uses=200)
    assert parse_limits(["0x"]) is None and parse_limits(["3d", "4d"]) is None
    assert parse_limits(["soon"]) is None
    assert Limits(days=2).expiry(NOW) == NOW + timedelta(days=2) and Limits().expiry(NOW) is None
    assert is_token("aZ0_-" * 12) and not is_token("a" * 65) and not is_token("a b")
    assert link("@my_bot", "tok") == "https://t.me/my_bot?start=tok"


FLOW = {
    "schema": 1,
    "id": "join",
    "version": 1,
    "title": "t",
    "given": ["invited"],
    "start": "group",
    "nodes": [
        {
            "id": "group",
            "ask": "choice",
            "text": "q",
            "suggest": "invited",
            "options": [{"value": v, "label": f"g.{v}"} for v in ("a", "b", "c")],
            "next": [{"when": {"answer": "invited", "skipped": False}, "goto": "x"}, {"goto": "y"}],
        },
        {"id": "x", "end": "said.x"},
        {"id": "y", "end": "said.y"},
    ],
}


def test_the_suggested_option_comes_first_and_is_read_as_shown() -> None:
    flow, problems = parse_flow(FLOW, source="join.yaml")
    assert flow is not None, problems
    plain = engine.start(flow).state
    view = engine.prompt(flow, plain).replies[0].question
    assert view is not None and [o.value for o in view.options] == ["a", "b", "c"]
    assert not any(o.suggested for o in view.options)

    invited = replace(plain, answers={"invited": "c"})
    view = engine.prompt(flow, invited).replies[0].question
    assert view is not None
    assert [(o.number, o.value, o.suggested) for o in view.options] == [
        (1, "c", True),
        (2, "a", False),
        (3, "b", False),
    ]
    step = engine.resume(flow, invited, TextInput("1"), label=str)
    assert step.answers[0].value == "c" and step.replies[0].key == "said.x"
    step = engine.resume(flow, invited, PressInput("group", "b"), label=str)
    assert step.answers[0].value == "b"
    assert engine.resume(flow, plain, TextInput("1"), label=str).replies[0].key == "said.y"


def test_suggest_names_a_given_answer() -> None:
    broken = {**FLOW, "given": []}
    flow, problems = parse_flow(broken, source="join.yaml")
    assert flow is None
    assert {str(p) for p in problems} >= {
        "join.yaml, flow 'join', node 'group': `suggest` names no given answer 'invited'",
    }


def test_nominees_are_read_from_csv() -> None:
    text = (
        "\ufeffName,Group,Organisation,Committee\n"
        "Awa Ndiaye, community ,,\n"
        "Jo,,City,Steering group\n"
    )
    assert read_nominees(text) == [
        Nominee(2, "Awa Ndiaye", "community", None, None),
        Nominee(3, "Jo", None, "City", "Steering group"),
    ]
    assert read_nominees("name,group\n") == []
    with pytest.raises(ValueError, match="header must name"):
        read_nominees("name,phone\nAwa,123\n")
    with pytest.raises(ValueError, match="row 3: no name"):
        read_nominees("name,group\nAwa,community\n,community\n")
    with pytest.raises(ValueError, match="row 2: neither a group nor a committee"):
        read_nominees("name,group,committee\nAwa,,\n")
