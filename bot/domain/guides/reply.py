"""A raiser's reply about one of their tickets: their next message goes to the coordinators.

Started by the Reply button under a message about the ticket (`bot.telegram.routers.concerns`),
with `args` = the ticket's id. The draft keeps the ticket only sealed (under `SEALED`, by the
host's `open` effect): a reader of the database cannot pair an anonymous ticket with the member
replying. Facts: the ticket's `handle` (None: gone, or not theirs) and whether it is
`anonymous` (then no message names the handle in the raiser's transaction).
"""

from __future__ import annotations

from bot.domain.guided import (
    Data,
    Effect,
    Input,
    Role,
    Say,
    Turn,
    closed,
    guided,
    label,
    say,
)
from bot.domain.guides.ticket import written

WRITE = "write"
SEALED = "ticket"  # the draft's key for the sealed ticket id (re-sealed by a key rotation)


@guided(host="ticket_reply")
class ReplyToTicket:
    kind = "ticket_reply"
    command: str | None = None
    role: Role = "member"
    title = "guided.title.ticket_reply"
    cancelled = "ticket.cancelled"
    refusal = "chat.closed"

    def start(self, args: str, facts: Data) -> Turn:
        if not args.isdigit():
            return closed(say("ticket.cancelled"))
        return Turn(None, effect=Effect("open", {"ticket_id": int(args)}), show=False)

    def step_of(self, data: Data) -> str:
        return WRITE

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        if facts.get("anonymous"):
            return (say("concern.ask_reply_anonymous"),)
        return (say("concern.ask_reply", handle=facts.get("handle") or ""),)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        text = written(data, got, facts)
        if isinstance(text, Turn):
            return text
        params = {SEALED: data[SEALED], "text": text}
        return Turn(None, effect=Effect("reply", params), show=False)

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """The host's outcome. `open`: the ticket `sealed` (none: not the member's ticket, the
        press does nothing). `reply`: whether it went (`sent`), and the `handle` unless the
        ticket is anonymous."""
        if effect.name == "open":
            if not outcome.get("sealed"):
                return Turn(None, show=False, toast=label("chat.closed"))
            return Turn({"step": WRITE, SEALED: outcome["sealed"]})
        if not outcome.get("sent"):
            return closed(say("ticket.cancelled"))
        if outcome.get("handle") is None:
            return closed(say("concern.reply_sent_anonymous"))
        return closed(say("concern.reply_sent", handle=outcome["handle"]))
