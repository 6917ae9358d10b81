"""/broadcast: text or photo/document, audience, a text per language, urgency, now or at a date
and time, and an exact preview (an update longer than a message is shown message by message).

The draft is `bot.domain.broadcasts.Draft`. Facts: the audience picker's (see `audience`),
`timezone` (the partnership's), `send_at` (the chosen moment in it, formatted).
"""

from __future__ import annotations

from bot.domain import guided as g
from bot.domain.broadcasts import DEFAULT, Draft
from bot.domain.guides.audience import ask_audience, pick
from bot.domain.reading import clean, is_blank
from bot.domain.timing import BadDateTime, parse_local_datetime, zone


@g.guided(host="broadcast")
class Broadcast(g.Guide):
    kind = command = "broadcast"
    cancelled = "broadcast.cancelled"
    refusal = "broadcast.coordinators_only"
    first = "text"

    def start(self, args: str, facts: g.Data) -> g.Turn:
        return g.Turn(Draft().to_json())

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        draft, step = Draft.from_json(data), self.step_of(data)
        if step == "text":
            return (g.say("broadcast.ask_text"),)
        if step == "audience":
            return (ask_audience("broadcast", draft.audience, facts),)
        if step == "variants":
            one, per = g.label("broadcast.one_text"), g.label("broadcast.per_language")
            return (g.ask("broadcast.ask_variants", g.Button(one, "one"), g.Button(per, "per")),)
        if step == "variant_text":
            language = g.label(f"language.name.{draft.pending[0]}")
            return (g.say("broadcast.ask_variant", language=language),)
        if step == "urgent":
            row = (g.Button(g.label("common.no"), "no"), g.Button(g.label("common.yes"), "yes"))
            return (g.say("broadcast.ask_urgent", row),)
        if step == "when":
            now, later = g.label("broadcast.send_now"), g.label("broadcast.schedule")
            return (g.ask("broadcast.ask_when", g.Button(now, "now"), g.Button(later, "later")),)
        if step == "when_at":
            return (g.say("broadcast.ask_when_at", tz=facts["timezone"]),)
        return _preview(draft, facts)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        draft = Draft.from_json(data)
        if got.pressed:
            return self._press(draft, got, facts)
        if draft.step == "text":
            text = clean(got.html or "") if got.text else ""
            if is_blank(text) and got.media is None:
                return g.stay(data, g.say("broadcast.need_text"))
            kind, file_id = got.media or (None, None)
            return g.Turn(draft.with_text(text, media_kind=kind, media_file_id=file_id).to_json())
        if draft.step == "variant_text" and got.text:
            return g.Turn(draft.with_variant(got.html or got.text).to_json())
        if draft.step == "when_at" and got.text:
            tz = facts["timezone"]
            try:
                moment = parse_local_datetime(got.text, zone(None, tz), facts["now"])
            except BadDateTime as exc:
                return g.stay(data, g.say(f"broadcast.bad_time.{exc.args[0]}", tz=tz))
            return g.Turn(draft.at(moment).to_json())
        return g.Turn(data, (g.say("broadcast.use_buttons"),))

    def _press(self, draft: Draft, got: g.Input, facts: g.Data) -> g.Turn:
        step, action = draft.step, got.action
        if step == "audience":
            if (ticked := pick(draft, got, facts)) is not None:
                return ticked
            if facts["audience_size"] == 0:
                return g.refuse(draft.to_json(), g.label("broadcast.nobody"))
            return g.Turn(draft.audience_chosen(locales=facts["locales"]).to_json())
        if step == "variants" and action == "one":
            return g.Turn(draft.one_text_for_all().to_json())
        if step == "variants":
            own = facts["language"]
            return g.Turn(draft.text_per_language(locales=facts["locales"], own=own).to_json())
        if step == "urgent":
            return g.Turn(draft.with_urgency(action == "yes").to_json())
        if step == "when":
            return g.Turn((draft.now() if action == "now" else draft.later()).to_json())
        if step == "preview":
            return self.confirmed(action == "send", g.Effect("send", draft.to_json()))
        return g.Turn(draft.to_json(), (g.say("broadcast.use_buttons"),))

    def settle(self, data: g.Data, effect: g.Effect, outcome: g.Data) -> g.Turn:
        """The host's outcome: the broadcast's `id`, and its `total` or, scheduled, `when`."""
        if outcome.get("when"):
            return g.closed(g.say("broadcast.scheduled", id=outcome["id"], when=outcome["when"]))
        return g.closed(g.say("broadcast.started", id=outcome["id"], total=outcome["total"]))


def _preview(draft: Draft, facts: g.Data) -> tuple[g.Say, ...]:
    """Each variant exactly as recipients will receive it, message by message, then a summary
    to confirm."""
    says: list[g.Say] = []
    variants, counts = draft.variants(), []
    for language, text in variants.items():
        if len(variants) == 1:
            who = g.label("broadcast.readers.all")
        elif language == DEFAULT:
            who = g.label("broadcast.readers.others")
        else:
            who = g.label(
                "broadcast.readers.language", language=g.label(f"language.name.{language}")
            )
        parts = draft.parts(text)
        counts.append(len(parts))
        for number, (kind, part) in enumerate(parts, 1):
            if len(parts) == 1:
                says.append(g.say("broadcast.preview", who=who))
            else:
                says.append(g.say("broadcast.preview_part", who=who, part=number, parts=len(parts)))
            media = (kind, draft.media_file_id) if draft.media_file_id else None
            says.append(g.Say(exact=part, media=media if kind in ("photo", "document") else None))
    if max(counts) == 1:
        key = "broadcast.summary"
    else:
        key = "broadcast.summary_parts" if min(counts) == max(counts) else "broadcast.summary_up_to"
    when = facts.get("send_at") or g.label("broadcast.when_now")
    urgent = g.label("broadcast.urgent_yes" if draft.urgent else "broadcast.urgent_no")
    summary = g.say(
        key,
        *g.confirm_or_cancel("broadcast.confirm", "broadcast.cancel"),
        count=facts["audience_size"],
        parts=max(counts),
        when=when,
        urgent=urgent,
    )
    return (*says, summary)
