"""Answer button payloads: encoding, decoding, and the size the flow loader checks."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.flows import SLUG
from bot.domain.payload import (
    MAX_RUN_ID_DIGITS,
    SKIP,
    SUBMIT,
    AnswerPayload,
    answer_payload_size,
    decode_answer,
    encode_answer,
)

WIDEST_RUN_ID = 2**63 - 1  # the largest signed 64-bit database id
run_ids = st.integers(min_value=0, max_value=WIDEST_RUN_ID)
slugs = st.from_regex(SLUG, fullmatch=True).filter(lambda s: len(s) <= 40)
values = st.one_of(slugs, st.sampled_from([SKIP, SUBMIT]))
QUICK = settings(max_examples=200, deadline=None, database=None)


def test_encoding() -> None:
    assert encode_answer(42, "consent", "yes") == "a:42:consent:yes"
    assert decode_answer("a:42:consent:yes") == AnswerPayload(42, "consent", "yes")


@QUICK
@given(run_id=run_ids, node_id=slugs, value=values)
def test_round_trip(run_id: int, node_id: str, value: str) -> None:
    assert decode_answer(encode_answer(run_id, node_id, value)) == AnswerPayload(
        run_id, node_id, value
    )


@pytest.mark.parametrize(
    "data",
    [
        "",
        "a",
        "a:1:consent",
        "a:1:consent:yes:extra",
        "b:1:consent:yes",
        "A:1:consent:yes",
        "a::consent:yes",
        "a:-1:consent:yes",
        "a:+1:consent:yes",
        "a:x1:consent:yes",
        "a:1.5:consent:yes",
        "a:²:consent:yes",
        "a:١٢:consent:yes",
        "a:" + "9" * (MAX_RUN_ID_DIGITS + 1) + ":consent:yes",
        "a:" + "9" * 5000 + ":consent:yes",
        "lang:fr",
    ],
)
def test_decode_rejects_what_encode_never_makes(data: str) -> None:
    assert decode_answer(data) is None


def test_widest_run_id_decodes() -> None:
    data = encode_answer(WIDEST_RUN_ID, "n", "v")
    assert decode_answer(data) == AnswerPayload(WIDEST_RUN_ID, "n", "v")
    assert len(str(WIDEST_RUN_ID)) == MAX_RUN_ID_DIGITS


@QUICK
@given(run_id=run_ids, node_id=slugs, value=values)
def test_size_is_the_widest_encoding(run_id: int, node_id: str, value: str) -> None:
    """The size the loader checks is the real size with the widest run id, and bounds all."""
    size = answer_payload_size(node_id, value)
    assert size == len(encode_answer(WIDEST_RUN_ID, node_id, value).encode())
    assert size >= len(encode_answer(run_id, node_id, value).encode())


def test_size_counts_bytes() -> None:
    assert answer_payload_size("ask_colour", "red") == 2 + 19 + 1 + 10 + 1 + 3
    assert answer_payload_size("n", "é") == len(f"a:{WIDEST_RUN_ID}:n:") + 2
