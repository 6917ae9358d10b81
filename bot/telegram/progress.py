"""Follows broadcasts: releases scheduled ones when due, edits the coordinator's progress
message every few seconds, and sends the delivery report at the end."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from sqlmodel.ext.asyncio.session import AsyncSession

from bot.i18n import Catalogs, Translator
from bot.ops.failures import FailureLog
from bot.services.broadcasts import Broadcasts, Progress
from bot.storage import outbox, repo
from bot.storage.db import SessionFactory

log = logging.getLogger(__name__)


class BroadcastMonitor:
    """A background loop over the broadcasts being sent."""

    def __init__(
        self,
        *,
        bot: Bot,
        session_factory: SessionFactory,
        broadcasts: Broadcasts,
        catalogs: Catalogs,
        interval: float,
    ) -> None:
        self.bot = bot
        self.session_factory = session_factory
        self.broadcasts = broadcasts
        self.catalogs = catalogs
        self.interval = interval
        self._shown: dict[int, str] = {}
        self._failures = FailureLog(log, "the broadcast monitor")

    async def run(self, stop: asyncio.Event) -> None:
        """Tick every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                await self.tick()
            except Exception as exc:
                self._failures.failed(exc)
            else:
                self._failures.succeeded()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.interval)

    async def tick(self) -> None:
        """Release due broadcasts, refresh progress, report the finished ones."""
        async with self.session_factory() as session:
            await self.broadcasts.release_due(session)
            await session.commit()
            for progress in await self.broadcasts.sending(session):
                await self._follow(session, progress)

    async def _translator(self, session: AsyncSession, member_id: int | None) -> Translator:
        member = None if member_id is None else await repo.get_member(session, member_id=member_id)
        return self.catalogs.translator(member.language if member else None)

    async def _post_progress(self, session: AsyncSession, progress: Progress, text: str) -> None:
        broadcast = progress.broadcast
        assert broadcast.progress_chat_id is not None
        try:
            sent = await self.bot.send_message(broadcast.progress_chat_id, text)
        except TelegramAPIError as exc:
            log.warning("could not post progress of broadcast %s: %s", broadcast.id, exc)
            return
        await self.broadcasts.remember_progress_message(
            session, broadcast, chat_id=sent.chat.id, message_id=sent.message_id
        )
        await session.commit()
        self._shown[broadcast.id or 0] = text

    async def _follow(self, session: AsyncSession, progress: Progress) -> None:
        broadcast = progress.broadcast
        broadcast_id = broadcast.id or 0
        t = await self._translator(session, broadcast.created_by)
        key = "broadcast.progress_done" if progress.done else "broadcast.progress"
        text = t(key, id=broadcast_id, delivered=progress.delivered, total=broadcast.total)
        if progress.done:
            await self.broadcasts.finish(session, broadcast)
            if broadcast.progress_chat_id is not None:
                await outbox.enqueue(
                    session,
                    chat_id=broadcast.progress_chat_id,
                    member_id=broadcast.created_by,
                    text=report(progress, t),
                    source=f"broadcast-report:{broadcast_id}",
                    dedupe_key=f"broadcast:{broadcast_id}:report",
                    not_before=None,
                    now=self.broadcasts.clock.now(),
                )
            await session.commit()
        if broadcast.progress_chat_id is None or self._shown.get(broadcast_id) == text:
            return
        if broadcast.progress_message_id is None:
            await self._post_progress(session, progress, text)
            return
        self._shown[broadcast_id] = text
        try:
            await self.bot.edit_message_text(
                text, chat_id=broadcast.progress_chat_id, message_id=broadcast.progress_message_id
            )
        except TelegramAPIError as exc:
            log.warning("could not update progress of broadcast %s: %s", broadcast_id, exc)
        if progress.done:
            self._shown.pop(broadcast_id, None)


def report(progress: Progress, t: Translator) -> str:
    """The delivery report: figures, then the reasons for what was not delivered."""
    lines = [
        t(
            "broadcast.report",
            id=progress.broadcast.id,
            delivered=progress.delivered,
            blocked=progress.blocked,
            failed=progress.failed,
            skipped=progress.skipped,
            total=progress.broadcast.total,
        )
    ]
    for reason, count in sorted(progress.reasons.items(), key=lambda item: -item[1]):
        lines.append(f"• {count} × {html.escape(reason)}")
    return "\n".join(lines)
