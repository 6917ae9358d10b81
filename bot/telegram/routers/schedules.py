"""/schedules: coordinators list, pause, resume and delete scheduled check-ins; creating one
is a guided command (`bot.domain.guides.schedule`), started by the list's New button.

The role is checked at every command and button press, so a button kept from before a demotion
grants nothing.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.domain.clock import Clock
from bot.domain.guides.schedule import Schedule
from bot.services.checkins import Checkins
from bot.storage import audit
from bot.storage.models import Member, ScheduleStatus
from bot.telegram.access import Coordinator, refuse
from bot.telegram.callbacks import GuidedStep, ScheduleStep
from bot.telegram.context import Context
from bot.telegram.filters import PrivateChat, command
from bot.telegram.render import Responder
from bot.telegram.routers.guided import START

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


# -- the list ---------------------------------------------------------------------------------


async def on_schedules(message: Message, ctx: Context, checkins: Checkins, clock: Clock) -> None:
    """The schedules, with buttons to create, pause, resume and delete."""
    session, t, now = ctx.session, ctx.t, clock.now()
    schedules = await checkins.all(session)
    lines = [t("schedules.list_header")]
    new = GuidedStep(kind=Schedule.kind, step="", action=START)
    rows: Rows = [[InlineKeyboardButton(text=t("schedules.new"), callback_data=new.pack())]]
    for schedule in schedules:
        lines.append(await checkins.summary(session, schedule, now=now, t=t))
        toggle = "pause" if schedule.status == ScheduleStatus.ACTIVE else "resume"
        rows.append(
            _button(t(f"schedules.{toggle}", id=schedule.id), "list", toggle, str(schedule.id))
            + _button(t("schedules.delete", id=schedule.id), "list", "delete", str(schedule.id))
        )
    if not schedules:
        lines.append(t("schedules.none_yet"))
    ctx.responder.send("\n\n".join(lines), _markup(rows))


async def on_list_press(
    callback: CallbackQuery,
    callback_data: ScheduleStep,
    ctx: Context,
    member: Member,
    checkins: Checkins,
    clock: Clock,
) -> None:
    """New, pause, resume, delete (with a confirmation) from the list."""
    session, t, responder = ctx.session, ctx.t, ctx.responder
    action, arg = callback_data.action, callback_data.arg
    locale = t.locale
    now = clock.now()
    responder.answer_callback(callback)
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


def _drop_buttons(callback: CallbackQuery, responder: Responder) -> None:
    if isinstance(callback.message, Message):
        responder.remove_buttons(callback.message.message_id)


def create_router() -> Router:
    """The schedules router."""
    router = Router(name=__name__)
    router.message.filter(PrivateChat())
    router.message.register(on_schedules, command("schedules"), Coordinator())
    router.message.register(refuse("schedules.coordinators_only"), command("schedules"))
    steps = ScheduleStep.filter()
    router.callback_query.register(
        on_list_press, ScheduleStep.filter(F.step == "list"), Coordinator()
    )
    router.callback_query.register(refuse("schedules.not_allowed"), steps)
    return router
