"""/new_commitment: a coordinator records a commitment, step by step.

Who (an organisation, picked or typed; then one person of it or the organisation as a whole),
what, by when (YYYY-MM-DD), for whom, and the agreement or clause it comes from (or none); then
a summary to save. Facts: `organisations` (names), `people` ((member id, name) of the owner
organisation), `today` (a date).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.domain import guided as g
from bot.domain.commitments import MAX_PARTY, MAX_SOURCE, MAX_WHAT, CommitmentError, parse_due

WHOLE, DROP = "0", "drop"


@g.guided(host="new_commitment")
class NewCommitment(g.Guide):
    kind = "commitment"
    command = "new_commitment"
    cancelled = "commitments.new.dropped"
    refusal = "commitments.coordinators_only"
    first = "owner"

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        step = data["step"]
        if step in ("owner", "beneficiary"):
            picks = (
                g.Button(name, "pick", str(n)) for n, name in enumerate(facts["organisations"])
            )
            return (g.ask(f"commitments.new.ask.{step}", *picks),)
        if step == "person":
            people = [g.Button(name, "pick", str(i)) for i, name in facts["people"]]
            people.append(g.Button(g.label("commitments.new.whole"), "pick", WHOLE))
            return (g.ask("commitments.new.ask.person", *people, owner=data["owner"]),)
        if step == "source":
            return (
                g.say(
                    "commitments.new.ask.source",
                    (g.Button(g.label("commitments.new.no_source"), "none"),),
                ),
            )
        if step == "confirm":
            return (
                summary(
                    "commitments.new.summary",
                    g.Button(g.label("commitments.new.save"), "save"),
                    owner=data["owner"],
                    person=data.get("person_name") or g.label("commitments.new.whole"),
                    what=data["what"],
                    due=data["due"],
                    beneficiary=data["beneficiary"],
                    source=data.get("source") or "–",
                ),
            )
        return (g.say(f"commitments.new.ask.{step}"),)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        step, text = data["step"], g.typed(got)
        if step in ("owner", "beneficiary"):
            name = _picked(got, facts["organisations"]) or text
            if not name or len(name) > MAX_PARTY:
                return g.stay(data, g.say("commitments.new.bad_name", limit=MAX_PARTY))
            after = "person" if step == "owner" else "source"
            return g.Turn({**data, step: name, "step": after})
        if step == "person":
            people = {str(i): name for i, name in facts["people"]}
            if got.action != "pick" or (got.arg != WHOLE and got.arg not in people):
                return g.stay(data, g.say("commitments.new.pick_person"))
            person = None if got.arg == WHOLE else int(got.arg)
            return g.Turn(
                {**data, "person": person, "person_name": people.get(got.arg), "step": "what"}
            )
        if step == "what":
            if not text or len(text) > MAX_WHAT:
                return g.stay(data, g.say("commitments.new.bad_what", limit=MAX_WHAT))
            return g.Turn({**data, "what": text, "step": "due"})
        if step == "due":
            return with_due(data, text, facts, then="beneficiary")
        if step == "source":
            if got.action == "none":
                return g.Turn({**data, "source": "", "step": "confirm"})
            if not text or len(text) > MAX_SOURCE:
                return g.stay(data, g.say("commitments.new.bad_source", limit=MAX_SOURCE))
            return g.Turn({**data, "source": text, "step": "confirm"})
        return saved_or_dropped(self, data, got, "save", g.Effect("create", dict(data)))

    def settle(self, data: g.Data, effect: g.Effect, outcome: g.Data) -> g.Turn:
        if "error" in outcome:
            key, params = outcome["error"]
            return g.closed(g.say(key, **params))
        return g.closed(g.say("commitments.new.saved", id=outcome["id"]))


def with_due(data: g.Data, text: str, facts: g.Data, *, then: str) -> g.Turn:
    """The typed due date kept, going on to the step `then`; or why it does not fit."""
    today = facts["today"]
    assert isinstance(today, date)
    try:
        due = parse_due(text, today=today)
    except CommitmentError as exc:
        return g.stay(data, g.say(exc.key, **exc.params))
    return g.Turn({**data, "due": due.isoformat(), "step": then})


def summary(key: str, save: g.Button, **params: Any) -> g.Say:
    """A draft summed up, with its buttons in a row: `save` (or send) and drop."""
    return g.say(key, (save, g.Button(g.label("commitments.new.drop"), DROP)), **params)


def saved_or_dropped(
    guide: g.Guide, data: g.Data, got: g.Input, save: str, effect: g.Effect
) -> g.Turn:
    """The answer to a `summary`: `save` carries out `effect`, drop cancels; else it waits."""
    if got.action in (save, DROP):
        return guide.confirmed(got.action == save, effect)
    return g.stay(data, g.say("commitments.new.save_or_drop"))


def _picked(got: g.Input, names: tuple[str, ...] | list[str]) -> str | None:
    if got.action != "pick" or not got.arg.isdigit() or int(got.arg) >= len(names):
        return None
    return names[int(got.arg)]
