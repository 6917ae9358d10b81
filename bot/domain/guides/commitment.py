"""/new_commitment: a coordinator records a commitment, step by step.

Who (an organisation, picked or typed; then one person of it or the organisation as a whole),
what, by when (YYYY-MM-DD), for whom, and the agreement or clause it comes from (or none); then
a summary to save. Facts: `organisations` (names), `people` ((member id, name) of the owner
organisation), `today` (a date).
"""

from __future__ import annotations

from datetime import date

from bot.domain.commitments import MAX_PARTY, MAX_SOURCE, MAX_WHAT, CommitmentError, parse_due
from bot.domain.guided import (
    Button,
    Data,
    Effect,
    Input,
    Role,
    Say,
    Turn,
    closed,
    column,
    guided,
    label,
    say,
    stay,
    typed,
)

WHOLE = "0"


@guided(host="new_commitment")
class NewCommitment:
    kind = "commitment"
    command: str | None = "new_commitment"
    role: Role = "coordinator"
    title = "guided.title.commitment"
    cancelled = "commitments.new.dropped"
    refusal = "commitments.coordinators_only"

    def start(self, args: str, facts: Data) -> Turn:
        return Turn({"step": "owner"})

    def step_of(self, data: Data) -> str:
        return str(data["step"])

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        step = data["step"]
        if step in ("owner", "beneficiary"):
            picks = (Button(name, "pick", str(n)) for n, name in enumerate(facts["organisations"]))
            return (say(f"commitments.new.ask.{step}", *column(*picks)),)
        if step == "person":
            people = [Button(name, "pick", str(i)) for i, name in facts["people"]]
            people.append(Button(label("commitments.new.whole"), "pick", WHOLE))
            return (say("commitments.new.ask.person", *column(*people), owner=data["owner"]),)
        if step == "source":
            return (
                say(
                    "commitments.new.ask.source",
                    (Button(label("commitments.new.no_source"), "none"),),
                ),
            )
        if step == "confirm":
            buttons = (
                Button(label("commitments.new.save"), "save"),
                Button(label("commitments.new.drop"), "drop"),
            )
            return (
                say(
                    "commitments.new.summary",
                    buttons,
                    owner=data["owner"],
                    person=data.get("person_name") or label("commitments.new.whole"),
                    what=data["what"],
                    due=data["due"],
                    beneficiary=data["beneficiary"],
                    source=data.get("source") or "–",
                ),
            )
        return (say(f"commitments.new.ask.{step}"),)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        step, text = data["step"], typed(got)
        if step in ("owner", "beneficiary"):
            name = _picked(got, facts["organisations"]) or text
            if not name or len(name) > MAX_PARTY:
                return stay(data, say("commitments.new.bad_name", limit=MAX_PARTY))
            after = "person" if step == "owner" else "source"
            return Turn({**data, step: name, "step": after})
        if step == "person":
            people = {str(i): name for i, name in facts["people"]}
            if got.action != "pick" or (got.arg != WHOLE and got.arg not in people):
                return stay(data, say("commitments.new.pick_person"))
            person = None if got.arg == WHOLE else int(got.arg)
            return Turn(
                {**data, "person": person, "person_name": people.get(got.arg), "step": "what"}
            )
        if step == "what":
            if not text or len(text) > MAX_WHAT:
                return stay(data, say("commitments.new.bad_what", limit=MAX_WHAT))
            return Turn({**data, "what": text, "step": "due"})
        if step == "due":
            today = facts["today"]
            assert isinstance(today, date)
            try:
                due = parse_due(text, today=today)
            except CommitmentError as exc:
                return stay(data, say(exc.key, **exc.params))
            return Turn({**data, "due": due.isoformat(), "step": "beneficiary"})
        if step == "source":
            if got.action == "none":
                return Turn({**data, "source": "", "step": "confirm"})
            if not text or len(text) > MAX_SOURCE:
                return stay(data, say("commitments.new.bad_source", limit=MAX_SOURCE))
            return Turn({**data, "source": text, "step": "confirm"})
        if got.action == "save":
            return Turn(None, effect=Effect("create", dict(data)), show=False)
        if got.action == "drop":
            return closed(say("commitments.new.dropped"))
        return stay(data, say("commitments.new.save_or_drop"))

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        if "error" in outcome:
            key, params = outcome["error"]
            return closed(say(key, **params))
        return closed(say("commitments.new.saved", id=outcome["id"]))


def _picked(got: Input, names: tuple[str, ...] | list[str]) -> str | None:
    if got.action != "pick" or not got.arg.isdigit() or int(got.arg) >= len(names):
        return None
    return names[int(got.arg)]
