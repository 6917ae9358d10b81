"""Answering a ticket, or giving the reason it is declined: the coordinator's next message.

Started by the ticket's Answer or Decline button (`bot.telegram.routers.concerns`), with
`args` = "answer|decline TICKET_ID". Facts: the ticket's `handle` (None: gone).
"""

from __future__ import annotations

from bot.domain import concerns as rules
from bot.domain.guided import Data, Effect, Input, Role, Say, Turn, closed, guided, say, stay, typed
from bot.domain.reading import clean, is_blank

WRITE = "write"


@guided(host="tickets")
class AnswerTicket:
    kind = "ticket"
    command: str | None = None
    role: Role = "coordinator"
    title = "guided.title.ticket"
    cancelled = "ticket.cancelled"
    refusal = "ticket.coordinators_only"

    def start(self, args: str, facts: Data) -> Turn:
        mode, _, ticket = args.partition(" ")
        if mode not in ("answer", "decline") or not ticket.isdigit():
            return closed(say("ticket.cancelled"))
        return Turn({"step": WRITE, "mode": mode, "ticket_id": int(ticket)})

    def step_of(self, data: Data) -> str:
        return WRITE

    def show(self, data: Data, facts: Data) -> tuple[Say, ...]:
        key = "ticket.ask_answer" if data["mode"] == "answer" else "ticket.ask_reason"
        return (say(key, handle=facts.get("handle") or ""),)

    def step(self, data: Data, got: Input, facts: Data) -> Turn:
        text = written(data, got, facts)
        if isinstance(text, Turn):
            return text
        params = {"ticket_id": data["ticket_id"], "text": text}
        return Turn(None, effect=Effect(str(data["mode"]), params), show=False)

    def settle(self, data: Data, effect: Effect, outcome: Data) -> Turn:
        """The host's outcome: `said` (a key and its parameters) and, maybe, the ticket's
        card to show again (`card`, `keyboard`)."""
        says = [say(str(outcome["said"]), **outcome.get("params", {}))]
        if outcome.get("card"):
            says.append(Say(exact=str(outcome["card"]), keyboard=outcome.get("keyboard")))
        return closed(*says)


def written(data: Data, got: Input, facts: Data) -> str | Turn:
    """A text about a ticket (an answer, a reason, a raiser's reply), or the turn refusing it:
    too long (it keeps waiting for a shorter one), blank or the ticket gone (nothing sent)."""
    length = len(typed(got))
    if length > rules.MAX_TEXT:
        return stay(data, say("ticket.too_long", length=length, max=rules.MAX_TEXT))
    text = clean(got.text or "")
    if facts.get("handle") is None or is_blank(text):
        return closed(say("ticket.cancelled"))
    return text
