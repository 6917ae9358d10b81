"""Every button family's callback data fits Telegram's 64 bytes at its largest, and the encoders
outside the telegram layer pack exactly as the factories unpack."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from aiogram.filters.callback_data import MAX_CALLBACK_LENGTH, CallbackData

from bot.content import load_flows
from bot.domain import caucus, commitments
from bot.domain.flows import AskNode
from bot.domain.guides.proxy import Proxy
from bot.domain.payload import encode_answer
from bot.i18n import Catalogs
from bot.services import caucus as caucus_service
from bot.services.concerns import ACTIONS, coordinator_button, reply_keyboard
from bot.services.export import FORMATS
from bot.services.guides import registered
from bot.services.reports import KINDS
from bot.storage.models import Member, Ticket
from bot.telegram.callbacks import (
    FACTORIES,
    Answer,
    AuditPage,
    BroadcastStep,
    CaucusAction,
    ExportChoice,
    GuidedStep,
    InviteChoice,
    LanguageChoice,
    ObjectiveAction,
    ReportChoice,
    ScheduleStep,
    SeatAnswer,
    TicketAction,
    TicketReply,
    VariationPress,
)
from bot.telegram.routers.guided import START

ROOT = Path(__file__).resolve().parents[2]
CATALOGS = Catalogs.load(ROOT / "locales", default="en")
FLOWS = load_flows(ROOT / "flows", locale_keys=CATALOGS.keys())
# The largest database id (a signed 64-bit integer) and the longest language code stored.
BIG_ID = 2**63 - 1
LANGUAGE = "x" * (Member.model_fields["language"].metadata[0].max_length)


def _longest(values: object) -> str:
    return max((str(v) for v in values), key=lambda v: len(v.encode()))  # type: ignore[attr-defined]


def _answers() -> list[Answer]:
    return [
        Answer(run_id=BIG_ID, node_id=node.id, value=value)
        for flow in FLOWS.flows.values()
        for node in flow.nodes.values()
        if isinstance(node, AskNode)
        for value in node.button_values()
    ]


ANSWERS = _answers()
FLOW = _longest(FLOWS.flows)
GROUP = _longest(FLOWS.options_for("stakeholder_group"))
# Guided commands: the longest kind and step their machines use.
KIND = _longest(found.machine.kind for found in registered())
STEP = "variant_text"
# The widest value each family carries, as the routers build them.
SAMPLES: dict[type[CallbackData], list[CallbackData]] = {
    Answer: [*ANSWERS],
    LanguageChoice: [LanguageChoice(code=LANGUAGE)],
    ReportChoice: [ReportChoice(kind=k) for k in (*KINDS, "all")],
    ExportChoice: [ExportChoice(file_format=f) for f in FORMATS],
    AuditPage: [AuditPage(offset=BIG_ID)],
    BroadcastStep: [BroadcastStep(step="list", action="cancel", arg=str(BIG_ID))],
    ScheduleStep: [ScheduleStep(step="list", action="delyes", arg=str(BIG_ID))],
    GuidedStep: [
        GuidedStep(kind=Proxy.kind, step="", action=START, arg=f"{FLOW} {GROUP} {LANGUAGE}"),
        GuidedStep(kind=KIND, step=STEP, action="pick", arg=FLOW),
        GuidedStep(kind=KIND, step=STEP, action="committee", arg=str(BIG_ID)),
        GuidedStep(kind=KIND, step=STEP, action="group", arg=GROUP),
        GuidedStep(kind=KIND, step=STEP, action="lang", arg=LANGUAGE),
        GuidedStep(kind=KIND, step=STEP, action="pick", arg="999.999.999"),
    ],
    TicketAction: [TicketAction(action=a, ticket_id=BIG_ID) for a in ("answer", *ACTIONS.values())],
    TicketReply: [TicketReply(action="reply", ticket_id=BIG_ID)],
    InviteChoice: [
        InviteChoice(kind="g", ref="civil_society"),
        InviteChoice(kind="c", ref=str(BIG_ID)),
        InviteChoice(kind="l"),
    ],
    SeatAnswer: [SeatAnswer(invite=BIG_ID, take=True), SeatAnswer(invite=BIG_ID, take=False)],
    CaucusAction: [
        CaucusAction(action=a, round_id=BIG_ID) for a in ("join", caucus.ADD, *caucus.REACTIONS)
    ],
    VariationPress: [
        VariationPress(variation_id=BIG_ID, choice=c)
        for c in (*commitments.RESPONSES, *commitments.OUTCOMES)
    ],
    ObjectiveAction: [
        ObjectiveAction(action="rate", objective_id=BIG_ID),
        ObjectiveAction(action="new"),
    ],
}


def test_every_factory_has_samples() -> None:
    assert set(SAMPLES) == set(FACTORIES)
    assert all(SAMPLES.values())


@pytest.mark.parametrize("factory", FACTORIES, ids=lambda f: f.__name__)
def test_the_largest_values_fit_and_round_trip(factory: type[CallbackData]) -> None:
    for sample in SAMPLES[factory]:
        packed = sample.pack()  # raises over 64 bytes
        assert len(packed.encode()) <= MAX_CALLBACK_LENGTH
        assert factory.unpack(packed) == sample


def test_variation_buttons_pack_as_their_factory() -> None:
    """Variation buttons are queued as Bot API JSON by the commitments service."""
    for choice in (*commitments.RESPONSES, *commitments.OUTCOMES):
        packed = commitments.variation_button(BIG_ID, choice)
        assert VariationPress.unpack(packed) == VariationPress(variation_id=BIG_ID, choice=choice)


def test_prefixes_are_distinct_so_no_press_is_ambiguous() -> None:
    prefixes = [f.__prefix__ for f in FACTORIES]
    assert len(prefixes) == len(set(prefixes))


def test_the_outbox_encoders_pack_as_the_factories() -> None:
    """Question and ticket buttons are built as Bot API JSON outside the telegram layer."""
    for answer in ANSWERS:
        assert encode_answer(answer.run_id, answer.node_id, answer.value) == answer.pack()
    button = coordinator_button("T-1", "show", BIG_ID)
    assert TicketAction.unpack(button["callback_data"]) == TicketAction(
        action="show", ticket_id=BIG_ID
    )
    now = datetime.now(UTC)
    ticket = Ticket(
        id=BIG_ID,
        handle="T-1",
        category="x",
        about="x",
        urgency="x",
        text="x",
        created_at=now,
        updated_at=now,
    )
    keyboard = reply_keyboard(ticket, CATALOGS.translator("en"))
    data = keyboard["inline_keyboard"][0][0]["callback_data"]
    assert TicketReply.unpack(data) == TicketReply(action="reply", ticket_id=BIG_ID)
    for sample in SAMPLES[CaucusAction]:
        built = caucus_service.button("x", sample.action, BIG_ID)  # type: ignore[attr-defined]
        assert CaucusAction.unpack(built["callback_data"]) == sample
