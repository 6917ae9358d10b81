"""Reading typed answers: options as people type them, numbers by locale, invisible text, and
the way out after repeated misreadings (pure; the engine as the bot drives it)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from bot.content import load_flows
from bot.domain.engine import (
    SET_ASIDE_AFTER,
    SET_ASIDE_KEY,
    WAITING_KEY,
    WAY_OUT_AFTER,
    PressInput,
    RunState,
    Step,
    TextInput,
    prompt,
    resume,
    start,
)
from bot.domain.flows import parse_flow
from bot.domain.reading import (
    Choice,
    Matched,
    clean,
    is_blank,
    match_choice,
    one_edit_apart,
    read_number,
)
from bot.i18n import Catalogs

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = Catalogs.load(ROOT / "locales", default="en")
SHIPPED = load_flows(ROOT / "flows", locale_keys=CATALOGS.keys())
ONBOARDING, ROLES = SHIPPED["onboarding"], SHIPPED["roles"]

LANGUAGES = [
    Choice("en", own=("English",), other=("English", "Anglais")),
    Choice("fr", own=("Français",), other=("Français", "French")),
]
GROUPS = [
    Choice("municipality", own=("Municipality",)),
    Choice("private_sector", own=("Private company",)),
    Choice("civil_society", own=("Civil society",)),
]


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("1. English", Matched("en", exact=True)),
        ("2. Français", Matched("fr", exact=True)),
        ("2) français", Matched("fr", exact=True)),
        ("☐ 2. Français", Matched("fr", exact=True)),
        ("☑ 1. English", Matched("en", exact=True)),
        ("2", Matched("fr", exact=True)),
        ("English", Matched("en", exact=True)),
        ("francais", Matched("fr", exact=False)),
        ("FRANCAIS", Matched("fr", exact=False)),
        ("French", Matched("fr", exact=False)),
        ("anglais", Matched("en", exact=False)),
        ("Englsh", Matched("en", exact=False)),
        ("1. Français", None),  # the number and the words name different options
        ("2. Spanish", None),
        ("3", None),
        ("Spanish", None),
        ("", None),
    ],
)
def test_options_as_people_type_them(typed: str, expected: Matched | None) -> None:
    assert match_choice(typed, LANGUAGES) == expected


def test_a_label_may_begin_with_a_number() -> None:
    sizes = [Choice("few", own=("1-5 people",)), Choice("many", own=("6 or more",))]
    assert match_choice("1-5 people", sizes) == Matched("few", exact=True)
    assert match_choice("2. 6 or more", sizes) == Matched("many", exact=True)
    assert match_choice("2", sizes) == Matched("many", exact=True)


def test_a_typo_is_forgiven_only_when_one_option_fits() -> None:
    assert match_choice("Municipalty", GROUPS) == Matched("municipality", exact=False)
    assert match_choice("Private compnay", GROUPS) == Matched("private_sector", exact=False)
    near_twins = [Choice("a", own=("Funding",)), Choice("b", own=("Fundings",))]
    assert match_choice("Fundin", near_twins) == Matched("a", exact=False)
    assert match_choice("Fundingx", near_twins) is None, "one letter from both"
    short = [Choice("yes", own=("Yes",)), Choice("no", own=("No",))]
    assert match_choice("Yeq", short) is None, "too short to guess at"


@pytest.mark.parametrize(
    ("a", "b", "near"),
    [
        ("municipalty", "municipality", True),
        ("muncipality", "municipality", True),
        ("munixipality", "municipality", True),
        ("umnicipality", "municipality", True),
        ("municipality", "municipality", True),
        ("munipality", "municipality", False),
        ("abcd", "badc", False),
    ],
)
def test_one_edit_apart(a: str, b: str, near: bool) -> None:
    assert one_edit_apart(a, b) is near
    assert one_edit_apart(b, a) is near


@pytest.mark.parametrize(
    ("typed", "mark", "value", "other"),
    [
        ("1 000", ",", "1000", None),
        ("1\u00a0000", ",", "1000", None),
        ("1\u202f000", ",", "1000", None),
        ("1.000", ",", "1000", None),
        ("1,5", ",", "1.5", None),
        ("1,000", ",", "1", "1000"),  # French for one, or an English keyboard's thousand
        ("0,125", ",", "0.125", None),
        ("1 234 567,25", ",", "1234567.25", None),
        ("1.5", ",", None, "1.5"),
        ("1,000", ".", "1000", None),
        ("1.5", ".", "1.5", None),
        ("1.000", ".", "1", "1000"),
        ("12,345.5", ".", "12345.5", None),
        ("1,5", ".", None, "1.5"),
        ("1.000,5", ".", None, "1000.5"),
        ("-3", ".", "-3", None),
        ("\u22123", ".", "-3", None),
        ("１２", ".", "12", None),
        ("1e9", ".", None, None),
        ("NaN", ".", None, None),
        ("nan", ",", None, None),
        ("inf", ".", None, None),
        ("-Infinity", ".", None, None),
        ("∞", ".", None, None),
        ("1,2,3", ".", None, None),
        ("12 34", ".", None, None),
        ("9" * 16, ".", None, None),
        ("", ".", None, None),
    ],
)
def test_numbers_by_locale(typed: str, mark: str, value: str | None, other: str | None) -> None:
    reading = read_number(typed, mark)
    assert reading.value == (None if value is None else Decimal(value))
    assert reading.other == (None if other is None else Decimal(other))


def test_invisible_and_reordering_characters() -> None:
    assert is_blank("\u200b\u200c\u200d\u2060\ufeff")
    assert is_blank("\u3164 \u2800\u00ad")
    assert not is_blank("a\u200b")
    assert clean("\u202eevil\u202c name\u2066x\u2069") == "evil namex"
    assert clean("ok\x00\ttab\nline") == "ok\ttab\nline"


# -- the engine, as the bot drives it -------------------------------------------------------


def speech(locale: str) -> dict[str, Any]:
    return {
        "label": CATALOGS.translator(locale),
        "words": CATALOGS.words,
        "decimal_mark": CATALOGS.decimal_mark(locale),
    }


def at(flow_id: str, node_id: str) -> RunState:
    flow = SHIPPED[flow_id]
    return RunState(flow.id, flow.version, node_id)


def test_a_guessed_answer_says_what_was_understood() -> None:
    step = resume(ONBOARDING, at("onboarding", "group"), TextInput("Municipalty"), **speech("en"))
    assert step.accepted and step.answers[0].value == "municipality"
    assert (step.replies[0].key, dict(step.replies[0].params)) == (
        "chat.understood",
        {"answer": "Municipality"},
    )
    exact = resume(ONBOARDING, at("onboarding", "group"), TextInput("1"), **speech("en"))
    assert [r.key for r in exact.replies] == ["onboarding.organisation"]


def test_every_shipped_language_says_yes_skip_and_done() -> None:
    english = speech("en")
    yes = resume(ONBOARDING, at("onboarding", "offer_roles"), TextInput("oui"), **english)
    assert yes.answers[0].value == "yes"
    french = speech("fr")
    skipped = resume(
        ONBOARDING, at("onboarding", "community_organisation"), TextInput("skip"), **french
    )
    assert skipped.accepted and skipped.answers[0].value is None
    picked = RunState(ROLES.id, ROLES.version, "brings", selected=("funding",))
    done = resume(ROLES, picked, TextInput("DONE"), **french)
    assert done.accepted and done.answers[0].value == ["funding"]
    termine = resume(ROLES, picked, TextInput("terminé"), **english)
    assert termine.answers[0].value == ["funding"]


def test_answers_made_of_nothing_visible_are_no_answers() -> None:
    state = at("onboarding", "organisation")
    for typed in ("\u200b", "\u200b\u200d\u2060", "\ufeff \u3164"):
        step = resume(ONBOARDING, state, TextInput(typed), **speech("en"))
        assert not step.accepted, repr(typed)
    step = resume(ONBOARDING, state, TextInput("\u202eAcme\u202c Water"), **speech("en"))
    assert step.answers[0].value == "Acme Water"
    assert step.profile == {"organisation": "Acme Water"}


def test_the_answer_given_is_worded_for_its_question() -> None:
    press = resume(
        ONBOARDING, at("onboarding", "group"), PressInput("group", "community"), **speech("fr")
    )
    assert press.answered is not None
    assert dict(press.answered.params) == {"answer": "Membre de la communauté"}


def nonsense(flow_id: str, node_id: str, times: int) -> list[Step]:
    flow, state = SHIPPED[flow_id], at(flow_id, node_id)
    steps = []
    for _ in range(times):
        step = resume(flow, state, TextInput("blah"), **speech("en"))
        steps.append(step)
        state = RunState.from_json(step.state.to_json())
    return steps


def test_the_third_misreading_in_a_row_shows_the_way_out_and_the_fifth_sets_it_aside() -> None:
    steps = nonsense("onboarding", "group", 8)
    assert [s.state.misses for s in steps] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [[r.hint for r in s.replies] for s in steps[: WAY_OUT_AFTER - 1]] == [[True, False]] * 2
    for step in steps[WAY_OUT_AFTER - 1 : SET_ASIDE_AFTER - 1]:
        [reply] = step.replies
        assert reply.way_out and reply.question is not None
        assert reply.question.node_id == "group"
    keys = [[r.key for r in s.replies] for s in steps[SET_ASIDE_AFTER - 1 :]]
    assert keys == [[SET_ASIDE_KEY], [WAITING_KEY], [WAITING_KEY], [WAITING_KEY]]
    after = resume(ONBOARDING, steps[-1].state, TextInput("Municipality"), **speech("en"))
    assert after.accepted and after.state.misses == 0


def test_asking_a_question_again_starts_the_count_again() -> None:
    [*_, set_aside] = nonsense("onboarding", "group", SET_ASIDE_AFTER)
    asked = prompt(ONBOARDING, set_aside.state)
    assert asked.state.misses == 0
    assert [r.question.node_id for r in asked.replies if r.question] == ["group"]


def test_a_good_answer_or_a_press_starts_the_count_again() -> None:
    state = RunState(ROLES.id, ROLES.version, "brings", misses=2)
    toggled = resume(ROLES, state, PressInput("brings", "funding"), **speech("en"))
    assert toggled.state.misses == 0
    missed = resume(ROLES, toggled.state, TextInput("blah"), **speech("en"))
    assert missed.state.misses == 1 and not missed.replies[0].way_out


def test_numbers_an_english_reader_would_misread_get_a_hint() -> None:
    flow_yaml = {
        "schema": 1,
        "id": "count",
        "version": 1,
        "title": "onboarding.title",
        "start": "share",
        "nodes": [
            {
                "id": "share",
                "ask": "number",
                "text": "onboarding.role",
                "integer": False,
                "next": "bye",
            },
            {"id": "bye", "end": True},
        ],
    }
    flow, problems = parse_flow(flow_yaml, source="count.yaml")
    assert flow is not None, problems
    state = start(flow).state
    english = resume(flow, state, TextInput("1,5"), **speech("en"))
    assert not english.accepted
    assert (english.replies[0].key, dict(english.replies[0].params)) == (
        "hint.number_format",
        {"number": "1.5"},
    )
    french = resume(flow, state, TextInput("1,5"), **speech("fr"))
    assert french.answers[0].value == 1.5
    thousand = resume(flow, state, TextInput("1,000"), **speech("en"))
    assert thousand.answers[0].value == 1000.0
    unsure = resume(flow, state, TextInput("2,500"), **speech("fr"))
    assert (unsure.replies[0].key, dict(unsure.replies[0].params)) == (
        "hint.number_ambiguous",
        {"first": "2500", "second": "2,5"},
    )
    for typed in ("1e9", "NaN", "inf"):
        refused = resume(flow, state, TextInput(typed), **speech("en"))
        assert not refused.accepted and refused.replies[0].key == "hint.number", typed
