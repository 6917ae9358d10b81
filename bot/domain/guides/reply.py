"""A raiser's reply about one of their tickets: their next message goes to the coordinators.

Started by the Reply button under a message about the ticket (`bot.telegram.routers.concerns`),
with `args` = the ticket's id. The draft keeps the ticket only sealed (under `SEALED`, by the
host's `open` effect): a reader of the database cannot pair an anonymous ticket with the member
replying. Facts: the ticket's `handle` (None: gone, or not theirs) and whether it is
`anonymous` (then no message names the handle in the raiser's transaction).
"""

from __future__ import annotations

from bot.domain import guided as g
from bot.domain.guides.ticket import written

WRITE = "write"
SEALED = "ticket"  # the draft's key for the sealed ticket id (re-sealed by a key rotation)


@g.guided(host="ticket_reply")
class ReplyToTicket(g.Guide):
    kind = "ticket_reply"
    role = "member"
    cancelled = "ticket.cancelled"
    refusal = "chat.closed"
    first = WRITE

    def start(self, args: str, facts: g.Data) -> g.Turn:
        if not args.isdigit():
            return self.cancel()
        return g.carry_out(g.Effect("open", {"ticket_id": int(args)}))

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        if facts.get("anonymous"):
            return (g.say("concern.ask_reply_anonymous"),)
        return (g.say("concern.ask_reply", handle=facts.get("handle") or ""),)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        text = written(data, got, facts)
        if isinstance(text, g.Turn):
            return text
        return g.carry_out(g.Effect("reply", {SEALED: data[SEALED], "text": text}))

    def settle(self, data: g.Data, effect: g.Effect, outcome: g.Data) -> g.Turn:
        """The host's outcome. `open`: the ticket `sealed` (none: not the member's ticket, the
        press does nothing). `reply`: whether it went (`sent`), and the `handle` unless the
        ticket is anonymous."""
        if effect.name == "open":
            if not outcome.get("sealed"):
                return g.Turn(None, show=False, toast=g.label("chat.closed"))
            return g.Turn({"step": WRITE, SEALED: outcome["sealed"]})
        if not outcome.get("sent"):
            return self.cancel()
        if outcome.get("handle") is None:
            return g.closed(g.say("concern.reply_sent_anonymous"))
        return g.closed(g.say("concern.reply_sent", handle=outcome["handle"]))
