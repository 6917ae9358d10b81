"""Every option of every shipped question, in every shipped language, can be typed: as its
button shows it, without accents, upper-cased, or by its number (free-typed questions have
no options)."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest

from bot.content import load_flows
from bot.domain.engine import AnswerValue, RunState, TextInput, prompt, resume
from bot.domain.flows import AskNode
from bot.domain.payload import SKIP, SUBMIT, decode_answer
from bot.i18n import Catalogs
from bot.services.conversations import Message
from bot.services.rendering import render_keyboard

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = Catalogs.load(ROOT / "locales", default="en")
SHIPPED = load_flows(ROOT / "flows", locale_keys=CATALOGS.keys())
RUN_ID = 7


def without_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


def value_of(callback_data: str) -> str:
    payload = decode_answer(callback_data)
    assert payload is not None
    return payload.value


def cases() -> list[tuple[str, str, str, str, AnswerValue, str]]:
    """(flow, question, locale, how it was typed, expected value, typed text)."""
    found = []
    for flow in SHIPPED.flows.values():
        for node in flow.nodes.values():
            if not isinstance(node, AskNode) or node.ask in ("text", "number", "time_zone"):
                continue
            for locale in CATALOGS.locales:
                t = CATALOGS.translator(locale)
                [asked] = prompt(flow, RunState(flow.id, flow.version, node.id)).replies
                assert asked.question is not None
                keyboard = render_keyboard(Message(asked, RUN_ID), t) or {}
                buttons = {
                    value_of(button["callback_data"]): button["text"]
                    for row in keyboard["inline_keyboard"]
                    for button in row
                }
                for option in asked.question.options:
                    value: AnswerValue = option.value
                    if node.ask == "multi_choice":
                        value = [option.value]
                    elif node.ask == "scale":
                        value = int(option.value)
                    label = option.text or t(option.label or "")
                    forms = {
                        "button": buttons[option.value],
                        "no accents": without_accents(label),
                        "upper-cased": label.upper(),
                        "number": str(option.number),
                    }
                    for how, typed in forms.items():
                        found.append((flow.id, node.id, locale, how, value, typed))
    return found


CASES = cases()


def test_every_choice_question_is_walked() -> None:
    asked = {(f, n) for f, n, *_ in CASES}
    kinds = {SHIPPED[f].node(n).ask for f, n in asked}  # type: ignore[union-attr]
    assert {"choice", "multi_choice", "yes_no", "scale"} <= kinds
    assert {loc for _, _, loc, *_ in CASES} == set(CATALOGS.locales)


@pytest.mark.parametrize(
    ("flow_id", "node_id", "locale", "how", "value", "typed"),
    CASES,
    ids=[f"{f}.{n}:{loc}:{how}:{typed}" for f, n, loc, how, _, typed in CASES],
)
def test_typing_an_option_selects_it(
    flow_id: str, node_id: str, locale: str, how: str, value: AnswerValue, typed: str
) -> None:
    flow = SHIPPED[flow_id]
    step = resume(
        flow,
        RunState(flow.id, flow.version, node_id),
        TextInput(typed),
        label=CATALOGS.translator(locale),
        words=CATALOGS.words,
        decimal_mark=CATALOGS.decimal_mark(locale),
    )
    assert step.accepted, f"{typed!r} ({how}) was not understood"
    assert step.answers[0].value == value


def special_buttons() -> list[tuple[str, str, str, str, str]]:
    """(flow, question, locale, payload value, the button's text) for every Skip and Done."""
    found = []
    for flow in SHIPPED.flows.values():
        for node in flow.nodes.values():
            if not isinstance(node, AskNode):
                continue
            [asked] = prompt(flow, RunState(flow.id, flow.version, node.id)).replies
            for locale in CATALOGS.locales:
                keyboard = render_keyboard(Message(asked, RUN_ID), CATALOGS.translator(locale))
                for row in (keyboard or {}).get("inline_keyboard", []):
                    for button in row:
                        value = value_of(button["callback_data"])
                        if value in (SKIP, SUBMIT):
                            found.append((flow.id, node.id, locale, value, button["text"]))
    return found


SPECIAL = special_buttons()


@pytest.mark.parametrize(("flow_id", "node_id", "locale", "value", "typed"), SPECIAL)
def test_typing_skip_or_done_as_their_buttons_show_them(
    flow_id: str, node_id: str, locale: str, value: str, typed: str
) -> None:
    flow = SHIPPED[flow_id]
    node = flow.node(node_id)
    assert isinstance(node, AskNode)
    picked = (node.options[0].value,) if value == SUBMIT else ()
    step = resume(
        flow,
        RunState(flow.id, flow.version, node_id, selected=picked),
        TextInput(typed),
        label=CATALOGS.translator(locale),
        words=CATALOGS.words,
        decimal_mark=CATALOGS.decimal_mark(locale),
    )
    assert step.accepted, f"{typed!r} was not understood"
    assert step.answers[0].value == (list(picked) if value == SUBMIT else None)
