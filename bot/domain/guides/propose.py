"""/propose: a proposal put to a committee or an audience of members: who, the question, the
options (agree / abstain / disagree / block, or the coordinator's own), when votes close, named
or anonymous, then a summary to confirm.

Facts: the audience picker's (see `audience`: `committees` among them), `timezone`, `now`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Self

from bot.domain.audiences import Audience
from bot.domain.decisions import DEFAULT_OPTIONS, DecisionError, clean_question, custom_options
from bot.domain.guided import (
    Button,
    Data,
    Effect,
    Input,
    Label,
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
    def from_json(cls, data: Data) -> Draft:
        return cls(
            step=str(data.get("step", "target")),
            committee=data.get("committee"),
            audience=Audience.from_json(data.get("audience") or {}),
            question=str(data.get("question", "")),
            options=tuple(data.get("options") or ()),
            closes_at=str(data.get("closes_at", "")),
            anonymous=bool(data.get("anonymous")),
        )


@guided(host="decisions")
class Propose:
    kind = "propose"
    command: str | None = "propose"
    role: Role = "coordinator"
    title = "guided.title.propose"
    cancelled = "decisions.cancelled"
    refusal = "decisions.coordinators_only"

    def start(self, args: str, facts: Data) -> Turn:
        return Turn(Draft().to_json())

    def step_of(self, data: Data) -> str:
        return str(data.get("step", "target"))

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        draft = Draft.from_json(data)
        step = draft.step
        if step == "target":
            committees = [
                Button(label("decisions.committee", name=name), "committee", str(i))
                for i, name in facts["committees"]
            ]
            members = Button(label("decisions.to_members"), "members")
            return (say("decisions.ask_target", *column(*committees, members)),)
        if step == "audience":
            return (ask_audience("decisions", draft.audience, facts),)
        if step == "question":
            return (say("decisions.ask_question"),)
        if step == "options":
            default = Button(label("decisions.default_options"), "default")
            own = Button(label("decisions.own_options"), "custom")
            return (say("decisions.ask_options", *column(default, own)),)
        if step == "custom":
            return (say("decisions.ask_custom"),)
        if step == "closes":
            days = [Button(label("decisions.in_days", days=n), "days", str(n)) for n in DAYS]
            return (say("decisions.ask_closes", *column(*days), tz=facts["timezone"]),)
        if step == "mode":
            named = Button(label("decisions.named_button"), "named")
            anonymous = Button(label("decisions.anonymous_button"), "anonymous")
            return (say("decisions.ask_mode", *column(named, anonymous)),)
        confirm = Button(label("decisions.confirm", "✔"), "send")
        cancel = Button(label("decisions.cancel"), "cancel")
        options: tuple[Label | str, ...] = draft.options or tuple(
            label(f"decisions.option.{o}") for o in DEFAULT_OPTIONS
        )
        return (
            say(
                "decisions.summary",
                *column(confirm, cancel),
                question=draft.question,
                options=options,
                closes=facts.get("closes", ""),
                how=label("decisions.anonymous" if draft.anonymous else "decisions.named"),
                count=facts["audience_size"],
            ),
        )

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        draft = Draft.from_json(data)
        if got.pressed:
            return self._press(draft, got, facts)
        text = typed(got)
        try:
            if draft.step == "question" and text:
                return Turn(replace(draft, step="options", question=clean_question(text)).to_json())
            if draft.step == "custom" and text:
                return Turn(replace(draft, step="closes", options=custom_options(text)).to_json())
        except DecisionError as exc:
            return stay(data, say(f"decisions.error.{exc.code}"))
        if draft.step == "closes" and text:
            tz = facts["timezone"]
            try:
                moment = parse_local_datetime(text, zone(None, tz), facts["now"])
            except BadDateTime as exc:
                return stay(data, say(f"broadcast.bad_time.{exc.args[0]}", tz=tz))
            return Turn(replace(draft, step="mode", closes_at=moment.isoformat()).to_json())
        return Turn(data, (say("decisions.use_buttons"),))

    def _press(self, draft: Draft, got: Input, facts: Data) -> Turn:
        step, action = draft.step, got.action
        if step == "target" and action == "committee" and got.arg.isdigit():
            committee = int(got.arg)
            audience = Audience(committees=(committee,))
            return Turn(
                replace(draft, step="question", committee=committee, audience=audience).to_json()
            )
        if step == "target" and action == "members":
            return Turn(replace(draft, step="audience").to_json())
        if step == "audience":
            if (ticked := pick(draft, got, facts)) is not None:
                return ticked
            return Turn(replace(draft, step="question").to_json())
        if step == "options" and action in ("default", "custom"):
            following = "closes" if action == "default" else "custom"
            return Turn(replace(draft, step=following, options=()).to_json())
        if step == "closes" and action == "days" and got.arg.isdigit():
            now: datetime = facts["now"]
            moment = now + timedelta(days=int(got.arg))
            return Turn(replace(draft, step="mode", closes_at=moment.isoformat()).to_json())
        if step == "mode" and action in ("named", "anonymous"):
            chosen = replace(draft, step="confirm", anonymous=action == "anonymous")
            return Turn(chosen.to_json())
        if step == "confirm" and action == "send":
            return Turn(None, effect=Effect("propose", draft.to_json()), show=False)
        if step == "confirm":
            return closed(say("decisions.cancelled"))
        return Turn(draft.to_json(), (say("decisions.use_buttons"),))

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """The host's outcome: `said`, a key and its parameters."""
        return closed(say(str(outcome["said"]), **outcome.get("params", {})))


@guided(host="decisions")
class Decide:
    """/decide <id>: the outcome statement of a closed proposal, then it goes out."""

    kind = "decide"
    command: str | None = "decide"
    role: Role = "coordinator"
    title = "guided.title.decide"
    cancelled = "decisions.cancelled"
    refusal = "decisions.coordinators_only"

    def start(self, args: str, facts: Data) -> Turn:
        ref = args.strip().lstrip("#").lstrip("Dd")
        if not ref.isdigit():
            return closed(say("decisions.decide_usage"))
        return Turn({"step": "statement", "decision": int(ref)})

    def step_of(self, data: Data) -> str:
        return "statement"

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        return (say("decisions.ask_statement", id=data["decision"]),)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        text = typed(got)
        if not text:
            return stay(data, say("decisions.error.statement_blank"))
        params = {"decision": data["decision"], "statement": text}
        return Turn(None, effect=Effect("decide", params), show=False)

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        return closed(say(str(outcome["said"]), **outcome.get("params", {})))
