"""The outbox sender: a long-running task that drains due messages within Telegram's limits.

One loop claims due rows in small batches (one short transaction, in the background), keeps
them in a heap by when their chat is free, and starts each send when the pacer allows it, at
most `send_concurrency` at a time. Outcomes are committed in small groups as Telegram answers
(`bot.delivery.outcomes`); a send counts as in flight until its outcome is committed. A
heartbeat (`bot.delivery.leases`) renews the leases of the rows this sender holds, so a lease
can be short and a dead sender's rows come back within seconds. When the database stops
answering (a claim, a commit or a renewal fails), a circuit breaker (`bot.delivery.breaker`)
stops claiming and sending until it answers again, and the outcomes it could not record are
kept and recorded then. Database times come from the injected Clock; pacing uses the event
loop's clock.

Every instance runs one sender; only the leader's claims (`lead`). Each one also sends the
replies its own updates wrote already leased (`deliver_now`, the fast path), recording their
outcomes with the same group commits and renewing their leases with the same heartbeat.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import heapq
import logging
import math
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.delivery.breaker import Breaker
from bot.delivery.leases import Heartbeat
from bot.delivery.limits import Pacer
from bot.delivery.outcomes import NotSent, OutcomeRecorder, SenderStats, held_id
from bot.delivery.shown import ShownMessages
from bot.delivery.transport import (
    Composed,
    Delivered,
    Migrated,
    Outcome,
    Outgoing,
    RateLimited,
    Rejected,
    Transient,
    Transport,
    split_options,
)
from bot.domain.clock import Clock
from bot.storage import outbox
from bot.storage.db import SessionFactory
from bot.storage.models import CHECKIN_KIND, OutboxMessage, OutboxStatus

log = logging.getLogger(__name__)

POLL_INTERVAL_S = 1.0
# After a claim that found less than it asked for, claim again this soon at the earliest
# (unless woken by an enqueue), so finishing sends do not each cost a claim transaction.
CLAIM_GAP_S = 0.05
# Chats not free within this are left in the database rather than held here under lease.
BUSY_HORIZON_S = 0.25
MAX_EXCLUDED_CHATS = 500
# Rows claimed per transaction: about this many seconds of sending at the configured rate.
BATCH_SECONDS = 0.25
MAX_BATCH = 500


class Composer(Protocol):
    """Writes the messages the outbox keeps as data (check-ins) just before they are sent."""

    async def compose(
        self, session: AsyncSession, messages: Sequence[OutboxMessage]
    ) -> dict[int, Composed | None]: ...


class Sender:
    """Delivers outbox messages; `start`, `wake` after an enqueue commits, `stop`."""

    def __init__(
        self,
        *,
        settings: Settings,
        session_factory: SessionFactory,
        transport: Transport,
        clock: Clock,
        poll_interval: float = POLL_INTERVAL_S,
        seed: int | None = None,
        open_route: Callable[[str], tuple[int, str | None] | None] | None = None,
        composer: Composer | None = None,
        claiming: bool = True,
        on_reply_rate_limited: Callable[[], None] | None = None,
        owner: str | None = None,
        shown: ShownMessages | None = None,
    ) -> None:
        self.session_factory = session_factory
        # Message ids of rows sent here, until their outcome is committed (typed answers read them).
        self.shown = ShownMessages() if shown is None else shown
        # "<instance>/<run>" on the leases taken here (`lease_owner`); at start the sender
        # takes back what an earlier run of its instance held when it died.
        self.owner = owner
        # Told of each 429 met on the fast path (the reply path's metric).
        self.on_reply_rate_limited = on_reply_rate_limited
        # Claims due rows (the leader's sender); any sender delivers its replies (`deliver_now`).
        self.claiming = claiming
        # Opens the sealed chat (and text) of a message to an anonymous raiser, only to send it.
        self.open_route = open_route
        self.transport = transport
        self.composer = composer
        self._composed: dict[int, Composed | None] = {}
        self.clock = clock
        self.poll_interval = poll_interval
        self.paid = settings.paid_broadcast
        rate = settings.paid_broadcast_rate_per_s if self.paid else settings.send_rate_per_s
        self.pacer = Pacer(
            global_per_s=rate,
            chat_per_s=settings.send_per_chat_per_s,
            group_per_min=settings.send_group_per_min,
        )
        self.lease = timedelta(seconds=settings.send_lease_s)
        # A claimed row is sent only while this much of its lease is left, so that a row
        # held back here is never sent after another sender may have re-claimed it.
        self.lease_margin = timedelta(seconds=min(5.0, settings.send_lease_s / 4))
        self.batch = max(
            2 * settings.send_concurrency, min(MAX_BATCH, math.ceil(rate * BATCH_SECONDS))
        )
        self.stats = SenderStats()
        self.breaker = Breaker(seed=seed)
        self._slots = asyncio.Semaphore(settings.send_concurrency)
        self._signal = asyncio.Event()
        self._idle = asyncio.Event()
        # (when its chat is free, 0 for a reply else 1, row id, row): a reply claimed after
        # bulk rows still goes before them.
        self._ready: list[tuple[float, int, int, OutboxMessage]] = []
        self._held: dict[int, OutboxMessage] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        # Renewals and outcome commits both rewrite a held row's lease token: one at a time.
        self._lease_lock = asyncio.Lock()
        self.heartbeat = Heartbeat(
            session_factory=session_factory,
            clock=clock,
            breaker=self.breaker,
            lease_lock=self._lease_lock,
            held=self._held,
            lease=self.lease,
            on_lost=self._lost,
            on_failed=self._signal.set,
        )
        self.outcomes = OutcomeRecorder(
            session_factory=session_factory,
            clock=clock,
            breaker=self.breaker,
            lease_lock=self._lease_lock,
            stats=self.stats,
            composed=self._composed,
            max_attempts=settings.send_max_attempts,
            group_target=max(1, settings.send_concurrency // 2),
            on_answered=self._database_answered,
            on_failed=self._signal.set,
            seed=seed,
        )
        self._task: asyncio.Task[None] | None = None
        self._claiming: asyncio.Task[None] | None = None
        self._stopping = False
        self._paused_until = -math.inf
        self._last_claim = -math.inf
        self._next_look = math.inf  # loop time at which a queued row or a busy chat comes free
        self._woken = True
        self._more = False
        self._finished = False

    # -- control ---------------------------------------------------------------------------

    def start(self) -> None:
        """Run in the background until `stop`."""
        if self._task is None:
            self._stopping = False
            self._task = asyncio.create_task(self.run(), name="outbox-sender")

    def lead(self) -> None:
        """Start claiming due rows (this instance leads)."""
        self.claiming = True
        self.wake()

    async def follow(self) -> None:
        """Stop claiming; rows claimed but not yet sent go back to the queue."""
        self.claiming = False
        self._signal.set()
        if self._claiming is not None:
            await asyncio.wait([self._claiming])
        waiting = [entry[-1] for entry in self._ready]
        self._ready.clear()
        await self._give_back(waiting)

    def wake(self) -> None:
        """New messages were committed: look for them now instead of at the next poll."""
        self._woken = True
        self._idle.clear()
        self._signal.set()

    async def stop(self) -> None:
        """Finish the sends in flight, put claimed but unsent rows back, close the transport."""
        self._stopping = True
        self.heartbeat.stop()
        self._signal.set()
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.transport.close()

    async def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until nothing is due, claimed or in flight (after the last `wake`)."""
        async with asyncio.timeout(timeout):
            await self._idle.wait()

    # -- the loop --------------------------------------------------------------------------

    async def run(self) -> None:
        """Drain the outbox until stopped."""
        loop = asyncio.get_running_loop()
        writer = asyncio.create_task(self.outcomes.run(), name="outbox-outcomes")
        heartbeat = asyncio.create_task(self.heartbeat.run(), name="outbox-heartbeat")
        try:
            await self._take_back(loop)
            while not self._stopping:
                try:
                    await self._turn(loop)
                except Exception as exc:
                    # Every step of a turn that can fail is a database call.
                    self.breaker.failed(exc, loop.time())
            await self._drain()
        finally:
            self.outcomes.stop()
            await writer
            await heartbeat

    async def _turn(self, loop: asyncio.AbstractEventLoop) -> None:
        now = loop.time()
        if self.breaker.is_open:
            await self._while_open(loop)
            return
        if self._paused_until > now:
            await self._wait(self._paused_until - now)
            return
        if self._claiming is None and self._should_claim(now):
            # Claim in the background: sending goes on from what is already claimed.
            self._claiming = asyncio.create_task(self._claim(loop), name="outbox-claim")
            self._claiming.add_done_callback(self._claimed)
        if not self._ready:
            busy = self._claiming is not None or self._tasks
            looking = self.claiming and (self._woken or self._finished or self._more)
            if not busy and not looking:
                self._idle.set()
            await self._wait(self._idle_timeout(loop.time()))
            return
        message = self._ready[0][-1]
        start = self.pacer.ready_at(message.chat_id, loop.time())
        if start > loop.time():
            # Not before an answer comes back (inf), or the moment the pacer names.
            await self._wait(min(start - loop.time(), self.poll_interval))
            return
        if self._slots.locked():
            # Wait for a send to finish, then look again: the heap may change meanwhile.
            async with self._slots:
                return
        heapq.heappop(self._ready)
        if self._lease_left(message) < self.lease_margin:
            await self._give_back([message])
            return
        await self._slots.acquire()  # free, and nothing ran since: returns at once
        self.pacer.take(message.chat_id, loop.time())
        task = asyncio.create_task(self._deliver(message), name=f"outbox-{message.id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _should_claim(self, now: float) -> bool:
        if not self.claiming or self._stopping or len(self._ready) >= max(1, self.batch // 2):
            return False
        since = now - self._last_claim
        if self._woken or self._more:
            return True
        if self._finished and since >= CLAIM_GAP_S:
            return True
        return since >= self.poll_interval or now >= self._next_look

    def _idle_timeout(self, now: float) -> float:
        if not self.claiming:
            return self.poll_interval  # until `lead` or `stop` signals
        moments = [self._last_claim + self.poll_interval, self._next_look]
        if self._finished:
            moments.append(self._last_claim + CLAIM_GAP_S)
        return max(0.001, min(moments) - now)

    async def _take_back(self, loop: asyncio.AbstractEventLoop) -> None:
        """Queue again the rows an earlier run of this instance held when it died."""
        if self.owner is None:
            return
        try:
            async with self.session_factory() as session:
                taken = await outbox.take_back(session, owner=self.owner)
                await session.commit()
        except Exception as exc:
            # Their leases still end; the breaker probes until the database answers.
            self.breaker.failed(exc, loop.time())
            return
        if taken:
            self.stats.lease_expired += taken
            log.warning(
                "%d outbox message(s) held by this instance before a restart; queued again", taken
            )
            self.wake()

    async def _while_open(self, loop: asyncio.AbstractEventLoop) -> None:
        """Send nothing; probe the database when the back-off allows.

        While sends wait for their outcomes to be recorded, the outcome writer's retries are
        the probes.
        """
        if not self.breaker.due(loop.time()) or self._tasks or self._claiming is not None:
            await self._wait(max(0.001, self.breaker.wait_s(loop.time())))
            return
        async with self.session_factory() as session:
            await outbox.next_due_at(session)
        self._database_answered()

    def _database_answered(self) -> None:
        if self.breaker.is_open:
            self.breaker.succeeded(asyncio.get_running_loop().time())
            # Leases may have lapsed meanwhile: renew the ones still ours before sending.
            self.heartbeat.renew_soon()
            self._signal.set()

    async def _wait(self, seconds: float) -> None:
        if seconds > 0 and not self._signal.is_set():
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(seconds):
                    await self._signal.wait()
        self._signal.clear()

    # -- claiming --------------------------------------------------------------------------

    async def _claim(self, loop: asyncio.AbstractEventLoop) -> None:
        now_loop = loop.time()
        busy = self.pacer.busy_chats(now_loop, BUSY_HORIZON_S)
        excluded = sorted(busy, key=busy.__getitem__, reverse=True)[:MAX_EXCLUDED_CHATS]
        room = self.batch - len(self._ready)
        self._woken = self._finished = False
        now = self.clock.now()
        async with self.session_factory() as session:
            expired = await outbox.requeue_expired(session, now=now, keep=self._held.keys())
            rows = await outbox.claim_due(
                session,
                now=now,
                lease_until=now + self.lease,
                limit=room,
                exclude_chats=excluded,
                owner=self.owner,
            )
            next_due = None if len(rows) == room else await outbox.next_due_at(session)
            await session.commit()
        self._last_claim = now_loop
        self.stats.claims += 1
        if expired:
            self.stats.lease_expired += expired
            log.warning("%d outbox message(s) outlived their lease; queued again", expired)
        self._more = len(rows) == room
        self._next_look = math.inf
        if next_due is not None and next_due > now:
            self._next_look = now_loop + (next_due - now).total_seconds()
        if busy:
            self._next_look = min(self._next_look, min(busy.values()))
        await self._compose(rows)
        for row in rows:
            if row.status != OutboxStatus.SENDING:
                self.stats.skipped += 1
                continue
            self._held[held_id(row)] = row
            lane = 0 if row.source == outbox.REPLY else 1
            ready_at = self.pacer.chat_ready_at(row.chat_id, now_loop)
            heapq.heappush(self._ready, (ready_at, lane, held_id(row), row))
        if self._ready:
            self._idle.clear()

    async def _compose(self, rows: list[OutboxMessage]) -> None:
        """Write the claimed messages kept as data, in a read-only transaction of its own (the
        claim's write lock is already released)."""
        stored = [r for r in rows if r.kind == CHECKIN_KIND and r.status == OutboxStatus.SENDING]
        if not stored or self.composer is None:
            return
        async with self.session_factory() as session:
            self._composed.update(await self.composer.compose(session, stored))

    def _claimed(self, task: asyncio.Task[None]) -> None:
        self._claiming = None
        self._signal.set()
        if task.cancelled():
            return
        loop = asyncio.get_running_loop()
        exc = task.exception()
        if exc is None:
            self._database_answered()
            return
        self.breaker.failed(exc, loop.time())
        # Claim again only once the database answers a probe.
        self._woken = self._more = self._finished = False
        self._next_look = math.inf
        self._last_claim = loop.time()

    def _lease_left(self, message: OutboxMessage) -> timedelta:
        assert message.lease_until is not None
        return message.lease_until - self.clock.now()

    async def _give_back(self, messages: list[OutboxMessage]) -> None:
        """Put claimed rows back in the queue untouched."""
        if not messages:
            return
        async with self._lease_lock, self.session_factory() as session:
            for message in messages:
                await outbox.release(session, message=message)
            await session.commit()
        for message in messages:
            self._held.pop(held_id(message), None)
            self._composed.pop(held_id(message), None)
        self.stats.released += len(messages)
        self._finished = True

    async def _drain(self) -> None:
        if self._claiming is not None:
            await asyncio.wait([self._claiming])
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        waiting = [entry[-1] for entry in self._ready]
        self._ready.clear()
        try:
            await self._give_back(waiting)
        except Exception:
            log.exception("could not release %d claimed message(s); leases will", len(waiting))

    # -- sending ---------------------------------------------------------------------------

    async def deliver_now(self, messages: Sequence[OutboxMessage], *, wait_s: float) -> None:
        """The fast path: send one chat's replies, written leased by the update that made them,
        in order, and wait (up to `wait_s`) for their outcomes to be committed with the next
        group. Should one not be delivered, it and those after it go back to the queue for the
        claiming sender (a 429 or 5xx is retried after its back-off there)."""
        loop = asyncio.get_running_loop()
        committed: list[asyncio.Future[None]] = []
        failed = False
        for message in messages:
            row_id = held_id(message)
            self._held[row_id] = message
            outcome: Outcome | NotSent = NotSent()
            if not (failed or self._stopping or self.breaker.is_open):
                if self._paused_until <= loop.time():
                    try:
                        outcome = await self._send_once(message)
                    except Exception:
                        # Moving a migrated chat's rows failed: the leases of this row and
                        # those after it end, and the claiming sender takes them again.
                        log.exception("outbox message %s: not sent; retried later", row_id)
                        for later in messages[messages.index(message) :]:
                            self._held.pop(held_id(later), None)
                        break
                if isinstance(outcome, RateLimited) and self.on_reply_rate_limited is not None:
                    self.on_reply_rate_limited()
                failed = not isinstance(outcome, Delivered)
            future = self.outcomes.submit(message, outcome)
            future.add_done_callback(functools.partial(self._let_go, row_id))
            committed.append(future)
        await asyncio.wait(committed, timeout=wait_s)
        if failed and self.claiming:
            self.wake()

    def _let_go(self, row_id: int, _: asyncio.Future[None]) -> None:
        """A fast-path row's outcome is committed: its lease needs no more renewals."""
        self._held.pop(row_id, None)
        self.shown.settled(row_id)

    async def _send_once(self, message: OutboxMessage) -> Outcome:
        """Send one row, following a group's move to a supergroup; a 429 pauses all sends."""
        outcome = await self._send(message)
        if isinstance(outcome, Migrated):
            outcome = await self._follow_migration(message, outcome)
        if isinstance(outcome, Delivered):
            self.shown.sent(held_id(message), outcome.message_id)
        if isinstance(outcome, RateLimited):
            # Telegram limits the whole bot, so every send waits, not just this chat's.
            loop = asyncio.get_running_loop()
            self._paused_until = max(self._paused_until, loop.time() + outcome.retry_after)
            log.warning("Telegram asked to wait %ss (429); all sends paused", outcome.retry_after)
        return outcome

    async def _deliver(self, message: OutboxMessage) -> None:
        try:
            chat_id = message.chat_id
            try:
                outcome = await self._send_once(message)
            finally:
                self.pacer.answered(chat_id, asyncio.get_running_loop().time())
            await self._record(message, outcome)
        except Exception:
            log.exception(
                "outbox message %s: outcome not recorded; it is retried when its lease ends",
                message.id,
            )
        finally:
            self._held.pop(held_id(message), None)
            self.shown.settled(held_id(message))
            self._composed.pop(held_id(message), None)
            self._slots.release()
            self._finished = True
            # An answer frees room in the pacer's windows, and the chat's next message may be
            # claimable now.
            self._signal.set()

    async def _send(self, message: OutboxMessage) -> Outcome:
        kind, text, markup = message.kind, message.text, message.reply_markup
        if kind == CHECKIN_KIND:
            composed = self._composed.get(held_id(message))
            if composed is None:
                return Rejected("the check-in's flow is gone or changed; it cannot be written")
            kind, text, markup = "text", composed.text, composed.reply_markup
        chat_id = message.chat_id
        if message.route is not None:
            opened = None if self.open_route is None else self.open_route(message.route)
            if opened is None:
                return Rejected("the sealed route cannot be opened with this anonymity key")
            chat_id, sealed_text = opened
            text = text if sealed_text is None else sealed_text
        markup, options = split_options(markup)
        outgoing = Outgoing(
            chat_id=chat_id,
            kind=kind,
            text=text,
            reply_markup=markup,
            media_file_id=message.media_file_id,
            paid=self.paid,
            options=options,
            source=message.source,
        )
        try:
            return await self.transport.send(outgoing)
        except Exception as exc:
            log.exception("outbox message %s: the transport failed", message.id)
            return Transient(f"{type(exc).__name__}: {exc}")

    async def _follow_migration(self, message: OutboxMessage, migrated: Migrated) -> Outcome:
        """Point the chat's member and messages at the supergroup, then send there once."""
        old = message.chat_id
        log.warning("chat %s became supergroup %s; moving its messages", old, migrated.chat_id)
        async with self.session_factory() as session:
            await outbox.move_chat(
                session, old_chat_id=old, new_chat_id=migrated.chat_id, now=self.clock.now()
            )
            await session.commit()
        message.chat_id = migrated.chat_id
        loop = asyncio.get_running_loop()
        while (
            start := max(
                self.pacer.ready_at(message.chat_id, now := loop.time()), self._paused_until
            )
        ) > now:
            await asyncio.sleep(min(start - now, self.poll_interval))
        self.pacer.take(message.chat_id, loop.time())
        try:
            outcome = await self._send(message)
        finally:
            self.pacer.answered(message.chat_id, loop.time())
        if isinstance(outcome, Migrated):
            return Rejected(f"chat {old} migrated twice (now to {outcome.chat_id})")
        return outcome

    # -- recording outcomes ----------------------------------------------------------------

    async def _record(self, message: OutboxMessage, outcome: Outcome | NotSent) -> None:
        """Hand an outcome to the next group commit; return once it is committed."""
        await self.outcomes.submit(message, outcome)

    # -- leases ----------------------------------------------------------------------------

    def _lost(self, lost: set[int]) -> None:
        """Rows another sender re-claimed (their leases had lapsed): never send them here."""
        waiting = [entry for entry in self._ready if entry[2] in lost]
        if not waiting:
            return
        self._ready = [entry for entry in self._ready if entry[2] not in lost]
        heapq.heapify(self._ready)
        for _, _, row_id, _ in waiting:
            self._held.pop(row_id, None)
        self.stats.taken_back += len(waiting)
        log.warning("%d claimed message(s) were re-claimed elsewhere; not sent", len(waiting))
