"""/proxy: a coordinator records a questionnaire for someone without a phone (at a meeting).

A flow, then the person's stakeholder group, then their language (or skip); then the
questionnaire runs as the coordinator's own (outside this machine). `/proxy FLOW GROUP
[LANGUAGE]` starts at once. Facts: `flows` (flow id -> title key), `groups`, `locales`.
"""

from __future__ import annotations

from bot.domain import guided as g

NO_LANGUAGE = "-"


@g.guided(host="proxy")
class Proxy(g.Guide):
    kind = command = "proxy"
    cancelled = "proxy.dropped"
    refusal = "proxy.coordinators_only"
    first = "flow"

    def start(self, args: str, facts: g.Data) -> g.Turn:
        words = args.split()
        if not words:
            return self.begin()
        flow, group = words[0], words[1] if len(words) > 1 else ""
        return self._run(flow, group, words[2] if len(words) > 2 else NO_LANGUAGE, facts)

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        step = data["step"]
        if step == "flow":
            flows = (g.Button(g.label(t), "pick", f) for f, t in facts["flows"].items())
            return (g.ask("proxy.choose_flow", *flows),)
        if step == "group":
            groups = (g.Button(g.label(f"group.{c}"), "pick", c) for c in facts["groups"])
            return (g.ask("proxy.choose_group", *groups),)
        names = [g.Button(g.label(f"language.name.{c}"), "pick", c) for c in facts["locales"]]
        names.append(g.Button(g.label("proxy.language_skip"), "pick", NO_LANGUAGE))
        return (g.ask("proxy.choose_language", *names),)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        step, choice = data["step"], got.arg if got.action == "pick" else ""
        if step == "flow" and choice in facts["flows"]:
            return g.Turn({"step": "group", "flow": choice})
        if step == "group" and choice in facts["groups"]:
            return g.Turn({**data, "step": "language", "group": choice})
        if step == "language" and choice:
            return self._run(str(data["flow"]), str(data["group"]), choice, facts)
        return g.stay(data, g.say("proxy.usage"))

    def _run(self, flow: str, group: str, language: str, facts: g.Data) -> g.Turn:
        valid = (
            flow in facts["flows"]
            and group in facts["groups"]
            and (language == NO_LANGUAGE or language in facts["locales"])
        )
        if not valid:
            return g.closed(g.say("proxy.usage"))
        lang = None if language == NO_LANGUAGE else language
        return g.carry_out(g.Effect("begin", {"flow": flow, "group": group, "language": lang}))

    def settle(self, data: g.Data, effect: g.Effect, outcome: g.Data) -> g.Turn:
        """The host's outcome: whether the run `started`, and the questionnaire's first turn."""
        says = []
        if outcome.get("started"):
            p = effect.params
            language = g.label(f"language.name.{p['language']}") if p["language"] else "–"
            flow = g.label(str(outcome["title"]))
            says.append(
                g.say(
                    "proxy.started",
                    flow=flow,
                    group=g.label(f"group.{p['group']}"),
                    language=language,
                )
            )
        says.append(g.Say(engine=outcome.get("engine")))
        return g.closed(*says)
