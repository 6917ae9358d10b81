"""Answering a ticket, or giving the reason it is declined: the coordinator's next message.

Started by the ticket's Answer or Decline button (`bot.telegram.routers.concerns`), with
`args` = "answer|decline TICKET_ID". Facts: the ticket's `handle` (None: gone).
"""

from __future__ import annotations

from bot.domain import concerns as rules
from bot.domain import guided as g
from bot.domain.reading import clean, is_blank

WRITE = "write"


@g.guided(host="tickets")
class AnswerTicket(g.Guide):
    kind = "ticket"
    cancelled = "ticket.cancelled"
    refusal = "ticket.coordinators_only"
    first = WRITE

    def start(self, args: str, facts: g.Data) -> g.Turn:
        mode, _, ticket = args.partition(" ")
        if mode not in ("answer", "decline") or not ticket.isdigit():
            return self.cancel()
        return self.begin(mode=mode, ticket_id=int(ticket))

    def show(self, data: g.Data, facts: g.Data) -> tuple[g.Say, ...]:
        key = "ticket.ask_answer" if data["mode"] == "answer" else "ticket.ask_reason"
        return (g.say(key, handle=facts.get("handle") or ""),)

    def step(self, data: g.Data, got: g.Input, facts: g.Data) -> g.Turn:
        text = written(data, got, facts)
        if isinstance(text, g.Turn):
            return text
        params = {"ticket_id": data["ticket_id"], "text": text}
        return g.carry_out(g.Effect(str(data["mode"]), params))

    def settle(self, data: g.Data, effect: g.Effect, outcome: g.Data) -> g.Turn:
        """The host's outcome: what it `said` and, maybe, the ticket's card to show again
        (`card`, `keyboard`)."""
        says = [g.said(outcome)]
        if outcome.get("card"):
            says.append(g.Say(exact=str(outcome["card"]), keyboard=outcome.get("keyboard")))
        return g.closed(*says)


def written(data: g.Data, got: g.Input, facts: g.Data) -> str | g.Turn:
    """A text about a ticket (an answer, a reason, a raiser's reply), or the turn refusing it:
    too long (it keeps waiting for a shorter one), blank or the ticket gone (nothing sent)."""
    length = len(g.typed(got))
    if length > rules.MAX_TEXT:
        return g.stay(data, g.say("ticket.too_long", length=length, max=rules.MAX_TEXT))
    text = clean(got.text or "")
    if facts.get("handle") is None or is_blank(text):
        return g.closed(g.say("ticket.cancelled"))
    return text
