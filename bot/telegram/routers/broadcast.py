"""/broadcast, a guided conversation for coordinators, and /broadcasts to follow them.

The role is checked at every command, message and button press, so a button kept from before
a demotion grants nothing.
"""

from __future__ import annotations

import html
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.broadcasts import DEFAULT, Draft
from bot.domain.reading import clean, is_blank
from bot.domain.timing import BadDateTime, parse_local_datetime, zone
from bot.i18n import Translator
from bot.services.broadcasts import Broadcasts, Progress
from bot.storage.models import BroadcastStatus, Member
from bot.telegram.access import Coordinator, is_coordinator, refuse
from bot.telegram.callbacks import BroadcastStep
from bot.telegram.filters import NotCommand, PrivateChat, command
from bot.telegram.render import Responder

log = logging.getLogger(__name__)
CHECKED, UNCHECKED = "☑", "☐"


def _button(text: str, step: str, action: str, arg: str = "") -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=text, callback_data=BroadcastStep(step=step, action=action, arg=arg).pack()
        )
    ]


def _audience_markup(
    draft: Draft,
    broadcasts: Broadcasts,
    t: Translator,
    committees: Sequence[tuple[int, str]] = (),
) -> InlineKeyboardMarkup:
    step, audience = "audience", draft.audience
    rows = [
        _button(
            f"{CHECKED if audience.everyone else UNCHECKED} {t('broadcast.everyone')}", step, "all"
        )
    ]
    for group in broadcasts.groups:
        mark = CHECKED if group in audience.groups else UNCHECKED
        rows.append(_button(f"{mark} {t(f'group.{group}')}", step, "group", group))
    for code in broadcasts.locales:
        mark = CHECKED if code in audience.languages else UNCHECKED
        rows.append(_button(f"{mark} {t(f'language.name.{code}')}", step, "lang", code))
    for committee_id, name in committees:
        mark = CHECKED if committee_id in audience.committees else UNCHECKED
        label = t("broadcast.committee", name=html.escape(name))
        rows.append(_button(f"{mark} {label}", step, "committee", str(committee_id)))
    rows.append(_button(f"➜ {t('broadcast.continue')}", step, "done"))
    return InlineKeyboardMarkup(inline_keyboard=rows)


class HasBroadcastDraft(Filter):
    """Matches a coordinator who is writing a broadcast, and hands the draft to the handler."""

    async def __call__(
        self,
        event: Any,
        member: Member | None = None,
        session: AsyncSession | None = None,
        broadcasts: Broadcasts | None = None,
    ) -> bool | dict[str, Any]:
        if not is_coordinator(member) or session is None or broadcasts is None:
            return False
        assert member is not None
        draft = await broadcasts.current(session, coordinator=member)
        return False if draft is None else {"draft": draft}


async def show_step(
    responder: Responder, t: Translator, draft: Draft, broadcasts: Broadcasts, session: AsyncSession
) -> None:
    """Ask the draft's current question."""
    step = draft.step
    if step == "text":
        responder.text("broadcast.ask_text", locale=t.locale)
    elif step == "audience":
        size = await broadcasts.audience_size(session, draft.audience)
        responder.text(
            "broadcast.ask_audience",
            locale=t.locale,
            count=size,
            markup=_audience_markup(draft, broadcasts, t, await broadcasts.committees(session)),
        )
    elif step == "variants":
        rows = [
            _button(t("broadcast.one_text"), step, "one"),
            _button(t("broadcast.per_language"), step, "per"),
        ]
        responder.text(
            "broadcast.ask_variants",
            locale=t.locale,
            markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )
    elif step == "variant_text":
        language = t(f"language.name.{draft.pending[0]}")
        responder.text("broadcast.ask_variant", locale=t.locale, language=language)
    elif step == "urgent":
        rows = [_button(t("common.no"), step, "no") + _button(t("common.yes"), step, "yes")]
        responder.text(
            "broadcast.ask_urgent",
            locale=t.locale,
            markup=InlineKeyboardMarkup(inline_keyboard=rows),
        )
    elif step == "when":
        rows = [
            _button(t("broadcast.send_now"), step, "now"),
            _button(t("broadcast.schedule"), step, "later"),
        ]
        responder.text(
            "broadcast.ask_when", locale=t.locale, markup=InlineKeyboardMarkup(inline_keyboard=rows)
        )
    elif step == "when_at":
        responder.text("broadcast.ask_when_at", locale=t.locale, tz=broadcasts.partnership_timezone)
    else:
        await _preview(responder, t, draft, broadcasts, session)


async def _preview(
    responder: Responder, t: Translator, draft: Draft, broadcasts: Broadcasts, session: AsyncSession
) -> None:
    """Each variant exactly as recipients will receive it, message by message, then a summary
    to confirm."""
    variants = draft.variants()
    counts = []
    for language, text in variants.items():
        if len(variants) == 1:
            who = t("broadcast.readers.all")
        elif language == DEFAULT:
            who = t("broadcast.readers.others")
        else:
            who = t("broadcast.readers.language", language=t(f"language.name.{language}"))
        parts = draft.parts(text)
        counts.append(len(parts))
        for number, (kind, part) in enumerate(parts, 1):
            if len(parts) == 1:
                responder.text("broadcast.preview", locale=t.locale, who=who)
            else:
                responder.text(
                    "broadcast.preview_part",
                    locale=t.locale,
                    who=who,
                    part=number,
                    parts=len(parts),
                )
            _send_exactly(responder, kind, draft.media_file_id, part)
    size = await broadcasts.audience_size(session, draft.audience)
    when = (
        t("broadcast.when_now")
        if draft.send_at is None
        else broadcasts.scheduled_for(draft.send_at).strftime("%Y-%m-%d %H:%M")
    )
    urgent = t("broadcast.urgent_yes") if draft.urgent else t("broadcast.urgent_no")
    rows = [
        _button(f"✔ {t('broadcast.confirm')}", "preview", "send"),
        _button(t("broadcast.cancel"), "preview", "cancel"),
    ]
    if max(counts) == 1:
        key = "broadcast.summary"
    else:
        key = "broadcast.summary_parts" if min(counts) == max(counts) else "broadcast.summary_up_to"
    responder.text(
        key,
        locale=t.locale,
        count=size,
        parts=max(counts),
        when=when,
        urgent=urgent,
        markup=InlineKeyboardMarkup(inline_keyboard=rows),
    )


def _send_exactly(responder: Responder, kind: str, media: str | None, text: str) -> None:
    if kind in ("photo", "document") and media:
        responder.media(kind, media, text)
    else:
        responder.send(text)


async def on_broadcast(
    message: Message,
    session: AsyncSession,
    member: Member,
    broadcasts: Broadcasts,
    t: Translator,
    responder: Responder,
) -> None:
    """Start writing a broadcast."""
    draft = await broadcasts.begin(session, coordinator=member)
    await show_step(responder, t, draft, broadcasts, session)


async def on_draft_message(
    message: Message,
    session: AsyncSession,
    member: Member,
    draft: Draft,
    broadcasts: Broadcasts,
    responder: Responder,
) -> None:
    """Text (or media) typed while writing a broadcast."""
    t = responder.catalogs.translator(member.language)
    if draft.step == "text":
        media_kind = media_id = None
        if message.photo:
            media_kind, media_id = "photo", message.photo[-1].file_id
        elif message.document:
            media_kind, media_id = "document", message.document.file_id
        text = clean(message.html_text) if (message.text or message.caption) else ""
        if is_blank(text) and media_kind is None:
            responder.text("broadcast.need_text", locale=t.locale)
            return
        draft = draft.with_text(text, media_kind=media_kind, media_file_id=media_id)
    elif draft.step == "variant_text" and message.text:
        draft = draft.with_variant(message.html_text)
    elif draft.step == "when_at" and message.text:
        tz = zone(None, broadcasts.partnership_timezone)
        try:
            moment = parse_local_datetime(message.text, tz, broadcasts.clock.now())
        except BadDateTime as exc:
            responder.text(
                f"broadcast.bad_time.{exc.args[0]}",
                locale=t.locale,
                tz=broadcasts.partnership_timezone,
            )
            return
        draft = draft.at(moment)
    else:
        responder.text("broadcast.use_buttons", locale=t.locale)
    await broadcasts.save(session, coordinator=member, draft=draft)
    await show_step(responder, t, draft, broadcasts, session)


async def on_draft_cancel(
    message: Message,
    session: AsyncSession,
    member: Member,
    broadcasts: Broadcasts,
    responder: Responder,
) -> None:
    """/cancel while writing a broadcast drops the draft."""
    await broadcasts.discard(session, coordinator=member)
    responder.text("broadcast.cancelled", locale=member.language)


async def on_draft_press(
    callback: CallbackQuery,
    callback_data: BroadcastStep,
    session: AsyncSession,
    member: Member,
    broadcasts: Broadcasts,
    t: Translator,
    responder: Responder,
) -> None:
    """A button of the draft's current step."""
    step, action, arg = callback_data.step, callback_data.action, callback_data.arg
    locale = t.locale
    draft = await broadcasts.current(session, coordinator=member)
    if draft is None or draft.step != step:
        responder.answer_callback(callback, t("chat.closed"))
        return
    groups, locales = broadcasts.groups, broadcasts.locales
    redraw = False
    if step == "audience" and action in ("all", "group", "lang", "committee"):
        if action == "all":
            draft = draft.to_everyone()
        elif action == "group" and arg in groups:
            draft = draft.toggle_group(arg, groups)
        elif action == "lang" and arg in locales:
            draft = draft.toggle_language(arg, locales)
        elif action == "committee" and arg.isdigit():
            known = {c for c, _ in await broadcasts.committees(session)}
            if int(arg) in known or int(arg) in draft.audience.committees:
                draft = draft.toggle_committee(int(arg))
        redraw = True
    elif step == "audience" and action == "done":
        if await broadcasts.audience_size(session, draft.audience) == 0:
            responder.answer_callback(callback, t("broadcast.nobody"), alert=True)
            return
        draft = draft.audience_chosen(locales=locales)
    elif step == "variants":
        draft = (
            draft.one_text_for_all()
            if action == "one"
            else draft.text_per_language(locales=locales, own=member.language)
        )
    elif step == "urgent":
        draft = draft.with_urgency(action == "yes")
    elif step == "when":
        draft = draft.now() if action == "now" else draft.later()
    elif step == "preview" and action == "cancel":
        await broadcasts.discard(session, coordinator=member)
        responder.answer_callback(callback)
        _drop_buttons(callback, responder)
        responder.text("broadcast.cancelled", locale=locale)
        return
    elif step == "preview" and action == "send":
        broadcast = await broadcasts.confirm(session, coordinator=member, draft=draft)
        responder.answer_callback(callback)
        _drop_buttons(callback, responder)
        # After the commit: the sender must find the new rows.
        responder.later(_wake(broadcasts))
        if broadcast.status == BroadcastStatus.SCHEDULED:
            when = broadcasts.scheduled_for(broadcast.send_at).strftime("%Y-%m-%d %H:%M")
            responder.text("broadcast.scheduled", locale=locale, id=broadcast.id, when=when)
        else:
            responder.text(
                "broadcast.started", locale=locale, id=broadcast.id, total=broadcast.total
            )
        return
    await broadcasts.save(session, coordinator=member, draft=draft)
    responder.answer_callback(callback)
    if redraw and isinstance(callback.message, Message):
        # Toggling edits the same message: one audience picker, not one per press.
        size = await broadcasts.audience_size(session, draft.audience)
        text = t("broadcast.ask_audience", count=size)
        keyboard = _audience_markup(draft, broadcasts, t, await broadcasts.committees(session))
        message_id = callback.message.message_id
        responder.later(
            lambda: responder.bot.edit_message_text(
                text, chat_id=responder.chat_id, message_id=message_id, reply_markup=keyboard
            )
        )
        return
    _drop_buttons(callback, responder)
    await show_step(responder, t, draft, broadcasts, session)


def _drop_buttons(callback: CallbackQuery, responder: Responder) -> None:
    if isinstance(callback.message, Message):
        responder.remove_buttons(callback.message.message_id)


def _wake(broadcasts: Broadcasts) -> Callable[[], Awaitable[None]]:
    async def call() -> None:
        broadcasts.wake_sender()

    return call


def describe(progress: Progress, t: Translator) -> str:
    """One line of /broadcasts."""
    b = progress.broadcast
    preview = html.escape(
        " ".join(html.unescape(_strip_tags(b.texts.get(DEFAULT, ""))).split())[:40]
    )
    return t(
        f"broadcast.line.{b.status}",
        id=b.id,
        text=preview,
        delivered=progress.delivered,
        total=b.total,
        when=b.send_at.strftime("%Y-%m-%d %H:%M"),
    )


def _strip_tags(text: str) -> str:
    return re.sub(r"<[^>]+>", "", text)


async def on_list(
    message: Message,
    session: AsyncSession,
    broadcasts: Broadcasts,
    t: Translator,
    responder: Responder,
) -> None:
    """Recent broadcasts with their figures; scheduled ones can be cancelled."""
    locale = t.locale
    recent = await broadcasts.recent(session)
    if not recent:
        responder.text("broadcast.none_yet", locale=locale)
        return
    lines = [describe(p, t) for p in recent]
    rows = [
        _button(
            f"✖ {t('broadcast.cancel_scheduled', id=p.broadcast.id)}",
            "list",
            "cancel",
            str(p.broadcast.id),
        )
        for p in recent
        if p.broadcast.status == BroadcastStatus.SCHEDULED
    ]
    responder.send("\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows) if rows else None)


async def on_cancel_scheduled(
    callback: CallbackQuery,
    callback_data: BroadcastStep,
    session: AsyncSession,
    member: Member,
    broadcasts: Broadcasts,
    t: Translator,
    responder: Responder,
) -> None:
    """Cancel a scheduled broadcast from /broadcasts."""
    locale = t.locale
    broadcast_id = int(callback_data.arg) if callback_data.arg.isdigit() else 0
    cancelled = await broadcasts.cancel(session, broadcast_id=broadcast_id, actor=member)
    key = "broadcast.cancelled_scheduled" if cancelled else "broadcast.too_late"
    responder.answer_callback(callback, t(key, id=broadcast_id))
    if cancelled:
        responder.text("broadcast.cancelled_scheduled", locale=locale, id=broadcast_id)


def create_router() -> Router:
    """The broadcast router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_broadcast, command("broadcast"), Coordinator())
    router.message.register(on_list, command("broadcasts"), Coordinator())
    router.message.register(
        refuse("broadcast.coordinators_only"), command("broadcast", "broadcasts")
    )
    router.message.register(on_draft_cancel, command("cancel"), HasBroadcastDraft())
    router.message.register(on_draft_message, NotCommand(), HasBroadcastDraft())
    steps = BroadcastStep.filter()
    cancel = BroadcastStep.filter((F.step == "list") & (F.action == "cancel"))
    router.callback_query.register(on_cancel_scheduled, cancel, Coordinator())
    router.callback_query.register(on_draft_press, steps, Coordinator())
    router.callback_query.register(refuse("broadcast.not_allowed"), steps)
    return router
