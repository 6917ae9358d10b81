"""/propose: a proposal put to a committee or an audience of members: who, the question, the
options (agree / abstain / disagree / block, or the coordinator's own), when votes close, named
or anonymous, then a summary to confirm.

Facts: the audience picker's (see `audience`: `committees` among them), `timezone`, `now`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Self

from bot.domain import guided as g
from bot.domain.audiences import Audience
from bot.domain.decisions import DEFAULT_OPTIONS, DecisionError, clean_question, custom_options
from bot.domain.guides.audience import ask_audience, pick
from bot.domain.timing import BadDateTime, parse_local_datetime, zone

DAYS = (1, 3, 7)


@dataclass(frozen=True)
class Draft:
    step: str = "target"
    committee: int | None = None
    audience: Audience = Audience()
    question: str = ""
    options: tuple[str, ...] = ()  # none: the default four
    closes_at: str = ""  # ISO, UTC
    anonymous: bool = False

    def with_audience(self, audience: Audience) -> Self:
        return replace(self, audience=audience)

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "committee": self.committee,
            "audience": self.audience.to_json(),
            "question": self.question,
            "options": list(self.options),
            "closes_at": self.closes_at,
            "anonymous": self.anonymous,
        }

    @classmethod
    def from_json(cls, data: g.Data) -> Draft:
        return cls(
            step=str(data.get("step", "target")),
            committee=data.get("committee"),
            audience=Audience.from_json(data.get("audience") or {}),
            question=str(data.get("question", "")),
            options=tuple(data.get("options") or ()),
            closes_at=str(data.get("closes_at", "")),
            anonymous=bool(data.get("anonymous")),
        )


@g.guided(host="decisions")
class Propose(g.Guide):
    kind = command = "propose"
    cancelled = "decisions.cancelled"
    refusal = "decisions.coordinators_only"
    first = "target"

    def start(self, args: str, facts: g.Data) -> g.Turn:
        return g.Turn(Draft().to_json())

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        draft = Draft.from_json(data)
        step = draft.step
        if step == "target":
            committees = [
                g.Button(g.label("decisions.committee", name=name), "committee", str(i))
                for i, name in facts["committees"]
            ]
            members = g.Button(g.label("decisions.to_members"), "members")
            return (g.ask("decisions.ask_target", *committees, members),)
        if step == "audience":
            return (ask_audience("decisions", draft.audience, facts),)
        if step == "question":
            return (g.say("decisions.ask_question"),)
        if step == "options":
            default = g.Button(g.label("decisions.default_options"), "default")
            own = g.Button(g.label("decisions.own_options"), "custom")
            return (g.ask("decisions.ask_options", default, own),)
        if step == "custom":
            return (g.say("decisions.ask_custom"),)
        if step == "closes":
            days = [g.Button(g.label("decisions.in_days", days=n), "days", str(n)) for n in DAYS]
            return (g.ask("decisions.ask_closes", *days, tz=facts["timezone"]),)
        if step == "mode":
            named = g.Button(g.label("decisions.named_button"), "named")
            anonymous = g.Button(g.label("decisions.anonymous_button"), "anonymous")
            return (g.ask("decisions.ask_mode", named, anonymous),)
        options: tuple[g.Label | str, ...] = draft.options or tuple(
            g.label(f"decisions.option.{o}") for o in DEFAULT_OPTIONS
        )
        return (
            g.say(
                "decisions.summary",
                *g.confirm_or_cancel("decisions.confirm", "decisions.cancel"),
                question=draft.question,
                options=options,
                closes=facts.get("closes", ""),
                how=g.label("decisions.anonymous" if draft.anonymous else "decisions.named"),
                count=facts["audience_size"],
            ),
        )

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        draft = Draft.from_json(data)
        if got.pressed:
            return self._press(draft, got, facts)
        text = g.typed(got)
        try:
            if draft.step == "question" and text:
                return g.Turn(
                    replace(draft, step="options", question=clean_question(text)).to_json()
                )
            if draft.step == "custom" and text:
                return g.Turn(replace(draft, step="closes", options=custom_options(text)).to_json())
        except DecisionError as exc:
            return g.stay(data, g.say(f"decisions.error.{exc.code}"))
        if draft.step == "closes" and text:
            tz = facts["timezone"]
            try:
                moment = parse_local_datetime(text, zone(None, tz), facts["now"])
            except BadDateTime as exc:
                return g.stay(data, g.say(f"broadcast.bad_time.{exc.args[0]}", tz=tz))
            return g.Turn(replace(draft, step="mode", closes_at=moment.isoformat()).to_json())
        return g.Turn(data, (g.say("decisions.use_buttons"),))

    def _press(self, draft: Draft, got: g.Input, facts: g.Data) -> g.Turn:
        step, action = draft.step, got.action
        if step == "target" and action == "committee" and got.arg.isdigit():
            committee = int(got.arg)
            audience = Audience(committees=(committee,))
            return g.Turn(
                replace(draft, step="question", committee=committee, audience=audience).to_json()
            )
        if step == "target" and action == "members":
            return g.Turn(replace(draft, step="audience").to_json())
        if step == "audience":
            if (ticked := pick(draft, got, facts)) is not None:
                return ticked
            return g.Turn(replace(draft, step="question").to_json())
        if step == "options" and action in ("default", "custom"):
            following = "closes" if action == "default" else "custom"
            return g.Turn(replace(draft, step=following, options=()).to_json())
        if step == "closes" and action == "days" and got.arg.isdigit():
            now: datetime = facts["now"]
            moment = now + timedelta(days=int(got.arg))
            return g.Turn(replace(draft, step="mode", closes_at=moment.isoformat()).to_json())
        if step == "mode" and action in ("named", "anonymous"):
            chosen = replace(draft, step="confirm", anonymous=action == "anonymous")
            return g.Turn(chosen.to_json())
        if step == "confirm":
            return self.confirmed(action == "send", g.Effect("propose", draft.to_json()))
        return g.Turn(draft.to_json(), (g.say("decisions.use_buttons"),))


@g.guided(host="decisions")
class Decide(g.Guide):
    """/decide <id>: the outcome statement of a closed proposal, then it goes out."""

    kind = command = "decide"
    cancelled = "decisions.cancelled"
    refusal = "decisions.coordinators_only"
    first = "statement"

    def start(self, args: str, facts: g.Data) -> g.Turn:
        ref = args.strip().lstrip("#").lstrip("Dd")
        if not ref.isdigit():
            return g.closed(g.say("decisions.decide_usage"))
        return self.begin(decision=int(ref))

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        return (g.say("decisions.ask_statement", id=data["decision"]),)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        text = g.typed(got)
        if not text:
            return g.stay(data, g.say("decisions.error.statement_blank"))
        params = {"decision": data["decision"], "statement": text}
        return g.carry_out(g.Effect("decide", params))
