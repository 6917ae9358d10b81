"""What check-ins say to members: a flow's first step, written once per language and composed
as it is sent, the reminder that asks the open question again, and the notice of a stale run
closed."""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.transport import Composed
from bot.domain import engine
from bot.domain.engine import Reply, Step
from bot.domain.flows import Flow, FlowRegistry
from bot.domain.text import split_html
from bot.i18n import Catalogs
from bot.services.conversations import Message
from bot.services.rendering import Keyboard, render, render_keyboard, render_text
from bot.storage import checkins as store
from bot.storage.models import OutboxMessage

log = logging.getLogger(__name__)
# Stands for the member's name while a flow's first step is written once per language: as
# long as the longest name (200 characters of up to two UTF-16 units each), so the text splits
# into the same messages whatever the reader's name. A private-use character, never in wording.
NAME_ROOM = 400
NAME_SLOT = "\ue000" * NAME_ROOM


@dataclass(frozen=True)
class FirstStep:
    """A flow's first step in one language: the node it waits at, its messages, its question."""

    node_id: str | None
    parts: tuple[str, ...]
    question: Reply | None


class CheckinMessages:
    """Check-in messages in each reader's language, over the current flows and wording."""

    def __init__(self, flows: FlowRegistry, catalogs: Catalogs) -> None:
        self.use(flows, catalogs)

    def use(self, flows: FlowRegistry, catalogs: Catalogs) -> None:
        """Work with these flows and this wording from now on (the sandbox reloads them)."""
        self.flows = flows
        self.catalogs = catalogs
        self.locales = catalogs.locales
        self._first_steps: dict[tuple[str, int, str], FirstStep] = {}

    def first_step(self, flow: Flow, locale: str) -> FirstStep:
        """A flow's first step in one language, split into messages, with `NAME_SLOT` for the
        reader's name; written once per flow version and language."""
        key = (flow.id, flow.version, locale)
        found = self._first_steps.get(key)
        if found is None:
            step = engine.start(flow)
            t = self.catalogs.translator(locale)
            text = "\n\n".join(render_text(r, t, {"name": NAME_SLOT}) for r in step.replies)
            question = next((r for r in reversed(step.replies) if r.question is not None), None)
            found = FirstStep(step.state.node_id, tuple(split_html(text)), question)
            self._first_steps[key] = found
        return found

    def parts(self, flow: Flow) -> dict[str, int]:
        """How many messages the flow's first step takes in each language."""
        return {code: len(self.first_step(flow, code).parts) for code in self.locales}

    async def compose(
        self, session: AsyncSession, messages: Sequence[OutboxMessage]
    ) -> dict[int, Composed | None]:
        """The text and buttons of check-in messages about to be sent, in each reader's
        language; None for one that can no longer be written (its flow is gone or changed)."""
        names = await store.run_readers(
            session, run_ids=[m.run_id for m in messages if m.run_id is not None]
        )
        composed: dict[int, Composed | None] = {}
        for message in messages:
            assert message.id is not None
            composed[message.id] = self._compose(message, names)
        return composed

    def _compose(self, message: OutboxMessage, names: Mapping[int, str]) -> Composed | None:
        flow = self.flows.get(message.flow_id or "")
        run_id, part = message.run_id, message.part
        if flow is None or run_id is None or part is None or run_id not in names:
            return None
        locale = message.language if message.language in self.locales else self.catalogs.default
        step = self.first_step(flow, locale)
        if step.node_id != message.node_id or part >= len(step.parts):
            log.warning(
                "check-in message %s: flow %s changed since it was queued", message.id, flow.id
            )
            return None
        text = step.parts[part].replace(NAME_SLOT, html.escape(names[run_id]))
        if step.question is None or part < len(step.parts) - 1:
            return Composed(text)
        keyboard = render_keyboard(Message(step.question, run_id), self.catalogs.translator(locale))
        return Composed(text, keyboard, asks=True)

    def reminder(
        self, item: store.DueReminder, flow: Flow, step: Step, *, number: int
    ) -> store.QueuedMessage:
        """The `number`th reminder of a check-in: a nudge, then its open question again."""
        t = self.catalogs.translator(item.language)
        params = {"name": item.display_name}
        parts = [t("checkin.reminder", flow=html.escape(t(flow.title)))]
        keyboard: Keyboard | None = None
        for reply in step.replies:
            rendered = render(Message(reply, item.run_id), t, params)
            parts.append(rendered.text)
            keyboard = rendered.keyboard or keyboard
        return store.QueuedMessage(
            chat_id=item.chat_id,
            member_id=item.member_id,
            text="\n\n".join(parts),
            reply_markup=keyboard,
            language=t.locale,
            dedupe_key=f"checkin:{item.checkin_id}:reminder:{number}",
            asks_run=item.run_id,
        )

    def stale_closed(self, item: store.StaleRun, flow: Flow | None) -> tuple[str, str]:
        """The notice that a conversation left untouched was closed: (text, language)."""
        t = self.catalogs.translator(item.language)
        title = t(flow.title) if flow is not None else item.flow_id
        return t("chat.stale_closed", flow=html.escape(title)), t.locale
