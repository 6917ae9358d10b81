"""/forget: erase everything about the member, once they confirm with a button or a typed
yes/no (in their language or English)."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import guided as g
from bot.domain.reading import normalise

# An unanswered confirmation lapses: a "yes" typed much later is no confirmation.
CONFIRM_WITHIN = timedelta(minutes=15)


@g.guided(host="forget", lapse=CONFIRM_WITHIN)
class Forget(g.Guide):
    kind = command = "forget"
    role = "member"
    cancelled = "forget.kept"
    refusal = "forget.nothing"
    first = "confirm"

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        buttons = (
            g.Button(g.label("forget.button_yes"), "yes"),
            g.Button(g.label("forget.button_no"), "no"),
        )
        return (g.say("forget.confirm", buttons),)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        answer = got.action if got.pressed else _yes_or_no(got.text or "", facts)
        if answer in ("yes", "no"):
            return self.confirmed(answer == "yes", g.Effect("forget"))
        return g.stay(data, g.say("forget.yes_or_no"))

    def settle(self, data: g.Data, effect: g.Effect, outcome: g.Data) -> g.Turn:
        return g.closed(g.say("forget.done"))


def _yes_or_no(text: str, facts: g.Data) -> str | None:
    said = normalise(text)
    if said in {normalise(facts.get("yes", "")), "yes", "y"}:
        return "yes"
    if said in {normalise(facts.get("no", "")), "no", "n"}:
        return "no"
    return None
