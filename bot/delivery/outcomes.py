"""Recording what Telegram answered: outcomes committed in small groups (`OutcomeRecorder`).

A send counts as in flight until its outcome is committed; the group commit keeps the database
(and SQLite's single writer) off the sending path. What a failed attempt, a block or a refusal
does to a row is decided here (`_apply`); a group that cannot be committed is kept and tried
again when the sender's circuit breaker allows.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.delivery.breaker import Breaker
from bot.delivery.limits import backoff_delay
from bot.delivery.transport import (
    Blocked,
    ChatNotFound,
    Composed,
    Delivered,
    Outcome,
    RateLimited,
    Rejected,
    Transient,
)
from bot.domain.clock import Clock
from bot.storage import decisions, outbox, outbox_figures, repo
from bot.storage.db import SessionFactory
from bot.storage.models import CHECKIN_KIND, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

COMMIT_LINGER_S = 0.005


@dataclass(frozen=True)
class NotSent:
    """A fast-path row left unsent behind one that failed: back to the queue, untouched."""


@dataclass
class SenderStats:
    """What the sender did since it started."""

    claims: int = 0
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    rate_limited: int = 0
    released: int = 0
    lease_expired: int = 0
    taken_back: int = 0


Pending = tuple[OutboxMessage, Outcome | NotSent, asyncio.Future[None]]


class OutcomeRecorder:
    """Commits send outcomes in groups; `submit` one, `run` the writer, `stop` it."""

    def __init__(
        self,
        *,
        session_factory: SessionFactory,
        clock: Clock,
        breaker: Breaker,
        lease_lock: asyncio.Lock,
        stats: SenderStats,
        composed: dict[int, Composed | None],
        max_attempts: int,
        group_target: int,
        on_answered: Callable[[], None],
        on_failed: Callable[[], None],
        seed: int | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.clock = clock
        self.breaker = breaker
        # Renewals and outcome commits both rewrite a held row's lease token: one at a time.
        self._lease_lock = lease_lock
        self.stats = stats
        # The sender's check-ins written at claim time (which question a row asks).
        self._composed = composed
        self.max_attempts = max_attempts
        self._group_target = group_target
        self._on_answered = on_answered
        self._on_failed = on_failed
        self._random = random.Random(seed)
        self._outcomes: list[Pending] = []
        self._waiting = asyncio.Event()
        self._stopping = False

    def stop(self) -> None:
        """Commit what is waiting, then end `run` (a group that fails then is left to leases)."""
        self._stopping = True
        self._waiting.set()

    def submit(self, message: OutboxMessage, outcome: Outcome | NotSent) -> asyncio.Future[None]:
        """Hand an outcome to the next group commit; the future is done once it is committed."""
        committed = asyncio.get_running_loop().create_future()
        self._outcomes.append((message, outcome, committed))
        self._waiting.set()
        return committed

    async def run(self) -> None:
        """Commit outcomes in groups: all that arrived while the previous commit ran.

        One transaction per group instead of one per message keeps the database (and SQLite's
        single writer) off the critical path; a send still counts as in flight until its
        outcome is committed, so the crash bound stays `send_concurrency`.
        A group that cannot be committed is kept (its sends keep their slots, so nothing else
        is sent) and tried again, with what arrived meanwhile, when the breaker allows.
        """
        loop = asyncio.get_running_loop()
        self._stopping = False
        unrecorded: list[Pending] = []
        while True:
            if unrecorded:
                await self._until_probe(loop)
            else:
                await self._waiting.wait()
                self._waiting.clear()
                await self._linger(loop)
            group, self._outcomes = unrecorded + self._outcomes, []
            unrecorded = []
            if not group:
                if self._stopping:
                    return
                continue
            try:
                await self._commit([(m, o) for m, o, _ in group])
            except Exception as exc:
                self.breaker.failed(exc, loop.time())
                self._on_failed()
                if not self._stopping:
                    unrecorded = group
                    continue
                log.error(
                    "%d delivered message(s) not recorded before stopping; they are sent again "
                    "when their leases end",
                    len(group),
                )
            else:
                self._on_answered()
            for _, _, committed in group:
                committed.set_result(None)

    async def _linger(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait a moment for a fuller group: a transaction costs far more than a row."""
        until = loop.time() + COMMIT_LINGER_S
        while (
            0 < len(self._outcomes) < self._group_target
            and not self._stopping
            and (left := until - loop.time()) > 0
        ):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(left):
                    await self._waiting.wait()
            self._waiting.clear()

    async def _until_probe(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wait until the breaker allows another try, or the sender stops."""
        while not self._stopping and not self.breaker.due(loop.time()):
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(0.001, self.breaker.wait_s(loop.time()))):
                    await self._waiting.wait()
            self._waiting.clear()

    async def _commit(self, group: list[tuple[OutboxMessage, Outcome | NotSent]]) -> None:
        counts: collections.Counter[str] = collections.Counter()
        async with self._lease_lock, self.session_factory() as session:
            now = self.clock.now()
            sent = [(m, o.message_id) for m, o in group if isinstance(o, Delivered)]
            if sent:
                kept = await outbox.record_sent_many(session, sent=sent, now=now)
                if kept is not None and kept < len(sent):
                    log.warning("%d message(s) were sent after their lease ended", len(sent) - kept)
                counts["sent"] += len(sent)
                # The question a typed answer answers, and whose buttons it then takes away.
                asked = {
                    asking[0]: (mid, asking[1])
                    for m, mid in sent
                    if (asking := self._asking(m)) is not None
                }
                if asked:
                    await repo.note_prompt_messages(session, sent=asked)
                polls = [
                    (m, o.message_id, o.poll_id)
                    for m, o in group
                    if isinstance(o, Delivered) and o.poll_id and m.kind == "poll"
                ]
                if polls:
                    await decisions.note_polls(session, sent=polls)
            for message, outcome in group:
                if not isinstance(outcome, Delivered):
                    await self._apply(session, message, outcome, now, counts)
            await outbox_figures.add_delivery_counts(session, counts=counts)
            await session.commit()
        for name, n in counts.items():
            setattr(self.stats, name, getattr(self.stats, name) + n)

    def _asking(self, message: OutboxMessage) -> tuple[int, bool] | None:
        """The run whose open question a row asks, and whether its message has buttons."""
        if message.run_id is None:
            return None
        if message.kind != CHECKIN_KIND:
            return message.run_id, message.reply_markup is not None
        composed = self._composed.get(held_id(message))
        if composed is None or not composed.asks:
            return None
        return message.run_id, composed.reply_markup is not None

    async def _apply(
        self,
        session: AsyncSession,
        message: OutboxMessage,
        outcome: Outcome | NotSent,
        now: datetime,
        counts: collections.Counter[str],
    ) -> None:
        if isinstance(outcome, NotSent):
            await outbox.release(session, message=message)
        elif isinstance(outcome, RateLimited):
            await outbox.release(session, message=message)
            counts["rate_limited"] += 1
        elif isinstance(outcome, Transient):
            attempt = message.attempts + 1
            if attempt >= self.max_attempts:
                log.error(
                    "outbox message %s failed after %d attempts: %s",
                    message.id,
                    attempt,
                    outcome.reason,
                )
                await outbox.record_attempt_failed(
                    session, message=message, error=outcome.reason, retry_at=None
                )
                counts["failed"] += 1
                return
            delay = backoff_delay(attempt, jitter=self._random.random())
            log.warning(
                "outbox message %s: attempt %d failed (%s); retry in %.1fs",
                message.id,
                attempt,
                outcome.reason,
                delay,
            )
            await outbox.record_attempt_failed(
                session,
                message=message,
                error=outcome.reason,
                retry_at=now + timedelta(seconds=delay),
            )
            counts["retried"] += 1
        elif isinstance(outcome, Blocked) and message.route is not None:
            # Blocking the raiser's chat here would tie it to the ticket in one transaction
            # (and one log line): only this message is given up; their own messages block it.
            log.info("outbox message %s skipped: %s", message.id, outcome.reason)
            await outbox.record_undeliverable(
                session, message=message, status=OutboxStatus.SKIPPED, reason=outcome.reason
            )
            counts["skipped"] += 1
        elif isinstance(outcome, Blocked):
            log.info("chat %s is closed to the bot: %s", message.chat_id, outcome.reason)
            counts["skipped"] += await outbox.block_chat(
                session, message=message, reason=outcome.reason, now=now
            )
        elif isinstance(outcome, ChatNotFound):
            log.warning("outbox message %s skipped: %s", message.id, outcome.reason)
            await outbox.record_undeliverable(
                session, message=message, status=OutboxStatus.SKIPPED, reason=outcome.reason
            )
            counts["skipped"] += 1
        else:
            reason = outcome.reason if isinstance(outcome, Rejected) else repr(outcome)
            log.error("outbox message %s failed: %s", message.id, reason)
            await outbox.record_undeliverable(
                session, message=message, status=OutboxStatus.FAILED, reason=reason
            )
            counts["failed"] += 1


def held_id(message: OutboxMessage) -> int:
    """A claimed row's id (claimed rows are always stored ones)."""
    assert message.id is not None
    return message.id
