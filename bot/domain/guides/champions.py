"""/champions: the register of key people (each organisation's lead and deputy).

A coordinator sees the register with each key person's activity and, from there, names a key
person (a role, then a member found by name or Telegram id), hands a seat over to a successor
(confirming what moves), removes a seat, or confirms or turns down a lead's proposal. A lead
who is not a coordinator may only propose a member of their organisation for a seat.

Facts: `coordinator`, `lead_of` (the organisation the member leads, or None), `register` (the
register as a coordinator reads it), `seats` and `proposals` ((seat id, label) pairs), `matches`
((member id, label) pairs for the typed `query`), `summary` (the handover to confirm).
"""

from __future__ import annotations

from bot.domain.champions import ROLES
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

HOME, ROLE, SEAT, WHO, PICK, CONFIRM = "home", "role", "seat", "who", "pick", "confirm"
PROPOSE_ROLE, PROPOSE_WHO = "propose_role", "propose_who"
SET, HANDOVER, REMOVE = "set", "handover", "remove"
COORDINATING = (HOME, ROLE, SEAT, WHO, PICK, CONFIRM)


def _home() -> Turn:
    return Turn({"step": HOME})


@guided(host="champions")
class ChampionsGuide:
    kind = "champions"
    command: str | None = "champions"
    # Leads who are not coordinators may propose: who may do what is checked at every step.
    role: Role = "member"
    title = "guided.title.champions"
    cancelled = "champions.closed"
    refusal = "champions.coordinators_only"

    def start(self, args: str, facts: Data) -> Turn:
        if facts.get("coordinator"):
            return _home()
        if facts.get("lead_of"):
            return Turn({"step": PROPOSE_ROLE})
        return closed(say(self.refusal))

    def step_of(self, data: Data) -> str:
        return str(data["step"])

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        step = data["step"]
        if step == HOME:
            rows = [
                (
                    Button(label("champions.button_set"), SET),
                    Button(label("champions.button_handover"), HANDOVER),
                ),
                (
                    Button(label("champions.button_remove"), REMOVE),
                    Button(label("champions.button_done"), "done"),
                ),
            ]
            for seat, text in facts.get("proposals", ()):
                rows.append(
                    (
                        Button(label("champions.button_accept", what=text), "accept", str(seat)),
                        Button(label("champions.button_decline"), "decline", str(seat)),
                    )
                )
            return (Say(exact=str(facts.get("register", "")), rows=tuple(rows)),)
        if step in (ROLE, PROPOSE_ROLE):
            roles = (Button(label(f"champions.role.{r}"), "role", r) for r in ROLES)
            return (say("champions.choose_role", *column(*roles)),)
        if step == SEAT:
            seats = (Button(text, "seat", str(seat)) for seat, text in facts.get("seats", ()))
            return (say("champions.choose_seat", *column(*seats)),)
        if step == WHO:
            return (say("champions.who"),)
        if step == PICK:
            found = [Button(text, "pick", str(m)) for m, text in facts.get("matches", ())]
            if not found:
                return (say("champions.no_match", text=data.get("query", "")),)
            return (say("champions.choose_member", *column(*found)),)
        if step == CONFIRM:
            buttons = (
                Button(label("champions.button_confirm"), "confirm"),
                Button(label("champions.button_back"), "back"),
            )
            return (Say(exact=str(facts.get("summary", "")), rows=(buttons,)),)
        return (say("champions.propose_who", role=label(f"champions.role.{data['role']}")),)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        step = data["step"]
        if step in COORDINATING and not facts.get("coordinator"):
            return closed(say(self.refusal))
        if step in (PROPOSE_ROLE, PROPOSE_WHO) and not facts.get("lead_of"):
            return closed(say(self.refusal))
        if step == HOME:
            return self._home_step(data, got)
        if step == ROLE and got.action == "role" and got.arg in ROLES:
            return Turn({**data, "step": WHO, "role": got.arg})
        if step == PROPOSE_ROLE and got.action == "role" and got.arg in ROLES:
            return Turn({"step": PROPOSE_WHO, "role": got.arg})
        if step == PROPOSE_WHO and typed(got):
            return Turn(None, effect=Effect("propose", {"role": data["role"], "text": typed(got)}))
        if step == SEAT and got.action == "seat" and got.arg.isdigit():
            if data["purpose"] == REMOVE:
                return Turn(_home().data, effect=Effect(REMOVE, {"seat": int(got.arg)}))
            return Turn({**data, "step": WHO, "seat": int(got.arg)})
        if step in (WHO, PICK) and not got.pressed and typed(got):
            return Turn({**data, "step": PICK, "query": typed(got)[:100]})
        if step == PICK and got.action == "pick" and got.arg.isdigit():
            if data["purpose"] == SET:
                params = {"member": int(got.arg), "role": data["role"]}
                return Turn(_home().data, effect=Effect(SET, params))
            return Turn({**data, "step": CONFIRM, "successor": int(got.arg)})
        if step == CONFIRM and got.action == "confirm":
            params = {"seat": data["seat"], "successor": data["successor"]}
            return Turn(_home().data, effect=Effect(HANDOVER, params))
        if step == CONFIRM and got.action == "back":
            return Turn({**data, "step": WHO})
        return stay(data, say("champions.usage"))

    def _home_step(self, data: Data, got: Input) -> Turn:
        if got.action == SET:
            return Turn({"step": ROLE, "purpose": SET})
        if got.action in (HANDOVER, REMOVE):
            return Turn({"step": SEAT, "purpose": got.action})
        if got.action in ("accept", "decline") and got.arg.isdigit():
            return Turn(data, effect=Effect(got.action, {"seat": int(got.arg)}))
        if got.action == "done":
            return closed(say("champions.closed"))
        return stay(data, say("champions.usage"))

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """The host's outcome: what to say (`said`, `params`); back to the register, or closed
        after a lead's proposal."""
        said = say(str(outcome["said"]), **dict(outcome.get("params", {})))
        if effect.name == "propose":
            return closed(said)
        return Turn(_home().data, (said,))
