"""The sender through the emulator and a real database: limits, outcomes, ordering, leases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from outbox_harness import Delivery, running_sender

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage import outbox, outbox_figures, repo
from bot.storage.models import Member, MemberStatus, OutboxStatus

SUPERGROUP = -1_001_234_567_890
UPGRADED = "Bad Request: group chat was upgraded to a supergroup chat"


async def _enqueue_all(delivery: Delivery, messages: list[tuple[Member, str]]) -> None:
    """Queue (member, text) pairs in one transaction, as a broadcast does."""
    async with delivery.session_factory() as session:
        for member, text in messages:
            await outbox.enqueue(
                session,
                chat_id=member.chat_id,
                member_id=member.id,
                text=text,
                now=delivery.clock.now(),
            )
        await session.commit()
    delivery.sender.wake()


async def test_messages_are_delivered_and_marked_sent(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        members = [await delivery.member(2000 + n) for n in range(3)]
        for member in members:
            await delivery.enqueue(member, f"Hello <b>{member.display_name}</b>")
        for member in members:
            (shown,) = await emulator.wait_for_messages(member.chat_id, 1)
            assert shown.plain_text == f"Hello {member.display_name}"
            assert shown.entities[0]["type"] == "bold"
        await delivery.settle()
        rows = await delivery.rows()
    assert [r.status for r in rows] == [OutboxStatus.SENT] * 3
    assert all(r.sent_at == clock.now() and r.telegram_message_id for r in rows)
    assert all(r.lease_until is None and r.attempts == 0 for r in rows)
    assert emulator.stats.too_many_requests == 0


async def test_pacing_stays_within_the_limits_close_to_the_configured_rate(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    rate, per_chat = 40.0, 4.0
    async with running_sender(
        emulator, settings, clock, send_rate_per_s=rate, send_per_chat_per_s=per_chat
    ) as delivery:
        members = [await delivery.member(3000 + n) for n in range(60)]
        # Ten chats get three messages each: their own limit binds, not the overall one.
        messages = [(m, f"news for {m.id}") for m in members] + [
            (m, f"more for {m.id} #{k}") for m in members[:10] for k in (1, 2)
        ]
        await _enqueue_all(delivery, messages)
        for n, member in enumerate(members):
            await emulator.wait_for_messages(member.chat_id, 3 if n < 10 else 1, 15)
    stats = emulator.stats
    assert stats.too_many_requests == 0
    assert stats.messages_sent == len(messages) == 80
    assert stats.first_message_at is not None and stats.last_message_at is not None
    # Never above the limit; how close to it the sender gets is bench/broadcast.py's to measure.
    achieved = (len(messages) - 1) / (stats.last_message_at - stats.first_message_at)
    assert achieved <= rate, (achieved, stats)


async def test_sends_the_server_counts_late_never_overflow_its_window(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    """Telegram counts a send when it arrives, somewhere between our request and its answer:
    a few requests held up on the way must not push a window over the limit."""
    rate = 40.0
    emulator.inject_fault("sendMessage", status=200, description="slow network", delay=0.3, count=4)
    async with running_sender(emulator, settings, clock, send_rate_per_s=rate) as delivery:
        members = [await delivery.member(4500 + n) for n in range(90)]
        await _enqueue_all(delivery, [(m, "news") for m in members])
        for member in members:
            await emulator.wait_for_messages(member.chat_id, 1, 15)
        await delivery.settle()
    assert emulator.stats.too_many_requests == 0
    assert emulator.stats.messages_sent == 90


async def test_a_429_pauses_every_send_then_all_are_delivered(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    emulator.inject_fault(
        "sendMessage", status=429, description="Too Many Requests: retry after 1", retry_after=1
    )
    events = emulator.subscribe()
    loop = asyncio.get_running_loop()
    async with running_sender(emulator, settings, clock) as delivery:
        members = [await delivery.member(4000 + n) for n in range(5)]
        await _enqueue_all(delivery, [(m, "update") for m in members])
        await emulator.wait_for_calls("sendMessage", 1)
        limited_at = loop.time()
        first = await asyncio.wait_for(events.get(), 10)
        first_at = loop.time()
        for member in members:
            assert len(await emulator.wait_for_messages(member.chat_id, 1)) == 1
        await delivery.settle()
        rows = await delivery.rows()
    assert first.kind == "message"
    assert first_at - limited_at >= 0.9, "sending went on during the pause Telegram asked for"
    assert emulator.calls["sendMessage"] == 6
    assert [(r.status, r.attempts) for r in rows] == [(OutboxStatus.SENT, 0)] * 5
    assert delivery.sender.stats.rate_limited == 1


async def test_a_blocked_user_is_marked_and_their_other_messages_skipped(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        gone = await delivery.member(5001)
        stays = await delivery.member(5002)
        emulator.block(gone.chat_id)
        await _enqueue_all(
            delivery,
            [
                (m, f"to the {who} one #{n}")
                for n in range(3)
                for m, who in ((gone, "blocked"), (stays, "other"))
            ],
        )
        await emulator.wait_for_messages(stays.chat_id, 3)
        await delivery.settle()
        skipped = await delivery.rows(chat_id=gone.chat_id)
        assert (await delivery.reload(gone)).status == MemberStatus.BLOCKED
        assert (await delivery.reload(stays)).status == MemberStatus.ACTIVE
    assert [r.status for r in skipped] == [OutboxStatus.SKIPPED] * 3
    assert {r.last_error for r in skipped} == {"Forbidden: bot was blocked by the user"}
    assert emulator.stats.forbidden == 1
    assert [m.plain_text for m in emulator.messages(stays.chat_id)] == [
        f"to the other one #{n}" for n in range(3)
    ]


async def test_a_server_error_is_retried_after_a_back_off(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    emulator.inject_fault("sendMessage", status=502, description="Bad Gateway")
    async with running_sender(emulator, settings, clock) as delivery:
        member = await delivery.member(6001)
        (row,) = await delivery.enqueue(member, "second time lucky")
        await delivery.settle()
        (waiting,) = await delivery.rows()
        assert waiting.status == OutboxStatus.QUEUED
        assert waiting.attempts == 1
        assert waiting.last_error is not None and "Bad Gateway" in waiting.last_error
        assert clock.now() < waiting.next_attempt_at <= clock.now() + timedelta(seconds=2)
        assert emulator.messages(member.chat_id) == []

        await delivery.retry_now()
        (sent,) = await delivery.rows()
    assert sent.status == OutboxStatus.SENT
    assert [m.plain_text for m in emulator.messages(member.chat_id)] == ["second time lucky"]


async def test_a_persistent_server_error_fails_after_the_last_attempt(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    emulator.inject_fault("sendMessage", status=500, description="Internal Server Error", count=9)
    async with running_sender(emulator, settings, clock, send_max_attempts=3) as delivery:
        member = await delivery.member(6002)
        await delivery.enqueue(member, "never")
        await delivery.settle()
        for _ in range(2):
            await delivery.retry_now()
        (row,) = await delivery.rows()
        await delivery.retry_now()
    assert row.status == OutboxStatus.FAILED
    assert row.attempts == 3
    assert row.last_error is not None and "Internal Server Error" in row.last_error
    assert emulator.calls["sendMessage"] == 3


async def test_a_timeout_is_retried(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    emulator.inject_fault("sendMessage", status=504, description="Gateway Timeout", delay=3.0)
    async with running_sender(emulator, settings, clock, telegram_timeout=0.5) as delivery:
        member = await delivery.member(6003)
        await delivery.enqueue(member, "patience")
        await delivery.settle()
        (waiting,) = await delivery.rows()
        assert waiting.status == OutboxStatus.QUEUED and waiting.attempts == 1
        assert waiting.last_error is not None and "timeout" in waiting.last_error.lower()
        await delivery.retry_now()
        (sent,) = await delivery.rows()
    assert sent.status == OutboxStatus.SENT
    assert [m.plain_text for m in emulator.messages(member.chat_id)] == ["patience"]


async def test_chat_not_found_is_skipped_with_its_reason(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        nowhere = await delivery.member(7001, open_chat=False)
        await delivery.enqueue(nowhere, "hello?")
        await delivery.settle()
        (row,) = await delivery.rows()
        assert (await delivery.reload(nowhere)).status == MemberStatus.ACTIVE
    assert row.status == OutboxStatus.SKIPPED
    assert row.last_error == "Bad Request: chat not found"


async def test_a_message_telegram_refuses_fails_with_the_reason(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        member = await delivery.member(7002)
        await delivery.enqueue(member, "<b>never closed")
        await delivery.enqueue(member, "the next one still goes")
        await emulator.wait_for_messages(member.chat_id, 1)
        await delivery.settle()
        failed, sent = await delivery.rows()
    assert failed.status == OutboxStatus.FAILED
    assert failed.last_error is not None and "can't parse entities" in failed.last_error
    assert failed.attempts == 0
    assert sent.status == OutboxStatus.SENT


async def test_a_migrated_group_gets_its_messages_at_the_new_id(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        group = await delivery.member(8001, chat_id=-4001)
        emulator.open_chat(SUPERGROUP)
        emulator.inject_fault(
            "sendMessage",
            status=400,
            description=UPGRADED,
            parameters={"migrate_to_chat_id": SUPERGROUP},
        )
        await _enqueue_all(delivery, [(group, "first"), (group, "second")])
        await emulator.wait_for_messages(SUPERGROUP, 2)
        await delivery.settle()
        rows = await delivery.rows()
        assert (await delivery.reload(group)).chat_id == SUPERGROUP
    assert [(r.chat_id, r.status) for r in rows] == [(SUPERGROUP, OutboxStatus.SENT)] * 2
    assert [m.plain_text for m in emulator.messages(SUPERGROUP)] == ["first", "second"]
    assert emulator.messages(-4001) == []
    assert emulator.calls["sendMessage"] == 3


async def test_a_long_text_arrives_in_parts_in_order(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    paragraphs = [f"<b>Part {n}</b> " + ("word " * 600).strip() for n in range(1, 4)]
    keyboard = {"inline_keyboard": [[{"text": "OK", "callback_data": "ok"}]]}
    async with running_sender(emulator, settings, clock) as delivery:
        member = await delivery.member(9001)
        rows = await delivery.enqueue(member, "\n\n".join(paragraphs), reply_markup=keyboard)
        shown = await emulator.wait_for_messages(member.chat_id, 3)
        await delivery.settle()
    assert len(rows) == 3
    assert [m.plain_text.split(" ", 2)[:2] for m in shown] == [["Part", str(n)] for n in (1, 2, 3)]
    assert all(len(m.plain_text) <= 4096 for m in shown)
    assert [m.buttons for m in shown] == [[], [], [("OK", "ok")]]


async def test_a_long_caption_is_followed_by_the_rest_as_text(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    caption = "A photo of the meeting. " + "Details follow here. " * 80
    async with running_sender(emulator, settings, clock) as delivery:
        member = await delivery.member(9002)
        await delivery.enqueue(
            member, caption, kind="photo", media_file_id="https://example.org/meeting.jpg"
        )
        photo, rest = await emulator.wait_for_messages(member.chat_id, 2)
    assert photo.kind == "photo" and len(photo.plain_text) <= 1024
    assert rest.kind == "text"
    assert f"{photo.plain_text} {rest.plain_text}" == caption.strip()


async def test_an_expired_lease_puts_a_stuck_message_back(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock, send_lease_s=30) as delivery:
        member = await delivery.member(9101)
        async with delivery.session_factory() as session:
            await outbox.enqueue(
                session, chat_id=member.chat_id, member_id=member.id, text="stuck", now=clock.now()
            )
            # A sender claims it, then dies before sending: the row is left `sending`.
            (claimed,) = await outbox.claim_due(
                session, now=clock.now(), lease_until=clock.now() + timedelta(seconds=30), limit=5
            )
            await session.commit()
        delivery.sender.wake()
        await delivery.settle()
        (still,) = await delivery.rows()
        assert still.status == OutboxStatus.SENDING
        assert emulator.messages(member.chat_id) == []

        clock.advance(timedelta(seconds=31))
        delivery.sender.wake()
        (shown,) = await emulator.wait_for_messages(member.chat_id, 1)
        await delivery.settle()
        (sent,) = await delivery.rows()
    assert shown.plain_text == "stuck"
    assert sent.status == OutboxStatus.SENT
    assert delivery.sender.stats.lease_expired == 1


async def test_a_dedupe_key_makes_a_second_enqueue_a_no_op(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        member = await delivery.member(9201)
        key = f"broadcast:1:member:{member.id}"
        assert len(await delivery.enqueue(member, "once", dedupe_key=key)) == 1
        assert await delivery.enqueue(member, "once", dedupe_key=key) == []
        long = "\n\n".join(["x" * 4000] * 2)
        split = await delivery.enqueue(member, long, dedupe_key=f"{key}:long")
        assert [r.dedupe_key for r in split] == [f"{key}:long:part1", f"{key}:long:part2"]
        assert await delivery.enqueue(member, long, dedupe_key=f"{key}:long") == []
        await emulator.wait_for_messages(member.chat_id, 3)
        await delivery.settle()
        assert len(await delivery.rows()) == 3
    assert len(emulator.messages(member.chat_id)) == 3


async def test_a_chat_gets_its_messages_in_order_even_through_a_retry(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    emulator.inject_fault("sendMessage", status=502, description="Bad Gateway")
    async with running_sender(emulator, settings, clock) as delivery:
        member = await delivery.member(9301)
        other = await delivery.member(9302)
        for n in range(1, 6):
            await delivery.enqueue(member, f"step {n}")
        await delivery.enqueue(other, "meanwhile")
        await emulator.wait_for_messages(other.chat_id, 1)
        await delivery.settle()
        # The first message waits for its retry and holds the later ones back.
        assert emulator.messages(member.chat_id) == []
        await delivery.retry_now()
    assert [m.plain_text for m in emulator.messages(member.chat_id)] == [
        f"step {n}" for n in range(1, 6)
    ]


async def test_stopped_and_blocked_members_are_skipped_at_send_time(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        stopped = await delivery.member(9401, status=MemberStatus.STOPPED)
        blocked = await delivery.member(9402, status=MemberStatus.BLOCKED)
        active = await delivery.member(9403)
        for member in (stopped, blocked, active):
            await delivery.enqueue(member, "news")
        await emulator.wait_for_messages(active.chat_id, 1)
        await delivery.settle()
        rows = await delivery.rows()
    assert [(r.status, r.last_error) for r in rows] == [
        (OutboxStatus.SKIPPED, "member stopped"),
        (OutboxStatus.SKIPPED, "member blocked"),
        (OutboxStatus.SENT, None),
    ]
    assert emulator.calls["sendMessage"] == 1


async def test_a_scheduled_message_waits_for_its_time(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        member = await delivery.member(9501)
        later = clock.now() + timedelta(hours=2)
        await delivery.enqueue(member, "good morning", not_before=later)
        await delivery.enqueue(member, "right away")
        await emulator.wait_for_messages(member.chat_id, 1)
        await delivery.settle()
        assert [m.plain_text for m in emulator.messages(member.chat_id)] == ["right away"]
        await delivery.retry_now(minutes=121)
    assert [m.plain_text for m in emulator.messages(member.chat_id)] == [
        "right away",
        "good morning",
    ]


async def test_stop_finishes_in_flight_sends_and_puts_the_rest_back(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock, send_rate_per_s=5.0) as delivery:
        members = [await delivery.member(9600 + n) for n in range(20)]
        await _enqueue_all(delivery, [(m, "slowly") for m in members])
        await emulator.wait_for_messages(members[0].chat_id, 1)
        await delivery.sender.stop()
        rows = await delivery.rows()
    assert {r.status for r in rows} == {OutboxStatus.SENT, OutboxStatus.QUEUED}
    assert all(r.lease_until is None for r in rows)
    sent = [r for r in rows if r.status == OutboxStatus.SENT]
    assert len(sent) == emulator.stats.messages_sent < len(rows)


async def test_broadcast_figures_count_rows_by_status_and_reason(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        members = [await delivery.member(9700 + n) for n in range(4)]
        stopped = await delivery.member(9710, status=MemberStatus.STOPPED)
        emulator.block(members[0].chat_id)
        async with delivery.session_factory() as session:
            broadcast = await repo.create_broadcast(
                session,
                created_by=None,
                audience={},
                texts={"en": "hi"},
                media_kind=None,
                media_file_id=None,
                urgent=True,
                send_at=clock.now(),
                status="sending",
                now=clock.now(),
            )
            assert broadcast.id is not None
            for member in [*members, stopped]:
                await outbox.enqueue(
                    session,
                    chat_id=member.chat_id,
                    member_id=member.id,
                    text="hi",
                    broadcast_id=broadcast.id,
                    dedupe_key=f"broadcast:{broadcast.id}:member:{member.id}",
                    now=clock.now(),
                )
            depth = await outbox_figures.outbox_depth(session)
            await session.commit()
        delivery.sender.wake()
        for member in members[1:]:
            await emulator.wait_for_messages(member.chat_id, 1)
        await delivery.settle()
        async with delivery.session_factory() as session:
            counts = await outbox_figures.broadcast_counts(session, broadcast_id=broadcast.id)
            reasons = await outbox_figures.broadcast_failures(session, broadcast_id=broadcast.id)
            after = await outbox_figures.outbox_depth(session)
    assert depth == {"queued": 5, "sending": 0}
    assert counts == {"queued": 0, "sending": 0, "sent": 3, "failed": 0, "skipped": 2}
    assert reasons == {"Forbidden: bot was blocked by the user": 1, "member stopped": 1}
    assert after == {"queued": 0, "sending": 0}


async def test_the_app_runs_the_sender(emulator: BotAPIEmulator, app: BotApp) -> None:
    assert app.session_factory is not None
    emulator.open_chat(424242)
    async with app.session_factory() as session:
        await outbox.enqueue(
            session, chat_id=424242, member_id=None, text="from the outbox", now=app.clock.now()
        )
        await session.commit()
    app.wake_sender()
    (shown,) = await emulator.wait_for_messages(424242, 1)
    assert shown.plain_text == "from the outbox"


async def test_two_senders_share_the_outbox_without_sending_anything_twice(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with (
        running_sender(emulator, settings, clock, emulator_limits=False) as one,
        running_sender(emulator, settings, clock, emulator_limits=False) as two,
    ):
        members = [await one.member(9800 + n) for n in range(60)]
        await _enqueue_all(one, [(m, "exactly once") for m in members])
        two.sender.wake()
        for member in members:
            await emulator.wait_for_messages(member.chat_id, 1)
        await one.settle()
        await two.settle()
        rows = await one.rows()
    assert emulator.stats.messages_sent == 60
    assert {r.status for r in rows} == {OutboxStatus.SENT}
    assert one.sender.stats.sent + two.sender.stats.sent == 60


async def test_relays_to_anonymous_raisers_are_deleted_once_final(
    emulator: BotAPIEmulator, settings: Settings, clock: ManualClock
) -> None:
    async with running_sender(emulator, settings, clock) as delivery:
        reads = await delivery.member(9101)
        refused = await delivery.member(9102)
        nowhere = await delivery.member(9103, open_chat=False)
        blocked = await delivery.member(9104)
        named = await delivery.member(9105)
        emulator.block(blocked.chat_id)
        async with delivery.session_factory() as session:
            for member, text in (
                (reads, "Answer to C-AAAAAA"),
                (refused, "<b>never closed C-BBBBBB"),
                (nowhere, "Answer to C-CCCCCC"),
                (blocked, "Answer to C-DDDDDD"),
            ):
                await outbox.enqueue(
                    session,
                    chat_id=member.chat_id,
                    member_id=None,
                    text=text,
                    source=outbox.ANONYMOUS_RELAY,
                    now=clock.now(),
                )
            await outbox.enqueue(
                session,
                chat_id=named.chat_id,
                member_id=named.id,
                text="Answer to C-EEEEEE",
                source="ticket",
                now=clock.now(),
            )
            await session.commit()
        delivery.sender.wake()
        await emulator.wait_for_messages(reads.chat_id, 1)
        await emulator.wait_for_messages(named.chat_id, 1)
        await delivery.settle()
        rows = await delivery.rows()
        stats = delivery.sender.stats
    # Sent, refused, chat gone or bot blocked: the rows to anonymous raisers are gone.
    assert [(r.chat_id, r.source, r.status) for r in rows] == [
        (named.chat_id, "ticket", OutboxStatus.SENT)
    ]
    assert (stats.sent, stats.failed, stats.skipped) == (2, 1, 2)
    assert [m.plain_text for m in emulator.messages(reads.chat_id)] == ["Answer to C-AAAAAA"]
