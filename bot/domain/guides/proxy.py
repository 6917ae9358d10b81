"""/proxy: a coordinator records a questionnaire for someone without a phone (at a meeting).

A flow, then the person's stakeholder group, then their language (or skip); then the
questionnaire runs as the coordinator's own (outside this machine). `/proxy FLOW GROUP
[LANGUAGE]` starts at once. Facts: `flows` (flow id -> title key), `groups`, `locales`.
"""

from __future__ import annotations

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
)

NO_LANGUAGE = "-"


@guided(host="proxy")
class Proxy:
    kind = "proxy"
    command: str | None = "proxy"
    role: Role = "coordinator"
    title = "guided.title.proxy"
    cancelled = "proxy.dropped"
    refusal = "proxy.coordinators_only"

    def start(self, args: str, facts: Data) -> Turn:
        words = args.split()
        if not words:
            return Turn({"step": "flow"})
        flow, group = words[0], words[1] if len(words) > 1 else ""
        return self._begin(flow, group, words[2] if len(words) > 2 else NO_LANGUAGE, facts)

    def step_of(self, data: Data) -> str:
        return str(data["step"])

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        step = data["step"]
        if step == "flow":
            flows = facts["flows"].items()
            return (
                say("proxy.choose_flow", *column(*(Button(label(t), "pick", f) for f, t in flows))),
            )
        if step == "group":
            groups = (Button(label(f"group.{g}"), "pick", g) for g in facts["groups"])
            return (say("proxy.choose_group", *column(*groups)),)
        names = [Button(label(f"language.name.{c}"), "pick", c) for c in facts["locales"]]
        names.append(Button(label("proxy.language_skip"), "pick", NO_LANGUAGE))
        return (say("proxy.choose_language", *column(*names)),)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        step, choice = data["step"], got.arg if got.action == "pick" else ""
        if step == "flow" and choice in facts["flows"]:
            return Turn({"step": "group", "flow": choice})
        if step == "group" and choice in facts["groups"]:
            return Turn({**data, "step": "language", "group": choice})
        if step == "language" and choice:
            return self._begin(str(data["flow"]), str(data["group"]), choice, facts)
        return stay(data, say("proxy.usage"))

    def _begin(self, flow: str, group: str, language: str, facts: Data) -> Turn:
        valid = (
            flow in facts["flows"]
            and group in facts["groups"]
            and (language == NO_LANGUAGE or language in facts["locales"])
        )
        if not valid:
            return closed(say("proxy.usage"))
        lang = None if language == NO_LANGUAGE else language
        return Turn(None, effect=Effect("begin", {"flow": flow, "group": group, "language": lang}))

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """The host's outcome: whether the run `started`, and the questionnaire's first turn."""
        says = []
        if outcome.get("started"):
            p = effect.params
            language = label(f"language.name.{p['language']}") if p["language"] else "–"
            flow = label(str(outcome["title"]))
            says.append(
                say(
                    "proxy.started",
                    flow=flow,
                    group=label(f"group.{p['group']}"),
                    language=language,
                )
            )
        says.append(Say(engine=outcome.get("engine")))
        return closed(*says)
