"""One router for every guided command (`bot.domain.guided`): starts them, takes typed input
and button presses, and renders what the machines show.

A member may have several drafts open; typed text goes to the most recently touched one, and
when one starts or closes the others are named with a button to resume each. The role is
checked at every command, message and button press.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from aiogram import Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.guided import Button, Input, Label, Say
from bot.i18n import Translator
from bot.services.guided import Guides, Shown, may_use
from bot.storage.models import Member
from bot.telegram.callbacks import GuidedStep
from bot.telegram.context import Context
from bot.telegram.filters import NotCommand, PrivateChat, command
from bot.telegram.render import Responder, markup

RESUME, START = "resume", "new"


class HasGuidedDraft(Filter):
    """The member has a guided draft open."""

    async def __call__(
        self,
        event: Any,
        member: Member | None = None,
        session: AsyncSession | None = None,
        guides: Guides | None = None,
    ) -> bool:
        if member is None or session is None or guides is None:
            return False
        return bool(await guides.open_drafts(session, member))


class GuidedCommand(Filter):
    """A command that starts a guided conversation (`/Proxy` as `/proxy`: phones capitalise);
    hands its kind and arguments over."""

    async def __call__(
        self, message: Message, guides: Guides | None = None
    ) -> bool | dict[str, Any]:
        if guides is None or not message.text or not message.text.startswith("/"):
            return False
        name, _, args = message.text[1:].partition(" ")
        kind = guides.commands.get(name.partition("@")[0].casefold())
        return False if kind is None else {"kind": kind, "args": args.strip()}


def _text(t: Translator, label: Label) -> str:
    text = t(label.key, **_params(t, label.params))
    return f"{label.mark} {text}" if label.mark else text


def _params(t: Translator, params: Mapping[str, Any]) -> dict[str, str]:
    return {k: _value(t, v) for k, v in params.items()}


def _value(t: Translator, value: Any) -> str:
    if isinstance(value, Label):
        return _text(t, value)
    if isinstance(value, tuple):
        return ", ".join(_value(t, v) for v in value)
    return html.escape(str(value))


def _keyboard(t: Translator, kind: str, step: str, say: Say) -> InlineKeyboardMarkup | None:
    if not say.rows:
        return markup(say.keyboard)
    return InlineKeyboardMarkup(
        inline_keyboard=[[_button(t, kind, step, b) for b in row] for row in say.rows]
    )


def _button(t: Translator, kind: str, step: str, button: Button) -> InlineKeyboardButton:
    data = GuidedStep(kind=kind, step=step, action=button.action, arg=button.arg)
    text = button.label if isinstance(button.label, str) else _text(t, button.label)
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def render(
    responder: Responder,
    guides: Guides,
    shown: Shown,
    t: Translator,
    callback: CallbackQuery | None = None,
    *,
    keep_pressed: bool = False,
) -> None:
    """Show a machine's turn; for a press, answer it and take the pressed message's buttons
    off (or redraw it in place) unless `keep_pressed` (a list the button was in)."""
    pressed = callback.message if callback and isinstance(callback.message, Message) else None
    if callback is not None:
        toast = None if shown.toast is None else _text(t, shown.toast)
        responder.answer_callback(callback, toast, alert=shown.alert)
    step = shown.step
    if shown.redraw and pressed is not None and shown.says:
        # Toggling redraws the same message: one picker, not one per press.
        first = shown.says[0]
        text, keyboard = (
            t(first.key, **_params(t, first.params)),
            _keyboard(t, shown.kind, step, first),
        )
        message_id = pressed.message_id
        responder.later(
            lambda: responder.bot.edit_message_text(
                text, chat_id=responder.chat_id, message_id=message_id, reply_markup=keyboard
            )
        )
        return
    if pressed is not None and shown.says and not keep_pressed:
        responder.remove_buttons(pressed.message_id)
    for say in shown.says:
        if say.engine is not None:
            responder.show(say.engine)
        elif say.exact is not None and say.media is not None:
            responder.media(say.media[0], say.media[1], say.exact)
        elif say.exact is not None:
            responder.send(say.exact, _keyboard(t, shown.kind, step, say))
        else:
            responder.send(
                t(say.key, **_params(t, say.params)), _keyboard(t, shown.kind, step, say)
            )
    if shown.open_others:
        _still_open(responder, guides, shown.open_others, t)


def _still_open(
    responder: Responder, guides: Guides, kinds: tuple[str, ...], t: Translator
) -> None:
    titles = {k: t(m.title) for k in kinds if (m := guides.machine(k)) is not None}
    rows = [
        [
            InlineKeyboardButton(
                text=t("guided.resume", draft=title),
                callback_data=GuidedStep(kind=kind, step="", action=RESUME).pack(),
            )
        ]
        for kind, title in titles.items()
    ]
    text = t("guided.still_open", drafts=", ".join(titles.values()))
    responder.send(text, InlineKeyboardMarkup(inline_keyboard=rows))


def _input(message: Message) -> Input:
    media = None
    if message.photo:
        media = ("photo", message.photo[-1].file_id)
    elif message.document:
        media = ("document", message.document.file_id)
    text = message.text or message.caption
    return Input(text=text, html=message.html_text if text else None, media=media)


async def on_command(
    message: Message,
    kind: str,
    args: str,
    ctx: Context,
    guides: Guides,
) -> None:
    """A guided command: a new draft of its kind; the others stay open."""
    machine, member = guides.machine(kind), ctx.member
    if machine is None or member is None or not may_use(machine, member):
        ctx.responder.text(machine.refusal if machine else "chat.closed", locale=ctx.locale)
        return
    shown = await guides.begin(ctx.session, member, kind, args)
    render(ctx.responder, guides, shown, ctx.t)


async def on_message(message: Message, ctx: Context, member: Member, guides: Guides) -> None:
    """Text or media for the most recently touched draft; /cancel drops that draft only."""
    if (message.text or "").casefold().startswith("/cancel"):
        shown = await guides.cancel(ctx.session, member)
    else:
        shown = await guides.typed(ctx.session, member, _input(message))
    if shown is not None:
        render(ctx.responder, guides, shown, ctx.t)


async def on_press(
    callback: CallbackQuery,
    callback_data: GuidedStep,
    ctx: Context,
    guides: Guides,
) -> None:
    """A guided command's button; a stale one (its draft gone or moved on) does nothing."""
    kind, action = callback_data.kind, callback_data.action
    member, responder = ctx.member, ctx.responder
    machine = guides.machine(kind)
    if machine is None or member is None:
        responder.answer_callback(callback, ctx.t("chat.closed"))
        return
    if not may_use(machine, member):
        responder.answer_callback(callback, ctx.t("guided.not_allowed"))
        return
    if action == START:
        shown: Shown | None = await guides.begin(ctx.session, member, kind, callback_data.arg)
    elif action == RESUME:
        shown = await guides.resume(ctx.session, member, kind)
    else:
        got = Input(action=action, arg=callback_data.arg)
        shown = await guides.press(ctx.session, member, kind, callback_data.step, got)
    if shown is None:
        responder.answer_callback(callback, ctx.t("chat.closed"))
        return
    keep = action in (START, RESUME)
    render(responder, guides, shown, ctx.t, callback, keep_pressed=keep)


def create_router() -> Router:
    """The guided commands' router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_command, GuidedCommand())
    router.message.register(on_message, command("cancel"), HasGuidedDraft())
    router.message.register(on_message, NotCommand(), HasGuidedDraft())
    router.callback_query.register(on_press, GuidedStep.filter())
    return router
