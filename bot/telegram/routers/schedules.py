"""/schedules: coordinators list, create (guided, with a preview), pause, resume and delete
scheduled check-ins.

The role is checked at every command, message and button press, so a button kept from before
a demotion grants nothing. The draft's rules live in `bot.domain.schedules.ScheduleDraft`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.filters import Filter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.domain.clock import Clock
from bot.domain.schedules import (
    DAY_CODES,
    NTH_CODES,
    TYPED_STEPS,
    ScheduleDraft,
    ScheduleError,
    local_moment,
    relative_day,
)
from bot.i18n import Translator
from bot.services.checkins import Checkins, span, spec_of
from bot.storage import audit
from bot.storage.models import Member, ScheduleStatus
from bot.telegram.access import Coordinator, is_coordinator, refuse
from bot.telegram.callbacks import ScheduleStep
from bot.telegram.filters import NotCommand, PrivateChat, command
from bot.telegram.render import Responder

CHECKED, UNCHECKED = "☑", "☐"
WEEKS = (1, 2, 3, 4)
MONTHS = (1, 2, 3, 6, 12)
WINDOWS = (24, 48, 72, 168)
Rows = list[list[InlineKeyboardButton]]


def _button(text: str, step: str, action: str, arg: str = "") -> list[InlineKeyboardButton]:
    return [
        InlineKeyboardButton(
            text=text, callback_data=ScheduleStep(step=step, action=action, arg=arg).pack()
        )
    ]


def _markup(rows: Rows) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=rows)


class HasScheduleDraft(Filter):
    """Matches a coordinator setting up a schedule, and hands the draft to the handler."""

    async def __call__(
        self,
        event: Any,
        member: Member | None = None,
        session: AsyncSession | None = None,
        checkins: Checkins | None = None,
    ) -> bool | dict[str, Any]:
        if not is_coordinator(member) or session is None or checkins is None:
            return False
        assert member is not None
        draft = await checkins.current_draft(session, coordinator=member)
        return False if draft is None else {"draft": draft}


# -- the list ---------------------------------------------------------------------------------


async def on_schedules(
    message: Message,
    session: AsyncSession,
    checkins: Checkins,
    clock: Clock,
    locale: str,
    responder: Responder,
) -> None:
    """The schedules, with buttons to create, pause, resume and delete."""
    await _show_list(responder, session, checkins, clock.now(), locale)


async def _show_list(
    responder: Responder, session: AsyncSession, checkins: Checkins, now: datetime, locale: str
) -> None:
    t = responder.catalogs.translator(locale)
    schedules = await checkins.all(session)
    lines = [t("schedules.list_header")]
    rows: Rows = [_button(t("schedules.new"), "list", "new")]
    for schedule in schedules:
        lines.append(await checkins.summary(session, schedule, now=now, t=t))
        toggle = "pause" if schedule.status == ScheduleStatus.ACTIVE else "resume"
        rows.append(
            _button(t(f"schedules.{toggle}", id=schedule.id), "list", toggle, str(schedule.id))
            + _button(t("schedules.delete", id=schedule.id), "list", "delete", str(schedule.id))
        )
    if not schedules:
        lines.append(t("schedules.none_yet"))
    responder.send("\n\n".join(lines), _markup(rows))


async def on_list_press(
    callback: CallbackQuery,
    callback_data: ScheduleStep,
    session: AsyncSession,
    member: Member,
    checkins: Checkins,
    clock: Clock,
    t: Translator,
    responder: Responder,
) -> None:
    """New, pause, resume, delete (with a confirmation) from the list."""
    action, arg = callback_data.action, callback_data.arg
    locale = t.locale
    now = clock.now()
    responder.answer_callback(callback)
    if action == "new":
        draft = await checkins.begin_draft(session, coordinator=member, now=now)
        await _show_step(responder, t, draft, checkins, session, now)
        return
    schedule_id = int(arg) if arg.isdigit() else 0
    schedule = await checkins.get(session, schedule_id=schedule_id)
    if schedule is None:
        responder.text("schedules.unknown", locale=locale, id=schedule_id)
        return
    if action == "delete":
        rows = [
            _button(t("schedules.delete_yes"), "list", "delyes", arg)
            + _button(t("schedules.keep"), "list", "keep", arg)
        ]
        flow = await checkins.schedule_title(session, schedule, t)
        responder.text(
            "schedules.confirm_delete", locale=locale, id=arg, flow=flow, markup=_markup(rows)
        )
        return
    _drop_buttons(callback, responder)
    if action == "keep":
        responder.text("schedules.kept", locale=locale, id=arg)
        return
    status = {
        "pause": ScheduleStatus.PAUSED,
        "resume": ScheduleStatus.ACTIVE,
        "delyes": ScheduleStatus.DELETED,
    }.get(action)
    if status is None:
        return
    changed = await checkins.set_status(session, schedule_id=schedule_id, status=status, now=now)
    assert changed is not None
    action = {
        ScheduleStatus.PAUSED: "schedule.paused",
        ScheduleStatus.ACTIVE: "schedule.resumed",
        ScheduleStatus.DELETED: "schedule.deleted",
    }[status]
    await audit.record(
        session,
        actor=member,
        action=action,
        detail={"schedule": schedule_id, "flow": changed.flow_id},
        now=now,
    )
    if status == ScheduleStatus.ACTIVE:
        upcoming = checkins.next_send(changed, now=now)
        when = checkins.format_moment(upcoming, t) if upcoming else "–"
        responder.text("schedules.resumed", locale=locale, id=arg, when=when)
    else:
        key = "schedules.paused" if status == ScheduleStatus.PAUSED else "schedules.deleted"
        responder.text(key, locale=locale, id=arg)


# -- the guided draft -------------------------------------------------------------------------


async def _show_step(
    responder: Responder,
    t: Translator,
    draft: ScheduleDraft,
    checkins: Checkins,
    session: AsyncSession,
    now: datetime,
) -> None:
    """Ask the draft's current question."""
    step, locale = draft.step, t.locale
    if step == "flow":
        rows = [_button(t(f.title), step, "pick", f.id) for f in checkins.schedulable]
        responder.text("schedules.ask_flow", locale=locale, markup=_markup(rows))
    elif step == "audience":
        size = await checkins.audience_size(session, draft.audience)
        responder.text(
            "schedules.ask_audience",
            locale=locale,
            count=size,
            markup=_audience(draft, checkins, t, await checkins.committees(session)),
        )
    elif step == "kind":
        rows = [
            _button(t(f"schedules.kind.{k}"), step, "pick", k)
            for k in ("weekly", "monthly", "once", "relative")
        ]
        responder.text("schedules.ask_kind", locale=locale, markup=_markup(rows))
    elif step == "days":
        responder.text("schedules.ask_days", locale=locale, markup=_days(draft, t))
    elif step == "every":
        weekly = draft.kind == "weekly"
        rows = [
            [
                b
                for n in (WEEKS if weekly else MONTHS)
                for b in _button(str(n), step, "pick", str(n))
            ]
        ]
        key = "schedules.ask_every_weeks" if weekly else "schedules.ask_every_months"
        responder.text(key, locale=locale, markup=_markup(rows))
    elif step == "nth":
        rows = [
            _button(t(f"schedules.nth.{name}"), step, "pick", str(n))
            for n, name in NTH_CODES.items()
        ]
        responder.text("schedules.ask_nth", locale=locale, markup=_markup(rows))
    elif step == "weekday":
        rows = [
            _button(t(f"schedules.day.{code}"), step, "pick", str(d))
            for d, code in enumerate(DAY_CODES)
        ]
        responder.text("schedules.ask_weekday", locale=locale, markup=_markup(rows))
    elif step == "once_date":
        responder.text("schedules.ask_date", locale=locale)
    elif step == "event":
        rows = [_button(t("schedules.event.joined"), step, "joined")]
        rows += [
            _button(t("schedules.event.flow", flow=t(f.title)), step, "flow", f.id)
            for f in checkins.schedulable
        ]
        responder.text("schedules.ask_event", locale=locale, markup=_markup(rows))
    elif step == "after_days":
        responder.text("schedules.ask_after_days", locale=locale)
    elif step == "time":
        responder.text("schedules.ask_time", locale=locale)
    elif step == "basis":
        rows = [
            _button(t("schedules.basis.member"), step, "pick", "member"),
            _button(
                t("schedules.basis.partnership", tz=checkins.partnership_timezone),
                step,
                "pick",
                "partnership",
            ),
        ]
        responder.text("schedules.ask_basis", locale=locale, markup=_markup(rows))
    elif step == "window":
        row = [
            b for h in WINDOWS for b in _button(span(timedelta(hours=h), t), step, "pick", str(h))
        ]
        responder.text("schedules.ask_window", locale=locale, markup=_markup([row]))
    elif step == "reminders":
        rows = [_reminder_button(choice, t) for choice in draft.reminder_choices()]
        responder.text("schedules.ask_reminders", locale=locale, markup=_markup(rows))
    else:
        await _preview(responder, t, draft, checkins, session, now)


def _reminder_button(choice: tuple[int, ...], t: Translator) -> list[InlineKeyboardButton]:
    if not choice:
        return _button(t("schedules.reminders.none"), "reminders", "pick", "none")
    spans = ", ".join(span(timedelta(hours=h), t) for h in choice)
    return _button(
        t("schedules.reminders.after", spans=spans), "reminders", "pick", ".".join(map(str, choice))
    )


def _audience(
    draft: ScheduleDraft,
    checkins: Checkins,
    t: Translator,
    committees: Sequence[tuple[int, str]] = (),
) -> InlineKeyboardMarkup:
    audience = draft.audience
    rows = [
        _button(
            f"{CHECKED if audience.everyone else UNCHECKED} {t('schedules.everyone')}",
            "audience",
            "all",
        )
    ]
    for group in checkins.groups:
        mark = CHECKED if group in audience.groups else UNCHECKED
        rows.append(_button(f"{mark} {t(f'group.{group}')}", "audience", "group", group))
    for code in checkins.locales:
        mark = CHECKED if code in audience.languages else UNCHECKED
        rows.append(_button(f"{mark} {t(f'language.name.{code}')}", "audience", "lang", code))
    for committee_id, name in committees:
        mark = CHECKED if committee_id in audience.committees else UNCHECKED
        label = t("broadcast.committee", name=html.escape(name))
        rows.append(_button(f"{mark} {label}", "audience", "committee", str(committee_id)))
    rows.append(_button(f"➜ {t('schedules.continue')}", "audience", "done"))
    return _markup(rows)


def _days(draft: ScheduleDraft, t: Translator) -> InlineKeyboardMarkup:
    rows = [
        _button(
            f"{CHECKED if day in draft.days else UNCHECKED} {t(f'schedules.day.{code}')}",
            "days",
            "toggle",
            str(day),
        )
        for day, code in enumerate(DAY_CODES)
    ]
    rows.append(_button(f"➜ {t('schedules.continue')}", "days", "done"))
    return _markup(rows)


async def _preview(
    responder: Responder,
    t: Translator,
    draft: ScheduleDraft,
    checkins: Checkins,
    session: AsyncSession,
    now: datetime,
) -> None:
    """What the schedule does, and its next five send times, to confirm."""
    spec = draft.spec()
    if spec.recurrence.relative:
        tz = checkins.tz
        day = relative_day(now, spec.recurrence.after_days, tz)
        example = checkins.format_moment(local_moment(day, spec.recurrence.at, tz), t)
        preview = t("schedules.preview_relative", when=example)
    else:
        moments = checkins.preview(spec, now=now)
        preview = "\n".join(f"• {checkins.format_moment(m, t)}" for m in moments)
        preview = preview or t("schedules.preview_none")
    rows = [
        _button(f"✔ {t('schedules.create')}", "preview", "create"),
        _button(t("schedules.cancel"), "preview", "cancel"),
    ]
    responder.text(
        "schedules.summary",
        locale=t.locale,
        markup=_markup(rows),
        flow=checkins.flow_title(spec.flow_id, t),
        when=checkins.describe(spec, t),
        audience=checkins.describe_audience(spec.audience, t),
        count=await checkins.audience_size(session, spec.audience),
        window=span(spec.window, t),
        reminders=checkins.describe_reminders(spec, t),
        preview=preview,
    )


async def on_draft_message(
    message: Message,
    session: AsyncSession,
    member: Member,
    draft: ScheduleDraft,
    checkins: Checkins,
    clock: Clock,
    responder: Responder,
) -> None:
    """Text typed while setting up a schedule: a number, a date, a time, a duration."""
    t = responder.catalogs.translator(member.language)
    now = clock.now()
    if draft.step not in TYPED_STEPS or not message.text:
        responder.text("schedules.error.use_buttons", locale=t.locale)
        return
    try:
        draft = draft.with_typed(message.text, today=checkins.local_today(now))
    except ScheduleError as exc:
        _say_error(responder, t, exc)
        return
    await checkins.save_draft(session, coordinator=member, draft=draft, now=now)
    await _show_step(responder, t, draft, checkins, session, now)


async def on_draft_cancel(
    message: Message,
    session: AsyncSession,
    member: Member,
    checkins: Checkins,
    responder: Responder,
) -> None:
    """/cancel while setting up a schedule drops it."""
    await checkins.discard_draft(session, coordinator=member)
    responder.text("schedules.cancelled", locale=member.language)


async def on_draft_press(
    callback: CallbackQuery,
    callback_data: ScheduleStep,
    session: AsyncSession,
    member: Member,
    checkins: Checkins,
    clock: Clock,
    t: Translator,
    responder: Responder,
) -> None:
    """A button of the draft's current step."""
    step, action, arg = callback_data.step, callback_data.action, callback_data.arg
    now = clock.now()
    draft = await checkins.current_draft(session, coordinator=member)
    if draft is None or draft.step != step:
        responder.answer_callback(callback, t("chat.closed"))
        return
    if step == "preview":
        await _confirm(callback, session, member, draft, checkins, responder, t, now, action)
        return
    try:
        draft = draft.press(
            action,
            arg,
            flows={f.id for f in checkins.schedulable},
            groups=checkins.groups,
            locales=checkins.locales,
            committees={c for c, _ in await checkins.committees(session)},
        )
    except ScheduleError as exc:
        responder.answer_callback(callback, _error_text(t, exc), alert=True)
        return
    await checkins.save_draft(session, coordinator=member, draft=draft, now=now)
    responder.answer_callback(callback)
    if (
        draft.step == step
        and step in ("audience", "days")
        and isinstance(callback.message, Message)
    ):
        # Toggling redraws the same message: one picker, not one per press.
        if step == "audience":
            size = await checkins.audience_size(session, draft.audience)
            committees = await checkins.committees(session)
            text = t("schedules.ask_audience", count=size)
            keyboard = _audience(draft, checkins, t, committees)
        else:
            text, keyboard = t("schedules.ask_days"), _days(draft, t)
        message_id = callback.message.message_id
        responder.later(
            lambda: responder.bot.edit_message_text(
                text, chat_id=responder.chat_id, message_id=message_id, reply_markup=keyboard
            )
        )
        return
    _drop_buttons(callback, responder)
    await _show_step(responder, t, draft, checkins, session, now)


async def _confirm(
    callback: CallbackQuery,
    session: AsyncSession,
    member: Member,
    draft: ScheduleDraft,
    checkins: Checkins,
    responder: Responder,
    t: Translator,
    now: datetime,
    action: str,
) -> None:
    responder.answer_callback(callback)
    if action == "cancel":
        await checkins.discard_draft(session, coordinator=member)
        _drop_buttons(callback, responder)
        responder.text("schedules.cancelled", locale=t.locale)
        return
    try:
        schedule = await checkins.confirm_draft(session, coordinator=member, draft=draft, now=now)
    except ScheduleError as exc:
        _say_error(responder, t, exc)
        return
    await audit.record(
        session,
        actor=member,
        action="schedule.created",
        detail={"schedule": schedule.id, "flow": schedule.flow_id},
        now=now,
    )
    _drop_buttons(callback, responder)
    upcoming = checkins.next_send(schedule, now=now)
    when = (
        checkins.format_moment(upcoming, t) if upcoming else checkins.describe(spec_of(schedule), t)
    )
    responder.text("schedules.created", locale=t.locale, id=schedule.id, when=when)


def _error_text(t: Translator, exc: ScheduleError) -> str:
    return t(exc.key, **{k: html.escape(str(v)) for k, v in exc.params.items()})


def _say_error(responder: Responder, t: Translator, exc: ScheduleError) -> None:
    """What was wrong with the input, its typed value escaped."""
    responder.send(_error_text(t, exc))


def _drop_buttons(callback: CallbackQuery, responder: Responder) -> None:
    if isinstance(callback.message, Message):
        responder.remove_buttons(callback.message.message_id)


def create_router() -> Router:
    """The schedules router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_schedules, command("schedules"), Coordinator())
    router.message.register(refuse("schedules.coordinators_only"), command("schedules"))
    router.message.register(on_draft_cancel, command("cancel"), HasScheduleDraft())
    router.message.register(on_draft_message, NotCommand(), HasScheduleDraft())
    steps = ScheduleStep.filter()
    router.callback_query.register(
        on_list_press, ScheduleStep.filter(F.step == "list"), Coordinator()
    )
    router.callback_query.register(on_draft_press, steps, Coordinator())
    router.callback_query.register(refuse("schedules.not_allowed"), steps)
    return router
