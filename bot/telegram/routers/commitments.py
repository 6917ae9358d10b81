"""/commitments: what each partner committed to and where it stands, for every member; with a
button to propose a change for the partners concerned, and one to record a commitment for
coordinators. `/commitments report` is the coordinators' report. Variation buttons (a partner's
response, a coordinator's outcome) come here too; the role is checked at every press.
"""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.domain.commitments import OUTCOMES, RESPONSES
from bot.i18n import Translator
from bot.services import commitment_report
from bot.services.commitments import Commitments, is_coordinator
from bot.storage.models import Member
from bot.telegram.callbacks import GuidedStep, VariationPress
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command

START = "new"  # the guided router's action that starts a draft
MOST_BUTTONS = 20
DECIDED = {f"commitments.variation.decided.{outcome}" for outcome in OUTCOMES}


def _keyboard(t: Translator, member: Member, proposable: list[int]) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                text=t("commitments.button.propose", id=n),
                callback_data=GuidedStep(
                    kind="variation", step="", action=START, arg=str(n)
                ).pack(),
            )
        ]
        for n in proposable[:MOST_BUTTONS]
    ]
    if is_coordinator(member):
        data = GuidedStep(kind="commitment", step="", action=START).pack()
        rows.append([InlineKeyboardButton(text=t("commitments.button.new"), callback_data=data)])
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


async def on_commitments(
    message: Message,
    command: CommandObject,
    ctx: Context,
    commitments: Commitments,
) -> None:
    """The board (everyone), or the report (`/commitments report`, coordinators)."""
    member, responder = ctx.member, ctx.responder
    if member is None:
        responder.text("commitments.members_only", locale=ctx.locale)
        return
    if (command.args or "").strip().casefold() == "report":
        if not is_coordinator(member):
            responder.text("commitments.coordinators_only", locale=ctx.locale)
            return
        responder.send(await commitment_report.build(ctx.session, ctx.t, k=commitments.min_group))
        return
    proposable = [c.id for c in await commitments.concerning(ctx.session, member) if c.id]
    text = await commitments.board(ctx.session, ctx.t)
    responder.send(text, _keyboard(ctx.t, member, proposable))


async def on_variation(
    callback: CallbackQuery,
    callback_data: VariationPress,
    ctx: Context,
    commitments: Commitments,
) -> None:
    """A partner responds to a variation, or a coordinator decides it."""
    choice, variation_id = callback_data.choice, callback_data.variation_id
    member, responder = ctx.member, ctx.responder
    if member is None:
        responder.answer_callback(callback, ctx.t("chat.closed"))
        return
    if choice in OUTCOMES and is_coordinator(member):
        key = await commitments.decide(
            ctx.session, coordinator=member, variation_id=variation_id, outcome=choice
        )
    elif choice in RESPONSES:
        key = await commitments.respond(
            ctx.session, member=member, variation_id=variation_id, choice=choice
        )
    else:
        key = "commitments.coordinators_only"
    responder.answer_callback(callback, ctx.t(key))
    if key in DECIDED and isinstance(callback.message, Message):
        responder.remove_buttons(callback.message.message_id)


def create_router() -> Router:
    """The commitments router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_commitments, command("commitments"))
    router.callback_query.register(on_variation, VariationPress.filter())
    return router
