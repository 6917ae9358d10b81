"""Every button's callback data: one typed factory per button family, packed within 64 bytes.

The packed forms are those the hand-written buttons used (`<prefix>:<field>:...`), so buttons
sent before these factories keep working; a press that does not unpack (forged, or an older
layout) matches no factory and is answered by the conversation router's last handler.

Answer and ticket buttons are also built outside this layer (questions go through the outbox,
coordinators are told of tickets by the sender), as plain Bot API JSON from
`bot.domain.payload.encode_answer` and `bot.services.concerns`; `tests/unit/test_callbacks.py`
holds those encoders to the factories' packing.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.domain import commitments, decisions, payload


class Answer(CallbackData, prefix=payload.PREFIX):
    """A question's option: the run, the question and the value."""

    run_id: int
    node_id: str
    value: str


class LanguageChoice(CallbackData, prefix="lang"):
    """/language: the locale chosen."""

    code: str


class ReportChoice(CallbackData, prefix="rp"):
    """/report: one report, or "all"."""

    kind: str


class ExportChoice(CallbackData, prefix="ex"):
    """/export: the file format."""

    file_format: str


class AuditPage(CallbackData, prefix="au"):
    """/audit: the page starting at `offset`."""

    offset: int


class BroadcastStep(CallbackData, prefix="bc"):
    """/broadcasts: a scheduled update's button (`step` is `list`)."""

    step: str
    action: str
    arg: str = ""


class ScheduleStep(CallbackData, prefix="sch"):
    """/schedules: pause, resume or delete one (`step` is `list`)."""

    step: str
    action: str
    arg: str = ""


class GuidedStep(CallbackData, prefix="g"):
    """A guided command's button: its draft's `kind` and `step`, then the machine's action and
    argument (`resume` and `start` are the router's own)."""

    kind: str
    step: str
    action: str
    arg: str = ""


class TicketAction(CallbackData, prefix="tk"):
    """A coordinator's button on a ticket: show, answer, decline, or a step."""

    action: str
    ticket_id: int


class TicketReply(CallbackData, prefix="tr"):
    """The raiser's Reply button under a relayed message."""

    action: str
    ticket_id: int


class InviteChoice(CallbackData, prefix="iv"):
    """/invite: a link for a group (`g`) or a committee (`c`), named by `ref`; `l` lists them."""

    kind: str
    ref: str = ""


class SeatAnswer(CallbackData, prefix="is"):
    """A member's answer to the committee seat an invitation link (`invite`) offers them."""

    invite: int
    take: bool


class CaucusAction(CallbackData, prefix="cc"):
    """A caucus round's button for its group: join, agree, disagree or add a point."""

    action: str
    round_id: int


class VariationPress(CallbackData, prefix=commitments.VARIATION_PREFIX):
    """A variation of a commitment: a partner's response or a coordinator's outcome (built as
    plain JSON by `bot.domain.commitments.variation_button`, as the sender queues it)."""

    variation_id: int
    choice: str


class ObjectiveAction(CallbackData, prefix="ob"):
    """/objectives: state a new objective (`new`) or rate one (`rate`, its id)."""

    action: str
    objective_id: int = 0


FACTORIES: tuple[type[CallbackData], ...] = (
    Answer,
    LanguageChoice,
    ReportChoice,
    ExportChoice,
    AuditPage,
    BroadcastStep,
    ScheduleStep,
    GuidedStep,
    TicketAction,
    TicketReply,
    InviteChoice,
    SeatAnswer,
    CaucusAction,
    VariationPress,
    ObjectiveAction,
)


class DecisionVote(CallbackData, prefix=decisions.VOTE_PREFIX):
    """A member's vote on a proposal put to them in private (built as plain JSON by
    `bot.domain.decisions.vote_button`, as the outbox queues it)."""

    decision_id: int
    option: int
