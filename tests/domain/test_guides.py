"""The guided commands as step machines: plain data in, keys and button specs out; and every
machine keeps the protocol (every key it shows is in the catalogs, every button fits)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH

from bot.domain.guided import Effect, Input, Label, Machine, Say, Turn
from bot.domain.guides.forget import Forget
from bot.domain.guides.proxy import Proxy
from bot.domain.guides.reply import ReplyToTicket
from bot.domain.guides.ticket import AnswerTicket
from bot.i18n import Catalogs
from bot.services.guides import hosts, registered
from bot.telegram.callbacks import GuidedStep

ROOT = Path(__file__).resolve().parents[2]
KEYS = Catalogs.load(ROOT / "locales", default="en").keys()
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
FACTS: dict[str, Any] = {
    "language": "en",
    "now": NOW,
    "today": NOW.date(),
    "yes": "oui",
    "no": "non",
    "handle": "C-ABC123",
    "flows": {"trust_pulse": "trust_pulse.title"},
    "groups": ("community", "municipality"),
    "locales": ("en", "fr"),
    "committees": [(7, "Water & roads")],
    "audience_size": 3,
    "timezone": "Africa/Dakar",
    "send_at": None,
    "rounds": [{"id": 3, "group": "community", "status": "open"}],
    "joint": [(7, "Water & roads")],
    "invited": 4,
    "coordinator": True,
    "organisations": ["Acme Water", "City of Dakar"],
    "people": [(5, "Amina")],
    "commitment": "#3 Clean the canal",
}
# Every registered machine: a new guided command is walked without being listed here.
MACHINES: list[Machine] = [found.machine for found in registered()]


def test_forget_takes_a_typed_yes_or_no_in_the_members_words() -> None:
    forget = Forget()
    draft = forget.start("", FACTS).data
    assert draft is not None
    assert forget.step(draft, Input(text="Oui"), FACTS).effect is not None
    kept = forget.step(draft, Input(text="no"), FACTS)
    assert kept.data is None and kept.says[0].key == "forget.kept"
    unclear = forget.step(draft, Input(text="maybe"), FACTS)
    assert unclear.data == draft and unclear.says[0].key == "forget.yes_or_no"


def test_a_ticket_answer_waits_for_a_shorter_text() -> None:
    ticket = AnswerTicket()
    draft = ticket.start("decline 12", FACTS).data
    assert draft == {"step": "write", "mode": "decline", "ticket_id": 12}
    assert ticket.step(draft, Input(text="x" * 2001), FACTS).data == draft
    turn = ticket.step(draft, Input(text="Out of scope"), FACTS)
    assert turn.data is None and turn.effect is not None
    assert (turn.effect.name, turn.effect.params["text"]) == ("decline", "Out of scope")
    assert ticket.step(draft, Input(text="x"), {**FACTS, "handle": None}).data is None


def test_a_raisers_reply_keeps_the_ticket_sealed_and_names_no_anonymous_handle() -> None:
    reply = ReplyToTicket()
    opening = reply.start("12", FACTS)
    assert opening.data is None and opening.effect == Effect("open", {"ticket_id": 12})
    assert reply.settle({}, opening.effect, {}).toast == Label("chat.closed")
    draft = reply.settle({}, opening.effect, {"sealed": "gAAA"}).data
    assert draft == {"step": "write", "ticket": "gAAA"}
    anonymous = {**FACTS, "anonymous": True}
    assert reply.show(draft, anonymous)[0].params == {}
    assert reply.step(draft, Input(text="x" * 2001), anonymous).data == draft
    turn = reply.step(draft, Input(text="Thanks"), anonymous)
    assert turn.effect == Effect("reply", {"ticket": "gAAA", "text": "Thanks"})
    sent = reply.settle(draft, turn.effect, {"sent": True, "handle": None})
    assert [s.key for s in sent.says] == ["concern.reply_sent_anonymous"]
    assert reply.step(draft, Input(text="Thanks"), {**FACTS, "handle": None}).effect is None


def test_proxy_chooses_a_flow_a_group_and_a_language_then_begins() -> None:
    proxy = Proxy()
    turn = proxy.start("", FACTS)
    for arg in ("trust_pulse", "community"):
        assert turn.data is not None
        turn = proxy.step(turn.data, Input(action="pick", arg=arg), FACTS)
    assert turn.data is not None
    turn = proxy.step(turn.data, Input(action="pick", arg="fr"), FACTS)
    assert turn.data is None and turn.effect is not None
    assert dict(turn.effect.params) == {
        "flow": "trust_pulse",
        "group": "community",
        "language": "fr",
    }
    assert proxy.start("trust_pulse nobody", FACTS).says[0].key == "proxy.usage"


def _walk(machine: Machine, turn: Turn, presses: int = 30) -> list[tuple[Turn, tuple[Say, ...]]]:
    """Follow the first button of each question: the turns and what each showed."""
    seen, refused = [], False
    while turn.data is not None and presses:
        shown = machine.show(turn.data, {**FACTS, "summary": {}})
        seen.append((turn, shown))
        buttons = [b for say in shown for row in say.rows for b in row]
        done = [b for b in buttons if b.action in ("done", "send", "create")]
        # Go on when it can; else (nothing ticked yet) tick the first choice.
        choices = (buttons if refused else done) or buttons
        got = (
            Input(action=choices[0].action, arg=choices[0].arg)
            if choices
            else Input(text="10:00", html="10:00")
        )
        before, turn = turn.data, machine.step(turn.data, got, FACTS)
        refused, presses = turn.data == before, presses - 1
    return seen


def _keys(value: Any) -> list[str]:
    if isinstance(value, Label):
        return [value.key, *(k for v in value.params.values() for k in _keys(v))]
    if isinstance(value, tuple):
        return [k for v in value for k in _keys(v)]
    return []


@pytest.mark.parametrize("machine", MACHINES, ids=lambda m: m.kind)
def test_every_key_shown_is_worded_and_every_button_fits(machine: Machine) -> None:
    keys = {machine.title, machine.cancelled, machine.refusal}
    walked = _walk(machine, machine.start("", FACTS))
    for turn, shown in walked:
        assert turn.data is not None
        step = machine.step_of(turn.data)
        for say in (*turn.says, *shown):
            keys |= {say.key} if say.key else set()
            keys |= {k for v in say.params.values() for k in _keys(v)}
            for button in (b for row in say.rows for b in row):
                keys |= set(_keys(button.label))
                data = GuidedStep(
                    kind=machine.kind, step=step, action=button.action, arg=button.arg
                )
                assert len(data.pack().encode()) <= MAX_CALLBACK_LENGTH
    last = walked[-1][0].data if walked else None
    ends = ("write", "confirm", "language", "preview", "home", "due")
    assert last is None or machine.step_of(last) in ends
    for locale, worded in KEYS.items():
        assert keys - worded == set(), locale


def test_every_machine_names_a_host_that_is_registered() -> None:
    assert [f.machine.kind for f in registered() if f.host and f.host not in hosts()] == []
