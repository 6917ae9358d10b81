"""/broadcast: text or photo/document, audience, a text per language, urgency, now or at a date
and time, and an exact preview (an update longer than a message is shown message by message).

The draft is `bot.domain.broadcasts.Draft`. Facts: the audience picker's (see `audience`),
`timezone` (the partnership's), `send_at` (the chosen moment in it, formatted).
"""

from __future__ import annotations

from bot.domain.broadcasts import DEFAULT, Draft
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
    refuse,
    say,
    stay,
)
from bot.domain.guides.audience import ask_audience, pick
from bot.domain.reading import clean, is_blank
from bot.domain.timing import BadDateTime, parse_local_datetime, zone


@guided(host="broadcast")
class Broadcast:
    kind = "broadcast"
    command: str | None = "broadcast"
    role: Role = "coordinator"
    title = "guided.title.broadcast"
    cancelled = "broadcast.cancelled"
    refusal = "broadcast.coordinators_only"

    def start(self, args: str, facts: Data) -> Turn:
        return Turn(Draft().to_json())

    def step_of(self, data: Data) -> str:
        return str(data.get("step", "text"))

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        draft, step = Draft.from_json(data), self.step_of(data)
        if step == "text":
            return (say("broadcast.ask_text"),)
        if step == "audience":
            return (ask_audience("broadcast", draft.audience, facts),)
        if step == "variants":
            one, per = label("broadcast.one_text"), label("broadcast.per_language")
            return (say("broadcast.ask_variants", *column(Button(one, "one"), Button(per, "per"))),)
        if step == "variant_text":
            language = label(f"language.name.{draft.pending[0]}")
            return (say("broadcast.ask_variant", language=language),)
        if step == "urgent":
            row = (Button(label("common.no"), "no"), Button(label("common.yes"), "yes"))
            return (say("broadcast.ask_urgent", row),)
        if step == "when":
            now, later = label("broadcast.send_now"), label("broadcast.schedule")
            return (say("broadcast.ask_when", *column(Button(now, "now"), Button(later, "later"))),)
        if step == "when_at":
            return (say("broadcast.ask_when_at", tz=facts["timezone"]),)
        return _preview(draft, facts)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        draft = Draft.from_json(data)
        if got.pressed:
            return self._press(draft, got, facts)
        if draft.step == "text":
            text = clean(got.html or "") if got.text else ""
            if is_blank(text) and got.media is None:
                return stay(data, say("broadcast.need_text"))
            kind, file_id = got.media or (None, None)
            return Turn(draft.with_text(text, media_kind=kind, media_file_id=file_id).to_json())
        if draft.step == "variant_text" and got.text:
            return Turn(draft.with_variant(got.html or got.text).to_json())
        if draft.step == "when_at" and got.text:
            tz = facts["timezone"]
            try:
                moment = parse_local_datetime(got.text, zone(None, tz), facts["now"])
            except BadDateTime as exc:
                return stay(data, say(f"broadcast.bad_time.{exc.args[0]}", tz=tz))
            return Turn(draft.at(moment).to_json())
        return Turn(data, (say("broadcast.use_buttons"),))

    def _press(self, draft: Draft, got: Input, facts: Data) -> Turn:
        step, action = draft.step, got.action
        if step == "audience":
            if (ticked := pick(draft, got, facts)) is not None:
                return ticked
            if facts["audience_size"] == 0:
                return refuse(draft.to_json(), label("broadcast.nobody"))
            return Turn(draft.audience_chosen(locales=facts["locales"]).to_json())
        if step == "variants" and action == "one":
            return Turn(draft.one_text_for_all().to_json())
        if step == "variants":
            own = facts["language"]
            return Turn(draft.text_per_language(locales=facts["locales"], own=own).to_json())
        if step == "urgent":
            return Turn(draft.with_urgency(action == "yes").to_json())
        if step == "when":
            return Turn((draft.now() if action == "now" else draft.later()).to_json())
        if step == "preview" and action == "send":
            return Turn(None, effect=Effect("send", draft.to_json()), show=False)
        if step == "preview":
            return closed(say("broadcast.cancelled"))
        return Turn(draft.to_json(), (say("broadcast.use_buttons"),))

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """The host's outcome: the broadcast's `id`, and its `total` or, scheduled, `when`."""
        if outcome.get("when"):
            return closed(say("broadcast.scheduled", id=outcome["id"], when=outcome["when"]))
        return closed(say("broadcast.started", id=outcome["id"], total=outcome["total"]))


def _preview(draft: Draft, facts: Data) -> tuple[Say, ...]:
    """Each variant exactly as recipients will receive it, message by message, then a summary
    to confirm."""
    says: list[Say] = []
    variants, counts = draft.variants(), []
    for language, text in variants.items():
        if len(variants) == 1:
            who = label("broadcast.readers.all")
        elif language == DEFAULT:
            who = label("broadcast.readers.others")
        else:
            who = label("broadcast.readers.language", language=label(f"language.name.{language}"))
        parts = draft.parts(text)
        counts.append(len(parts))
        for number, (kind, part) in enumerate(parts, 1):
            if len(parts) == 1:
                says.append(say("broadcast.preview", who=who))
            else:
                says.append(say("broadcast.preview_part", who=who, part=number, parts=len(parts)))
            media = (kind, draft.media_file_id) if draft.media_file_id else None
            says.append(Say(exact=part, media=media if kind in ("photo", "document") else None))
    if max(counts) == 1:
        key = "broadcast.summary"
    else:
        key = "broadcast.summary_parts" if min(counts) == max(counts) else "broadcast.summary_up_to"
    confirm = Button(label("broadcast.confirm", "✔"), "send")
    cancel = Button(label("broadcast.cancel"), "cancel")
    when = facts.get("send_at") or label("broadcast.when_now")
    urgent = label("broadcast.urgent_yes" if draft.urgent else "broadcast.urgent_no")
    summary = say(
        key,
        *column(confirm, cancel),
        count=facts["audience_size"],
        parts=max(counts),
        when=when,
        urgent=urgent,
    )
    return (*says, summary)
