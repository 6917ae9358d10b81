"""A partner proposes a change to a commitment, or raises a dispute about it.

Started by a button of `/commitments` (its argument: the commitment's id): a change or a
dispute, the proposal in the member's words, for a change maybe a new due date, then a summary
to send. The partners concerned respond and a coordinator decides (`bot.services.commitments`).
Facts: `commitment` (its line, or None when it is gone), `today`.
"""

from __future__ import annotations

from datetime import date

from bot.domain.commitments import MAX_NOTE, VARIATION_KINDS, CommitmentError, parse_due
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
    typed,
)


@guided(host="commitment_variation")
class ProposeVariation:
    kind = "variation"
    command: str | None = None
    role: Role = "member"
    title = "guided.title.variation"
    cancelled = "commitments.variation.dropped"
    refusal = "commitments.variation.not_party"

    def start(self, args: str, facts: Data) -> Turn:
        if not args.strip().isdigit():
            return closed(say("commitments.gone"))
        return Turn({"step": "kind", "commitment": int(args.strip())})

    def step_of(self, data: Data) -> str:
        return str(data["step"])

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        step = data["step"]
        if step == "kind":
            kinds = tuple(
                Button(label(f"commitments.variation.kind.{k}"), "kind", k) for k in VARIATION_KINDS
            )
            return (
                say("commitments.variation.ask_kind", kinds, commitment=facts["commitment"] or "–"),
            )
        if step == "due":
            keep = (Button(label("commitments.variation.keep_due"), "keep"),)
            return (say("commitments.variation.ask_due", keep),)
        if step == "confirm":
            buttons = (
                Button(label("commitments.variation.send"), "send"),
                Button(label("commitments.new.drop"), "drop"),
            )
            return (
                say(
                    "commitments.variation.summary",
                    buttons,
                    kind=label(f"commitments.variation.kind.{data['kind']}"),
                    text=data["text"],
                    due=data.get("due") or "–",
                ),
            )
        return (say(f"commitments.variation.ask_text.{data['kind']}"),)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        step, text = data["step"], typed(got)
        if step == "kind":
            if got.action != "kind" or got.arg not in VARIATION_KINDS:
                return stay(data, say("commitments.variation.pick_kind"))
            return Turn({**data, "kind": got.arg, "step": "text"})
        if step == "text":
            if not text or len(text) > MAX_NOTE:
                return stay(data, say("commitments.new.bad_what", limit=MAX_NOTE))
            after = "due" if data["kind"] == "change" else "confirm"
            return Turn({**data, "text": text, "step": after})
        if step == "due":
            if got.action == "keep":
                return Turn({**data, "due": None, "step": "confirm"})
            today = facts["today"]
            assert isinstance(today, date)
            try:
                due = parse_due(text, today=today)
            except CommitmentError as exc:
                return stay(data, say(exc.key, **exc.params))
            return Turn({**data, "due": due.isoformat(), "step": "confirm"})
        if got.action == "send":
            return Turn(None, effect=Effect("propose", dict(data)), show=False)
        if got.action == "drop":
            return closed(say("commitments.variation.dropped"))
        return stay(data, say("commitments.new.save_or_drop"))

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        if not outcome.get("id"):
            return closed(say("commitments.variation.not_party"))
        return closed(say("commitments.variation.sent", id=outcome["id"]))
