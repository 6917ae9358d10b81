"""/forget: erase everything about the member, once they confirm with a button or a typed
yes/no (in their language or English)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain.guided import (
    Button,
    Data,
    Effect,
    Input,
    Role,
    Say,
    Turn,
    closed,
    guided,
    label,
    say,
    stay,
)
from bot.domain.reading import normalise

CONFIRM = "confirm"
# An unanswered confirmation lapses: a "yes" typed much later is no confirmation.
CONFIRM_WITHIN = timedelta(minutes=15)


@guided(host="forget", lapse=CONFIRM_WITHIN)
class Forget:
    kind = "forget"
    command: str | None = "forget"
    role: Role = "member"
    title = "guided.title.forget"
    cancelled = "forget.kept"
    refusal = "forget.nothing"

    def start(self, args: str, facts: Data) -> Turn:
        return Turn({"step": CONFIRM})

    def step_of(self, data: Data) -> str:
        return CONFIRM

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        buttons = (
            Button(label("forget.button_yes"), "yes"),
            Button(label("forget.button_no"), "no"),
        )
        return (say("forget.confirm", buttons),)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        answer = got.action if got.pressed else _yes_or_no(got.text or "", facts)
        if answer == "yes":
            return Turn(None, effect=Effect("forget"), show=False)
        if answer == "no":
            return closed(say("forget.kept"))
        return stay(data, say("forget.yes_or_no"))

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        return closed(say("forget.done"))


def _yes_or_no(text: str, facts: Data) -> str | None:
    said = normalise(text)
    if said in {normalise(facts.get("yes", "")), "yes", "y"}:
        return "yes"
    if said in {normalise(facts.get("no", "")), "no", "n"}:
        return "no"
    return None
