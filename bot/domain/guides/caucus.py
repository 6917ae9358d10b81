"""/caucus: open a stakeholder group's own round, share its results with that group, close it
(the brief goes to the committee), or send a committee the joint brief of its closed rounds.

Facts: `groups`, `committees` ((id, name) pairs), `rounds` (each {id, group, status}),
`joint` ((committee id, name) pairs with closed rounds awaiting a joint brief), `invited`
(how many members the chosen group has).
"""

from __future__ import annotations

from bot.domain.caucus import OPEN, SHARED, TOPIC_LENGTH
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

# What each action asks to confirm.
CONFIRM = {
    "open": "caucus.confirm_open",
    "share": "caucus.confirm_share",
    "close": "caucus.confirm_close",
    "joint": "caucus.confirm_joint",
}


def _group(name: object) -> object:
    return label(f"group.{name}")


@guided(host="caucus")
class CaucusRounds:
    kind = "caucus"
    command: str | None = "caucus"
    role: Role = "coordinator"
    title = "guided.title.caucus"
    cancelled = "caucus.cancelled"
    refusal = "caucus.coordinators_only"

    def start(self, args: str, facts: Data) -> Turn:
        return Turn({"step": "menu"})

    def step_of(self, data: Data) -> str:
        return str(data["step"])

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        step = data["step"]
        if step == "menu":
            return (say("caucus.menu", *column(*self._menu(facts))),)
        if step == "group":
            groups = (Button(_group(g), "pick", g) for g in facts["groups"])  # type: ignore[arg-type]
            return (say("caucus.ask_group", *column(*groups)),)
        if step == "committee":
            forums = (Button(n, "pick", str(i)) for i, n in facts["committees"])
            return (say("caucus.ask_committee", *column(*forums)),)
        if step == "topic":
            return (say("caucus.ask_topic", max=TOPIC_LENGTH),)
        confirm = Button(label("caucus.button.confirm", "✔"), "confirm")
        cancel = Button(label("caucus.button.cancel"), "cancel")
        return (
            say(
                CONFIRM[str(data["action"])],
                *column(confirm, cancel),
                **self._about(data, facts),
            ),
        )

    def _menu(self, facts: Data) -> list[Button]:
        buttons = [Button(label("caucus.button.open"), "open")]
        for r in facts["rounds"]:
            about = {"id": r["id"], "group": _group(r["group"])}
            if r["status"] == OPEN:
                buttons.append(Button(label("caucus.button.share", **about), "share", str(r["id"])))
            elif r["status"] == SHARED:
                buttons.append(Button(label("caucus.button.close", **about), "close", str(r["id"])))
        for committee_id, name in facts["joint"]:
            buttons.append(
                Button(label("caucus.button.joint", committee=name), "joint", str(committee_id))
            )
        return buttons

    def _about(self, data: Data, facts: Data) -> dict[str, object]:
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

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        step, action, arg = data["step"], got.action, got.arg
        if step == "menu" and action == "open":
            return Turn({"step": "group", "action": "open"})
        if step == "menu" and action in ("share", "close") and arg:
            return Turn({"step": "confirm", "action": action, "round": int(arg)})
        if step == "menu" and action == "joint" and arg:
            return Turn({"step": "confirm", "action": "joint", "committee": int(arg)})
        if step == "group" and action == "pick" and arg in facts["groups"]:
            if not facts["committees"]:
                return closed(say("caucus.no_committee"))
            return Turn({**data, "step": "committee", "group": arg})
        if step == "committee" and action == "pick" and arg.isdigit():
            return Turn({**data, "step": "topic", "committee": int(arg)})
        if step == "topic" and not got.pressed:
            topic = " ".join(typed(got).split())
            if not topic or len(topic) > TOPIC_LENGTH:
                return stay(data, say("caucus.error.topic", max=TOPIC_LENGTH))
            return Turn({**data, "step": "confirm", "topic": topic})
        if step == "confirm" and action == "confirm":
            params = {k: v for k, v in data.items() if k != "step"}
            return Turn(None, effect=Effect(str(data["action"]), params), show=False)
        if step == "confirm" and action == "cancel":
            return closed(say("caucus.cancelled"))
        return Turn(data, (say("caucus.use_buttons"),))

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """The host's outcome: the key it `said`, with its `params`."""
        return closed(say(str(outcome["said"]), **outcome.get("params", {})))
