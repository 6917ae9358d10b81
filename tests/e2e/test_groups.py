"""Committees in their own Telegram groups, end to end: binding (who may, what the bot needs, forum
topics made once), what is posted there (digests, ticket cards without a raiser), personal
commands answered privately, chatter ignored, the bot removed, the group upgraded.

The app starts at 09:00 UTC on Monday 5 January 2026; people write in groups through the
emulator's control API (`post_in_group`), which lets the bot read only what privacy mode lets
through (everything once it is an administrator).
"""

from __future__ import annotations

import json
from datetime import time, timedelta

import pytest
from conftest import ADMIN, Phone, go_on_without_media, onboard, wait_drained
from sqlalchemy import select as sa_select
from sqlmodel import SQLModel, col, select

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.domain.schedules import Recurrence, ScheduleSpec
from bot.sandbox.emulator import BotAPIEmulator, RateLimits, SentMessage
from bot.storage.group_models import CommitteeGroup, GroupPurpose
from bot.storage.models import AuditEntry, OutboxMessage, ScheduleKind, ScheduleStatus

AMINA, FATOU, MARC, STRANGER = 1001, 1002, 1003, 5555
REVIEW = 2  # the default partnership review schedule
BOUND = "This group is now the group of the committee “Steering group”"
TEXT = "The market road lights are broken near the school."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """No background sweep: a test ticks when it means to."""
    return settings.model_copy(update={"checkin_sweep_s": 3600.0})


class Group:
    """A Telegram group as its members see it: what the bot posted, and people writing."""

    def __init__(self, emulator: BotAPIEmulator, app: BotApp, chat_id: int) -> None:
        self.emulator, self.app, self.chat_id = emulator, app, chat_id
        # Reading what the bot posted works as for a private chat.
        self.screen = Phone(emulator, app, user_id=chat_id)

    @property
    def messages(self) -> list[SentMessage]:
        return self.emulator.messages(self.chat_id)

    async def post(self, user_id: int, text: str, *, reply_to: int | None = None) -> int | None:
        """`user_id` writes; return once the bot handled it (None: the bot never got it)."""
        posted = self.emulator.post_in_group(self.chat_id, user_id, text, reply_to=reply_to)
        if posted.update_id is not None:
            await self.app.tracker.wait_handled(posted.update_id)
        return posted.update_id

    async def wait_for(self, fragment: str) -> SentMessage:
        """The next message with `fragment` after the last one waited for."""
        found = await self.screen.wait_for(fragment, unseen=True)
        self.screen.seen = self.messages.index(found) + 1
        return found


async def make_group(
    emulator: BotAPIEmulator,
    app: BotApp,
    *,
    admins: tuple[int, ...] = (ADMIN,),
    members: tuple[int, ...] = (),
    forum: bool = False,
    bot_status: str = "member",
) -> Group:
    """A group created by the first of `admins`, the others made administrators, the bot in it."""
    creator, *others = admins
    chat_id = emulator.create_group(
        "Steering", creator=creator, supergroup=forum, forum=forum, members=members
    )
    for user_id in others:
        emulator.set_group_member(chat_id, user_id, "administrator")
    for update_id in emulator.set_bot_status(chat_id, bot_status, by=creator):
        await app.tracker.wait_handled(update_id)
    return Group(emulator, app, chat_id)


async def committee(admin: Phone, name: str = "Steering group") -> None:
    await admin.send(f"/committee new {name}")
    assert "created" in admin.new_text()


async def binding(app: BotApp) -> CommitteeGroup | None:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        return (await session.exec(select(CommitteeGroup))).first()


async def audited(app: BotApp, action: str) -> list[AuditEntry]:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        query = select(AuditEntry).where(col(AuditEntry.action) == action)
        return list((await session.exec(query)).all())


async def bound(emulator: BotAPIEmulator, app: BotApp, admin: Phone, **kwargs: bool) -> Group:
    """A group of Ada's bound to the steering group (a forum, with the bot administering it,
    when asked)."""
    await committee(admin)
    forum = bool(kwargs.get("forum"))
    group = await make_group(
        emulator,
        app,
        members=(AMINA, FATOU, MARC, STRANGER),
        forum=forum,
        bot_status="administrator" if forum else "member",
    )
    await group.post(ADMIN, "/bind Steering group")
    await group.wait_for(BOUND)
    return group


# --------------------------------------------------------------------------- binding


async def test_only_a_coordinator_administering_the_group_may_bind_it(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, marc: Phone, phone: Phone
) -> None:
    await onboard(phone)  # Amina, a member, administers the group with Ada
    await committee(admin)
    group = await make_group(emulator, app, admins=(ADMIN, AMINA), members=(MARC,))

    await group.post(AMINA, "/bind Steering group")
    await group.wait_for("Only a coordinator can bind or unbind this group.")
    await group.post(MARC, "/bind@partnerbot_sandbox_bot Steering group")
    await group.wait_for("Only an administrator of this group can bind or unbind it.")
    await group.post(ADMIN, "/bind")
    await group.wait_for("Send /bind followed by the committee’s number or name")
    await group.post(ADMIN, "/bind Finance")
    await group.wait_for("There is no committee “Finance”.")
    assert await binding(app) is None and await audited(app, "group.bound") == []

    await group.post(ADMIN, "/bind Steering group")
    said = await group.wait_for(BOUND)
    assert "never who raised them" in said.plain_text
    row = await binding(app)
    assert row is not None and row.chat_id == group.chat_id and not row.is_forum
    [entry] = await audited(app, "group.bound")
    assert entry.actor_label == f"admin {ADMIN}"
    assert entry.detail["chat"] == group.chat_id and entry.detail["name"] == "Steering group"
    # Nothing of it went to anyone privately.
    assert not any("bind" in m.plain_text for m in admin.new() + marc.new() + phone.new())


async def test_a_forum_needs_the_bot_to_manage_topics(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone
) -> None:
    await committee(admin)
    forum = await make_group(emulator, app, forum=True, bot_status="member")
    await forum.post(ADMIN, "/bind Steering group")
    await forum.wait_for("make me an administrator allowed to manage topics")
    assert await binding(app) is None and emulator.topics(forum.chat_id) == []


async def test_telegrams_refusals_while_checking_are_said_politely(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone
) -> None:
    await committee(admin)
    group = await make_group(emulator, app)
    emulator.inject_fault(
        "getChatMember",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        parameters={"migrate_to_chat_id": -1009999999999},
    )
    await group.post(ADMIN, "/bind Steering group")
    await group.wait_for("This group has just become a supergroup. Send /bind again in it.")
    emulator.inject_fault(
        "getChatMember", status=400, description="Bad Request: member list is inaccessible"
    )
    await group.post(ADMIN, "/bind Steering group")
    await group.wait_for("Telegram did not let me check this group just now.")
    assert await binding(app) is None


async def test_forum_topics_are_created_once_and_reused(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone
) -> None:
    group = await bound(emulator, app, admin, forum=True)
    assert "Each has its own topic." in group.messages[-1].plain_text
    topics = emulator.topics(group.chat_id)
    assert [t["name"] for t in topics] == ["Digests and results", "Concerns", "Decisions"]
    row = await binding(app)
    assert row is not None and row.is_forum
    threads = [row.thread_for(p) for p in GroupPurpose]
    assert threads == [t["message_thread_id"] for t in topics]
    assert emulator.calls["createForumTopic"] == 3

    await group.post(ADMIN, "/bind Steering group")
    await group.wait_for("Each has its own topic.")
    assert emulator.calls["createForumTopic"] == 3
    assert emulator.topics(group.chat_id) == topics
    again = await binding(app)
    assert again is not None and [again.thread_for(p) for p in GroupPurpose] == threads

    await group.post(ADMIN, "/unbind")
    await group.wait_for("This group is no longer the group of the committee “Steering group”")
    assert await binding(app) is None
    [entry] = await audited(app, "group.unbound")
    assert entry.detail["why"] == "unbind" and entry.detail["chat"] == group.chat_id
    await group.post(ADMIN, "/unbind")
    await group.wait_for("This group is not bound to any committee.")


# --------------------------------------------------------------------------- what is posted


async def raise_concern(phone: Phone, identity: str, *, voice: bool = False) -> None:
    await phone.send("/concern")
    for label in ("Resources", "The municipality", "Not urgent"):
        await phone.press(f". {label}")
    await phone.send(TEXT)
    await phone.press(identity)
    if not voice:
        await go_on_without_media(phone)
        return
    update_id = phone.emulator.send_voice(phone.user_id).update_id
    assert update_id is not None
    await phone.app.tracker.wait_handled(update_id)
    await phone.press("Done")


async def test_ticket_cards_in_the_group_name_no_raiser(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, phone: Phone
) -> None:
    await onboard(phone)
    group = await bound(emulator, app, admin, forum=True)
    row = await binding(app)
    assert row is not None
    tickets = row.thread_for(GroupPurpose.TICKETS)

    await raise_concern(phone, "Give my name", voice=True)
    named = await admin.wait_for("From: Amina")  # coordinators still see the name
    await raise_concern(phone, "Stay anonymous")
    await admin.wait_for("From: anonymous")
    cards = [await group.wait_for("New concern") for _ in range(2)]
    handle = named.plain_text.split()[3]
    for card in cards:
        assert card.thread_id == tickets
        assert card.reply_markup is None  # no buttons for the group
        assert "Amina" not in card.text and "From" not in card.text
        assert "anonymous" not in card.text
        assert card.plain_text.endswith(TEXT)
    # A voice names its speaker: it reaches coordinators privately (tests/e2e/test_media.py),
    # never the group, where it would come before the second card.
    assert [m.kind for m in group.messages if m.kind != "text"] == []
    # Named and anonymous cards read alike, but for their handles.
    assert cards[0].plain_text.replace(handle, "") == cards[1].plain_text.replace(
        cards[1].plain_text.split()[3], ""
    )


async def test_a_card_for_a_topic_closed_to_the_bot_goes_to_the_main_chat(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, phone: Phone
) -> None:
    """Demoted, the bot can neither write in a closed topic nor open a new one: the card is
    posted in the group's main chat rather than lost."""
    await onboard(phone)
    group = await bound(emulator, app, admin, forum=True)
    row = await binding(app)
    assert row is not None
    tickets = row.thread_for(GroupPurpose.TICKETS)
    assert tickets is not None
    emulator.set_topic(group.chat_id, tickets, closed=True)
    for update_id in emulator.set_bot_status(group.chat_id, "member", by=ADMIN):
        await app.tracker.wait_handled(update_id)
    await raise_concern(phone, "Give my name")
    card = await group.wait_for("New concern")
    assert card.thread_id is None and "Amina" not in card.text
    after = await binding(app)
    assert after is not None and after.thread_for(GroupPurpose.TICKETS) is None


async def voice_digest_schedule(app: BotApp) -> None:
    assert app.session_factory is not None and app.digests is not None
    async with app.session_factory() as session:
        await app.checkins.set_status(
            session, schedule_id=REVIEW, status=ScheduleStatus.PAUSED, now=app.clock.now()
        )
        await app.digests.create(
            session,
            ScheduleSpec(
                flow_id="",
                recurrence=Recurrence(kind="weekly", at=time(9, 30), days=(0,)),
                basis="partnership",
                window=timedelta(hours=24),
                reminders=(),
            ),
            kind=ScheduleKind.VOICE_DIGEST,
            committee="Steering group",
            now=app.clock.now(),
        )
        await session.commit()


async def tick(app: BotApp) -> None:
    assert app.scheduler is not None
    await app.scheduler.tick()


async def test_a_digest_lands_in_the_digests_topic_and_a_deleted_topic_is_made_anew(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, admin: Phone
) -> None:
    group = await bound(emulator, app, admin, forum=True)
    await admin.send("/committee staff Steering group 9001")
    admin.new()
    row = await binding(app)
    assert row is not None
    digests = row.thread_for(GroupPurpose.DIGESTS)
    await voice_digest_schedule(app)

    clock.advance(timedelta(minutes=30))  # Monday 09:30
    await tick(app)
    posted = await group.wait_for("Voice digest for Steering group")
    assert posted.thread_id == digests
    await admin.wait_for("Voice digest for Steering group")  # the private copy is kept

    # Someone deletes the topic: next week's digest opens a new one rather than being lost.
    assert digests is not None
    emulator.set_topic(group.chat_id, digests, deleted=True)
    clock.advance(timedelta(days=7))
    await tick(app)
    again = await group.wait_for("Voice digest for Steering group")
    renewed = await binding(app)
    assert renewed is not None
    fresh = renewed.thread_for(GroupPurpose.DIGESTS)
    assert fresh is not None and fresh != digests and again.thread_id == fresh
    assert [t["name"] for t in emulator.topics(group.chat_id)] == [
        "Concerns",
        "Decisions",
        "Digests and results",
    ]


async def test_group_posts_keep_to_twenty_a_minute(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, phone: Phone
) -> None:
    emulator.set_limits(RateLimits(group_per_min=20))
    await onboard(phone)
    group = await bound(emulator, app, admin)
    for _ in range(3):
        await raise_concern(phone, "Give my name")
    cards = [await group.wait_for("New concern") for _ in range(3)]
    assert emulator.stats.throttled == 0
    dates = [m.date for m in cards]
    assert dates[-1] - dates[0] >= 5  # at least 60/20 s apart, each


async def test_posts_held_for_the_night_are_given_up_when_the_group_is_unbound(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, admin: Phone, phone: Phone
) -> None:
    await onboard(phone)
    group = await bound(emulator, app, admin)
    clock.advance(timedelta(hours=13))  # 22:00: the card waits for the end of quiet hours
    await raise_concern(phone, "Give my name")
    await admin.wait_for("From: Amina")
    [held] = await group_rows(app, group.chat_id, "group:tickets")
    assert held.status == "queued" and held.next_attempt_at.hour == 8
    await group.post(ADMIN, "/unbind")
    await group.wait_for("This group is no longer the group of the committee")
    [given_up] = await group_rows(app, group.chat_id, "group:tickets")
    assert given_up.status == "skipped" and given_up.last_error == "the group was unbound"
    clock.advance(timedelta(hours=11))
    assert app.sender is not None and app.session_factory is not None
    app.sender.wake()
    await wait_drained(app.session_factory)
    assert not any("New concern" in m.plain_text for m in group.messages)


async def group_rows(app: BotApp, chat_id: int, source: str) -> list[OutboxMessage]:
    assert app.session_factory is not None
    async with app.session_factory() as session:
        query = select(OutboxMessage).where(
            col(OutboxMessage.chat_id) == chat_id, col(OutboxMessage.source) == source
        )
        return list((await session.exec(query)).all())


# --------------------------------------------------------------------------- privacy


async def test_personal_commands_in_a_group_are_answered_privately(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, phone: Phone
) -> None:
    await onboard(phone)
    group = await bound(emulator, app, admin)
    before = len(group.messages)

    await group.post(AMINA, "/mydata")
    await group.wait_for("I have written to you privately.")
    export = await phone.wait_for("Everything partnerbot stores about you")
    assert export.kind == "document" and export.file_name == "partnerbot-my-data.json"
    assert json.loads(export.file_bytes or b"")["profile"]["display_name"] == "Amina"

    await group.post(AMINA, "/concern")
    await phone.wait_for("What is your concern about?")
    await group.post(STRANGER, "/start")
    invite = await group.wait_for("we have none yet")
    assert "https://t.me/partnerbot_sandbox_bot?start=from_group" in invite.plain_text
    assert emulator.messages(STRANGER) == []
    # In the group: two notes and the link, nothing else (no file, no question).
    posted = group.messages[before:]
    assert [m.kind for m in posted] == ["text"] * 3
    assert all("Amina" not in m.text and "concern about" not in m.text for m in posted)

    # The stranger follows the link: onboarding starts as with any other /start.
    emulator.send_text(STRANGER, "/start from_group")
    stranger = Phone(emulator, app, user_id=STRANGER)
    await stranger.wait_for("To take part, I store")
    assert "link" not in stranger.last.plain_text.lower()


async def test_group_chatter_is_ignored_and_never_stored(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, phone: Phone
) -> None:
    await onboard(phone)
    group = await bound(emulator, app, admin, forum=True)  # an admin bot reads every message
    before = len(group.messages)
    secret = "Kenji said the mayor is lying"
    assert await group.post(AMINA, secret) is not None  # delivered to the bot...
    await group.post(MARC, "/")  # not a command either
    await group.post(FATOU, "Really?", reply_to=group.messages[-1].message_id)  # to the bot
    assert len(group.messages) == before  # ...and nothing said in the group
    assert app.session_factory is not None
    async with app.session_factory() as session:
        for table in SQLModel.metadata.sorted_tables:
            for stored in (await session.exec(sa_select(table))).all():  # type: ignore[call-overload]
                assert secret not in repr(stored), table.name


async def test_a_reply_to_the_bot_is_answered_privately(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, phone: Phone
) -> None:
    await onboard(phone)
    group = await bound(emulator, app, admin)
    before = len(group.messages)
    await group.post(AMINA, "Thanks!", reply_to=group.messages[-1].message_id)
    await phone.wait_for("I do not read or keep what is said there")
    assert len(group.messages) == before


# --------------------------------------------------------------------------- lifecycle


async def test_removing_the_bot_unbinds_the_group_and_tells_coordinators(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, marc: Phone
) -> None:
    group = await bound(emulator, app, admin)
    for update_id in emulator.set_bot_status(group.chat_id, "kicked", by=ADMIN):
        await app.tracker.wait_handled(update_id)
    for coordinator in (admin, marc):
        told = await coordinator.wait_for("I am no longer in the group “Steering”")
        assert "committee “Steering group”" in told.plain_text
    assert await binding(app) is None
    [entry] = await audited(app, "group.unbound")
    assert entry.actor_label == "system" and entry.detail["why"] == "kicked"


async def test_a_group_upgraded_to_a_supergroup_keeps_its_binding(
    emulator: BotAPIEmulator, app: BotApp, admin: Phone, phone: Phone
) -> None:
    await onboard(phone)
    group = await bound(emulator, app, admin)
    new_id = emulator.migrate_group(group.chat_id, by=ADMIN)
    upgraded = Group(emulator, app, new_id)
    # Handled after the service message in the new chat (one chat's updates go in order).
    await upgraded.post(ADMIN, "/help")
    await upgraded.wait_for("I have written to you privately.")
    row = await binding(app)
    assert row is not None and row.chat_id == new_id
    await raise_concern(phone, "Give my name")
    card = await upgraded.wait_for("New concern")
    assert "Amina" not in card.text


async def test_a_post_refused_as_migrated_moves_the_binding(
    emulator: BotAPIEmulator, app: BotApp, clock: ManualClock, admin: Phone
) -> None:
    """The sender meets the upgrade first (the bot had not heard of it): the binding follows."""
    group = await bound(emulator, app, admin)
    supergroup = await make_group(emulator, app, forum=False)
    emulator.inject_fault(
        "sendMessage",
        status=400,
        description="Bad Request: group chat was upgraded to a supergroup chat",
        parameters={"migrate_to_chat_id": supergroup.chat_id},
    )
    await voice_digest_schedule(app)  # nobody sits on the committee: the group post alone
    clock.advance(timedelta(minutes=30))
    await tick(app)
    await supergroup.wait_for("Voice digest for Steering group")
    row = await binding(app)
    assert row is not None and row.chat_id == supergroup.chat_id
    assert not any("Voice digest" in m.plain_text for m in group.messages)
