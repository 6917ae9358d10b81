"""A partner proposes a change to a commitment, or raises a dispute about it.

Started by a button of `/commitments` (its argument: the commitment's id): a change or a
dispute, the proposal in the member's words, for a change maybe a new due date, then a summary
to send. The partners concerned respond and a coordinator decides (`bot.services.commitments`).
Facts: `commitment` (its line, or None when it is gone), `today`.
"""

from __future__ import annotations

from bot.domain import guided as g
from bot.domain.commitments import MAX_NOTE, VARIATION_KINDS
from bot.domain.guides.commitment import saved_or_dropped, summary, with_due


@g.guided(host="commitment_variation")
class ProposeVariation(g.Guide):
    kind = "variation"
    role = "member"
    cancelled = "commitments.variation.dropped"
    refusal = "commitments.variation.not_party"
    first = "kind"

    def start(self, args: str, facts: g.Data) -> g.Turn:
        if not args.strip().isdigit():
            return g.closed(g.say("commitments.gone"))
        return self.begin(commitment=int(args.strip()))

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        step = data["step"]
        if step == "kind":
            kinds = tuple(
                g.Button(g.label(f"commitments.variation.kind.{k}"), "kind", k)
                for k in VARIATION_KINDS
            )
            return (
                g.say(
                    "commitments.variation.ask_kind", kinds, commitment=facts["commitment"] or "–"
                ),
            )
        if step == "due":
            keep = (g.Button(g.label("commitments.variation.keep_due"), "keep"),)
            return (g.say("commitments.variation.ask_due", keep),)
        if step == "confirm":
            return (
                summary(
                    "commitments.variation.summary",
                    g.Button(g.label("commitments.variation.send"), "send"),
                    kind=g.label(f"commitments.variation.kind.{data['kind']}"),
                    text=data["text"],
                    due=data.get("due") or "–",
                ),
            )
        return (g.say(f"commitments.variation.ask_text.{data['kind']}"),)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        step, text = data["step"], g.typed(got)
        if step == "kind":
            if got.action != "kind" or got.arg not in VARIATION_KINDS:
                return g.stay(data, g.say("commitments.variation.pick_kind"))
            return g.Turn({**data, "kind": got.arg, "step": "text"})
        if step == "text":
            if not text or len(text) > MAX_NOTE:
                return g.stay(data, g.say("commitments.new.bad_what", limit=MAX_NOTE))
            after = "due" if data["kind"] == "change" else "confirm"
            return g.Turn({**data, "text": text, "step": after})
        if step == "due":
            if got.action == "keep":
                return g.Turn({**data, "due": None, "step": "confirm"})
            return with_due(data, text, facts, then="confirm")
        return saved_or_dropped(self, data, got, "send", g.Effect("propose", dict(data)))

    def settle(self, data: g.Data, effect: g.Effect, outcome: g.Data) -> g.Turn:
        if not outcome.get("id"):
            return self.turn_away()
        return g.closed(g.say("commitments.variation.sent", id=outcome["id"]))
