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

from bot.domain import guided as g
from bot.domain.champions import ROLES

HOME, ROLE, SEAT, WHO, PICK, CONFIRM = "home", "role", "seat", "who", "pick", "confirm"
PROPOSE_ROLE, PROPOSE_WHO = "propose_role", "propose_who"
SET, HANDOVER, REMOVE = "set", "handover", "remove"
COORDINATING = (HOME, ROLE, SEAT, WHO, PICK, CONFIRM)


@g.guided(host="champions")
class ChampionsGuide(g.Guide):
    kind = command = "champions"
    # Leads who are not coordinators may propose: who may do what is checked at every step.
    role = "member"
    cancelled = "champions.closed"
    refusal = "champions.coordinators_only"
    first = HOME

    def start(self, args: str, facts: g.Data) -> g.Turn:
        if facts.get("coordinator"):
            return self.begin()
        if facts.get("lead_of"):
            return g.Turn({"step": PROPOSE_ROLE})
        return self.turn_away()

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        step = data["step"]
        if step == HOME:
            rows = [
                (
                    g.Button(g.label("champions.button_set"), SET),
                    g.Button(g.label("champions.button_handover"), HANDOVER),
                ),
                (
                    g.Button(g.label("champions.button_remove"), REMOVE),
                    g.Button(g.label("champions.button_done"), "done"),
                ),
            ]
            for seat, text in facts.get("proposals", ()):
                rows.append(
                    (
                        g.Button(
                            g.label("champions.button_accept", what=text), "accept", str(seat)
                        ),
                        g.Button(g.label("champions.button_decline"), "decline", str(seat)),
                    )
                )
            return (g.Say(exact=str(facts.get("register", "")), rows=tuple(rows)),)
        if step in (ROLE, PROPOSE_ROLE):
            roles = (g.Button(g.label(f"champions.role.{r}"), "role", r) for r in ROLES)
            return (g.ask("champions.choose_role", *roles),)
        if step == SEAT:
            seats = (g.Button(text, "seat", str(seat)) for seat, text in facts.get("seats", ()))
            return (g.ask("champions.choose_seat", *seats),)
        if step == WHO:
            return (g.say("champions.who"),)
        if step == PICK:
            found = [g.Button(text, "pick", str(m)) for m, text in facts.get("matches", ())]
            if not found:
                return (g.say("champions.no_match", text=data.get("query", "")),)
            return (g.ask("champions.choose_member", *found),)
        if step == CONFIRM:
            buttons = (
                g.Button(g.label("champions.button_confirm"), "confirm"),
                g.Button(g.label("champions.button_back"), "back"),
            )
            return (g.Say(exact=str(facts.get("summary", "")), rows=(buttons,)),)
        return (g.say("champions.propose_who", role=g.label(f"champions.role.{data['role']}")),)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        step = data["step"]
        if step in COORDINATING and not facts.get("coordinator"):
            return self.turn_away()
        if step in (PROPOSE_ROLE, PROPOSE_WHO) and not facts.get("lead_of"):
            return self.turn_away()
        if step == HOME:
            return self._home_step(data, got)
        if step == ROLE and got.action == "role" and got.arg in ROLES:
            return g.Turn({**data, "step": WHO, "role": got.arg})
        if step == PROPOSE_ROLE and got.action == "role" and got.arg in ROLES:
            return g.Turn({"step": PROPOSE_WHO, "role": got.arg})
        if step == PROPOSE_WHO and g.typed(got):
            return g.carry_out(g.Effect("propose", {"role": data["role"], "text": g.typed(got)}))
        if step == SEAT and got.action == "seat" and got.arg.isdigit():
            if data["purpose"] == REMOVE:
                return g.Turn({"step": HOME}, effect=g.Effect(REMOVE, {"seat": int(got.arg)}))
            return g.Turn({**data, "step": WHO, "seat": int(got.arg)})
        if step in (WHO, PICK) and not got.pressed and g.typed(got):
            return g.Turn({**data, "step": PICK, "query": g.typed(got)[:100]})
        if step == PICK and got.action == "pick" and got.arg.isdigit():
            if data["purpose"] == SET:
                params = {"member": int(got.arg), "role": data["role"]}
                return g.Turn({"step": HOME}, effect=g.Effect(SET, params))
            return g.Turn({**data, "step": CONFIRM, "successor": int(got.arg)})
        if step == CONFIRM and got.action == "confirm":
            params = {"seat": data["seat"], "successor": data["successor"]}
            return g.Turn({"step": HOME}, effect=g.Effect(HANDOVER, params))
        if step == CONFIRM and got.action == "back":
            return g.Turn({**data, "step": WHO})
        return g.stay(data, g.say("champions.usage"))

    def _home_step(self, data: g.Data, got: g.Input) -> g.Turn:
        if got.action == SET:
            return g.Turn({"step": ROLE, "purpose": SET})
        if got.action in (HANDOVER, REMOVE):
            return g.Turn({"step": SEAT, "purpose": got.action})
        if got.action in ("accept", "decline") and got.arg.isdigit():
            return g.Turn(data, effect=g.Effect(got.action, {"seat": int(got.arg)}))
        if got.action == "done":
            return self.cancel()
        return g.stay(data, g.say("champions.usage"))

    def settle(self, data: g.Data, effect: g.Effect, outcome: g.Data) -> g.Turn:
        """The host's outcome: what it `said`; back to the register, or closed after a lead's
        proposal."""
        said = g.said(outcome)
        if effect.name == "propose":
            return g.closed(said)
        return g.Turn({"step": HOME}, (said,))
