"""/caucus: open a stakeholder group's own round, share its results with that group, close it
(the brief goes to the committee), or send a committee the joint brief of its closed rounds.

Facts: `groups`, `committees` ((id, name) pairs), `rounds` (each {id, group, status}),
`joint` ((committee id, name) pairs with closed rounds awaiting a joint brief), `invited`
(how many members the chosen group has).
"""

from __future__ import annotations

from bot.domain import guided as g
from bot.domain.caucus import OPEN, SHARED, TOPIC_LENGTH

# What each action asks to confirm.
CONFIRM = {
    "open": "caucus.confirm_open",
    "share": "caucus.confirm_share",
    "close": "caucus.confirm_close",
    "joint": "caucus.confirm_joint",
}


def _group(name: object) -> object:
    return g.label(f"group.{name}")


@g.guided(host="caucus")
class CaucusRounds(g.Guide):
    kind = command = "caucus"
    cancelled = "caucus.cancelled"
    refusal = "caucus.coordinators_only"
    first = "menu"

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        step = data["step"]
        if step == "menu":
            return (g.ask("caucus.menu", *self._menu(facts)),)
        if step == "group":
            groups = (g.Button(_group(c), "pick", c) for c in facts["groups"])  # type: ignore[arg-type]
            return (g.ask("caucus.ask_group", *groups),)
        if step == "committee":
            forums = (g.Button(n, "pick", str(i)) for i, n in facts["committees"])
            return (g.ask("caucus.ask_committee", *forums),)
        if step == "topic":
            return (g.say("caucus.ask_topic", max=TOPIC_LENGTH),)
        buttons = g.confirm_or_cancel("caucus.button.confirm", "caucus.button.cancel", "confirm")
        return (g.say(CONFIRM[str(data["action"])], *buttons, **self._about(data, facts)),)

    def _menu(self, facts: g.Data) -> list[g.Button]:
        buttons = [g.Button(g.label("caucus.button.open"), "open")]
        for r in facts["rounds"]:
            about = {"id": r["id"], "group": _group(r["group"])}
            if r["status"] == OPEN:
                buttons.append(
                    g.Button(g.label("caucus.button.share", **about), "share", str(r["id"]))
                )
            elif r["status"] == SHARED:
                buttons.append(
                    g.Button(g.label("caucus.button.close", **about), "close", str(r["id"]))
                )
        for committee_id, name in facts["joint"]:
            buttons.append(
                g.Button(g.label("caucus.button.joint", committee=name), "joint", str(committee_id))
            )
        return buttons

    def _about(self, data: g.Data, facts: g.Data) -> dict[str, object]:
        """What the confirmation names: the round, its group and committee, the topic."""
        names = dict(facts["committees"]) | dict(facts["joint"])
        found = {
            "committee": names.get(int(data.get("committee") or 0), "?"),
            "topic": data.get("topic", ""),
            "count": facts.get("invited", 0),
            "id": data.get("round", ""),
        }
        group = data.get("group") or next(
            (r["group"] for r in facts["rounds"] if str(r["id"]) == str(data.get("round"))), None
        )
        found["group"] = _group(group) if group else "?"
        return found

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        step, action, arg = data["step"], got.action, got.arg
        if step == "menu" and action == "open":
            return g.Turn({"step": "group", "action": "open"})
        if step == "menu" and action in ("share", "close") and arg:
            return g.Turn({"step": "confirm", "action": action, "round": int(arg)})
        if step == "menu" and action == "joint" and arg:
            return g.Turn({"step": "confirm", "action": "joint", "committee": int(arg)})
        if step == "group" and action == "pick" and arg in facts["groups"]:
            if not facts["committees"]:
                return g.closed(g.say("caucus.no_committee"))
            return g.Turn({**data, "step": "committee", "group": arg})
        if step == "committee" and action == "pick" and arg.isdigit():
            return g.Turn({**data, "step": "topic", "committee": int(arg)})
        if step == "topic" and not got.pressed:
            topic = " ".join(g.typed(got).split())
            if not topic or len(topic) > TOPIC_LENGTH:
                return g.stay(data, g.say("caucus.error.topic", max=TOPIC_LENGTH))
            return g.Turn({**data, "step": "confirm", "topic": topic})
        if step == "confirm" and action in ("confirm", "cancel"):
            params = {k: v for k, v in data.items() if k != "step"}
            return self.confirmed(action == "confirm", g.Effect(str(data["action"]), params))
        return g.Turn(data, (g.say("caucus.use_buttons"),))
