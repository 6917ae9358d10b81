"""The button payload format, shared by the flow loader (size checks) and the bot (encoding).

A payload names the run, the question and the value: `a:<run>:<node>:<value>`. Naming the
question lets the bot tell a fresh answer from a press on a question already answered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PREFIX = "a"
SKIP = "_skip"
SUBMIT = "_done"
# The widest run id a payload can carry: a signed 64-bit database id.
MAX_RUN_ID_DIGITS = 19


@dataclass(frozen=True)
class AnswerPayload:
    """A decoded answer button."""

    run_id: int
    node_id: str
    value: str


def encode_answer(run_id: int, node_id: str, value: str) -> str:
    """Encode an answer button's callback data."""
    return f"{PREFIX}:{run_id}:{node_id}:{value}"


def decode_answer(data: str) -> AnswerPayload | None:
    """Decode callback data made by `encode_answer`; None when it is not one."""
    parts = data.split(":")
    if len(parts) != 4 or parts[0] != PREFIX or not parts[1].isascii():
        return None
    if not parts[1].isdigit() or len(parts[1]) > MAX_RUN_ID_DIGITS:
        return None
    return AnswerPayload(run_id=int(parts[1]), node_id=parts[2], value=parts[3])


def answer_payload_size(node_id: str, value: str) -> int:
    """The largest size in bytes an answer payload for this node and value can take."""
    return len(encode_answer(10**MAX_RUN_ID_DIGITS - 1, node_id, value).encode())


def run_asked(keyboard: Mapping[str, Any] | None) -> int | None:
    """The run whose question an inline keyboard (Bot API JSON) answers, if it is one."""
    for row in (keyboard or {}).get("inline_keyboard") or ():
        for button in row:
            payload = decode_answer(str(button.get("callback_data") or ""))
            if payload is not None:
                return payload.run_id
    return None
