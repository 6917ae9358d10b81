"""Turning engine replies into message text and inline keyboards, as plain data.

The same rendering serves immediate replies and messages queued in the outbox (scheduled
check-ins), so it produces Bot API JSON rather than aiogram objects.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.domain.engine import QuestionView, Reply
from bot.domain.media import accepted_wording
from bot.domain.payload import SKIP, SUBMIT, encode_answer
from bot.i18n import Translator
from bot.services.conversations import Message

CHECKED, UNCHECKED = "☑", "☐"
SUGGESTED = "✓"  # an invitation's group, shown first; typed back, the mark is ignored
Keyboard = dict[str, Any]


@dataclass(frozen=True)
class Rendered:
    """A message ready for the Bot API: HTML text and an inline keyboard, if any."""

    text: str
    keyboard: Keyboard | None = None


def render(message: Message, t: Translator, params: Mapping[str, object]) -> Rendered:
    """A reply's text and buttons."""
    return Rendered(render_text(message.reply, t, params), render_keyboard(message, t))


def render_text(reply: Reply, t: Translator, params: Mapping[str, object]) -> str:
    """The HTML text of a reply: its wording, then how to answer when it asks."""
    values = {k: html.escape(str(v)) for k, v in {**params, **reply.params}.items()}
    text = t(reply.key, **values)
    if reply.question is not None and reply.way_out:
        return f"{t('chat.way_out')}\n\n{text}\n\n<i>{_way_out(reply.question, t)}</i>"
    if reply.question is not None:
        text = f"{text}\n\n<i>{_instructions(reply.question, t)}</i>"
    return text


def _way_out(q: QuestionView, t: Translator) -> str:
    """Every answer the question takes, numbered, and how to skip it or leave."""
    if q.kind in ("choice", "multi_choice", "yes_no"):
        options = (f"{o.number}. {html.escape(t(o.label or ''))}" for o in q.options)
        how = t("ask.multi_choice", done=t("common.done")) if q.kind == "multi_choice" else ""
        lines = [t("chat.way_out.options"), *options, how or t("ask.choice")]
    else:
        lines = [_instructions(q, t, skip=False)]
    if q.skippable:
        lines.append(t("chat.way_out.skip", skip=t("common.skip")))
    lines.append(t("chat.way_out.leave"))
    return "\n".join(lines)


def _instructions(q: QuestionView, t: Translator, *, skip: bool = True) -> str:
    if q.kind == "scale":
        low, high = t(q.low_label or ""), t(q.high_label or "")
        line = t(
            "ask.scale",
            min=_num(q.min),
            max=_num(q.max),
            low=html.escape(low),
            high=html.escape(high),
        )
    elif q.kind == "yes_no":
        line = t("ask.yes_no", yes=t("common.yes"), no=t("common.no"))
    elif q.kind == "multi_choice":
        line = t("ask.multi_choice", done=t("common.done"))
    elif q.kind == "number":
        if q.min is not None and q.max is not None:
            line = t("ask.number_between", min=_num(q.min), max=_num(q.max))
        else:
            line = t("ask.number")
    elif q.kind == "text":
        line = t("ask.text", max=q.max_length or "")
    elif q.kind == "time_zone":
        line = t("ask.time_zone")
    elif q.kind == "media":
        accepted = html.escape(accepted_wording(q.accepts, t))
        line = t("ask.media.more" if q.held else "ask.media", accepted=accepted, max=_num(q.max))
        line = f"{line}\n{t('ask.media.done', done=t('common.done'))}" if q.held else line
        skip = skip and not q.held
    else:
        line = t("ask.choice")
    if q.skippable and skip:
        line = f"{line}\n{t('ask.skip', skip=t('common.skip'))}"
    return line


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if value == int(value) else str(value)


def render_keyboard(message: Message, t: Translator) -> Keyboard | None:
    """Inline buttons for a question; every button also has a number a member can type."""
    q = message.reply.question
    if q is None:
        return None

    def button(text: str, value: str) -> dict[str, str]:
        return {"text": text, "callback_data": encode_answer(message.run_id, q.node_id, value)}

    rows: list[list[dict[str, str]]] = []
    if q.kind in ("scale", "yes_no"):
        rows.append([button(o.text or t(o.label or ""), o.value) for o in q.options])
    elif q.kind == "choice":
        for o in q.options:
            mark = f"{SUGGESTED} " if o.suggested else ""
            rows.append([button(f"{mark}{o.number}. {t(o.label or '')}", o.value)])
    elif q.kind == "multi_choice":
        for o in q.options:
            mark = CHECKED if o.value in q.selected else UNCHECKED
            rows.append([button(f"{mark} {o.number}. {t(o.label or '')}", o.value)])
    if q.kind == "multi_choice" or q.held:
        rows.append([button(f"✔ {t('common.done')}", SUBMIT)])
    if q.skippable and not q.held:
        rows.append([button(t("common.skip"), SKIP)])
    return {"inline_keyboard": rows} if rows else None
