"""The emulator's groups, supergroups, forum topics, polls, copies and people's media, driven by
a real aiogram Bot over HTTP, with Telegram's error shapes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiohttp
import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramRetryAfter,
)
from aiogram.types import InputPollOption, Update

from bot.sandbox.emulator import BotAPIEmulator, RateLimits

ADA, BEN, CLEO = 7001, 7002, 7003
BOT = 123  # from the token the fixtures use


async def drain(bot: Bot, **kwargs: object) -> list[Update]:
    """The pending updates, confirmed."""
    got = await bot.get_updates(timeout=0, **kwargs)  # type: ignore[arg-type]
    if got:
        await bot.get_updates(offset=got[-1].update_id + 1, timeout=0)
    return got


async def committee(emu: BotAPIEmulator, bot: Bot, **kwargs: bool) -> int:
    """A group of Ada (creator), Ben and Cleo with the bot in it, its updates drained."""
    await bot.get_me()
    group = emu.create_group("Committee", creator=ADA, members=[BEN, CLEO], **kwargs)
    emu.set_bot_status(group, "member", by=ADA)
    await drain(bot)
    return group


# --------------------------------------------------------------------------- groups


async def test_the_bot_joins_a_group_and_sees_its_members(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.get_me()
    emu.send_text(CLEO, "hi")  # known to the emulator, not in the group
    await drain(bot)
    group = emu.create_group("Committee", creator=ADA, members=[BEN])
    with pytest.raises(TelegramForbiddenError) as exc:
        await bot.send_message(group, "hello?")
    assert exc.value.message == "Forbidden: bot is not a member of the group chat"

    emu.set_bot_status(group, "member", by=ADA)
    joined, service = await drain(bot)
    assert joined.my_chat_member is not None
    assert joined.my_chat_member.from_user.id == ADA
    assert joined.my_chat_member.old_chat_member.status == "left"
    assert joined.my_chat_member.new_chat_member.status == "member"
    assert service.message is not None and service.message.new_chat_members is not None
    assert [u.id for u in service.message.new_chat_members] == [BOT]

    chat = await bot.get_chat(group)
    assert (chat.type, chat.title) == ("group", "Committee")
    assert (await bot.get_chat_member(group, ADA)).status == "creator"
    assert (await bot.get_chat_member(group, BEN)).status == "member"
    assert (await bot.get_chat_member(group, BOT)).status == "member"
    assert (await bot.get_chat_member(group, CLEO)).status == "left"
    with pytest.raises(TelegramBadRequest) as bad:
        await bot.get_chat_member(group, 99999)
    assert bad.value.message == "Bad Request: user not found"

    emu.set_group_member(group, BEN, "administrator")
    admins = await bot.get_chat_administrators(group)
    assert sorted((a.user.id, a.status) for a in admins) == [
        (ADA, "creator"),
        (BEN, "administrator"),
    ]

    emu.set_bot_status(group, "kicked", by=ADA)
    [kicked] = await drain(bot)
    assert kicked.my_chat_member is not None
    assert kicked.my_chat_member.new_chat_member.status == "kicked"
    with pytest.raises(TelegramForbiddenError) as exc:
        await bot.send_message(group, "still here?")
    assert exc.value.message == "Forbidden: bot was kicked from the group chat"


async def test_people_joining_and_leaving_are_service_messages(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    group = await committee(emu, bot)
    emu.set_group_member(group, 7004, "member", by=ADA)
    emu.set_group_member(group, BEN, "left")
    joined, left = await drain(bot)
    assert joined.message is not None and joined.message.new_chat_members is not None
    assert [u.id for u in joined.message.new_chat_members] == [7004]
    assert left.message is not None and left.message.left_chat_member is not None
    assert left.message.left_chat_member.id == BEN
    with pytest.raises(ValueError, match="not in group"):
        emu.post_in_group(group, BEN, "/bind x")

    assert await bot.leave_chat(group) is True
    [left_by_itself] = await drain(bot)
    assert left_by_itself.my_chat_member is not None
    assert left_by_itself.my_chat_member.from_user.id == BOT
    assert left_by_itself.my_chat_member.new_chat_member.status == "left"
    with pytest.raises(TelegramForbiddenError) as exc:
        await bot.send_message(group, "back?")
    assert exc.value.message == "Forbidden: bot is not a member of the group chat"


async def test_privacy_mode_lets_through_commands_replies_and_mentions(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    group = await committee(emu, bot)
    sent = await bot.send_message(group, "Bound.")
    assert emu.post_in_group(group, BEN, "just chatting").update_id is None
    assert emu.post_in_group(group, BEN, "/help@another_bot").update_id is None
    heard = [
        emu.post_in_group(group, ADA, "/bind@partnerbot_sandbox_bot roads"),
        emu.post_in_group(group, BEN, "/decisions"),
        emu.post_in_group(group, BEN, "thanks", reply_to=sent.message_id),
        emu.post_in_group(group, CLEO, "ask @partnerbot_sandbox_bot"),
    ]
    updates = await drain(bot)
    assert [u.update_id for u in updates] == [p.update_id for p in heard]
    command = updates[0].message
    assert command is not None and command.text == "/bind@partnerbot_sandbox_bot roads"
    assert command.entities is not None and command.entities[0].type == "bot_command"
    assert command.entities[0].length == len("/bind@partnerbot_sandbox_bot")
    reply = updates[2].message
    assert reply is not None and reply.reply_to_message is not None
    assert reply.reply_to_message.message_id == sent.message_id

    emu.set_bot_status(group, "administrator", by=ADA)  # an admin bot reads everything
    await drain(bot)
    assert emu.post_in_group(group, BEN, "just chatting").update_id is not None


async def test_a_group_upgraded_to_a_supergroup_refuses_calls_with_its_new_id(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    group = await committee(emu, bot)
    supergroup = emu.migrate_group(group, by=ADA)
    to_update, from_update = await drain(bot)
    assert to_update.message is not None and from_update.message is not None
    assert (to_update.message.chat.id, to_update.message.migrate_to_chat_id) == (group, supergroup)
    assert (from_update.message.chat.id, from_update.message.migrate_from_chat_id) == (
        supergroup,
        group,
    )
    with pytest.raises(TelegramMigrateToChat) as exc:
        await bot.send_message(group, "hello")
    assert exc.value.migrate_to_chat_id == supergroup
    assert "Bad Request: group chat was upgraded to a supergroup chat" in exc.value.message
    sent = await bot.send_message(supergroup, "hello")
    assert sent.chat.type == "supergroup"
    assert (await bot.get_chat_member(supergroup, BEN)).status == "member"
    with pytest.raises(ValueError, match="upgraded"):
        emu.post_in_group(group, BEN, "/x")


# --------------------------------------------------------------------------- forum topics


async def test_forum_topics_need_an_admin_bot_and_an_open_topic(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    plain = await committee(emu, bot)
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.create_forum_topic(plain, "Digests")
    assert exc.value.message == "Bad Request: the chat is not a forum"

    forum = await committee(emu, bot, supergroup=True, forum=True)
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.create_forum_topic(forum, "Digests")
    assert exc.value.message == "Bad Request: not enough rights to create a topic"

    emu.set_bot_status(forum, "administrator", by=ADA)
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.create_forum_topic(forum, " ")
    assert exc.value.message == "Bad Request: TOPIC_TITLE_EMPTY"
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.close_forum_topic(forum, 9999)
    assert exc.value.message == "Bad Request: TOPIC_ID_INVALID"
    topic = await bot.create_forum_topic(forum, "Digests")
    assert topic.name == "Digests" and topic.icon_color == 7322096
    sent = await bot.send_message(forum, "This week", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id
    assert sent.is_topic_message is True
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(forum, "lost", message_thread_id=9999)
    assert exc.value.message == "Bad Request: message thread not found"

    assert await bot.close_forum_topic(forum, topic.message_thread_id) is True
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.close_forum_topic(forum, topic.message_thread_id)
    assert exc.value.message == "Bad Request: TOPIC_NOT_MODIFIED"
    # an admin may still write in a closed topic; a member may not
    await bot.send_message(forum, "closing words", message_thread_id=topic.message_thread_id)
    emu.set_bot_status(forum, "member", by=ADA)
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(forum, "late", message_thread_id=topic.message_thread_id)
    assert exc.value.message == "Bad Request: TOPIC_CLOSED"
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.reopen_forum_topic(forum, topic.message_thread_id)
    assert exc.value.message == "Bad Request: CHAT_ADMIN_REQUIRED"

    emu.set_bot_status(forum, "administrator", by=ADA)
    assert await bot.reopen_forum_topic(forum, topic.message_thread_id) is True
    await drain(bot)
    posted = emu.post_in_group(forum, BEN, "/ticket", thread_id=topic.message_thread_id)
    [update] = await drain(bot)
    assert update.update_id == posted.update_id
    assert update.message is not None
    assert update.message.message_thread_id == topic.message_thread_id


# --------------------------------------------------------------------------- polls


async def test_named_poll_answers_and_totals(emu: BotAPIEmulator, bot: Bot) -> None:
    group = await committee(emu, bot)
    sent = await bot.send_poll(
        group,
        "Repave the market road?",
        ["agree", InputPollOption(text="abstain"), "disagree"],
        is_anonymous=False,
        allows_multiple_answers=True,
    )
    assert sent.poll is not None
    poll_id = sent.poll.id
    assert (sent.poll.is_anonymous, sent.poll.allows_multiple_answers) == (False, True)
    emu.vote(BEN, poll_id, [0])
    emu.vote(CLEO, poll_id, [0, 1])
    emu.vote(BEN, poll_id, [2])  # a changed vote
    updates = await drain(bot)
    answers = [u.poll_answer for u in updates if u.poll_answer is not None]
    assert [(a.user.id, a.option_ids) for a in answers if a.user] == [
        (BEN, [0]),
        (CLEO, [0, 1]),
        (BEN, [2]),
    ]
    totals = [u.poll for u in updates if u.poll is not None][-1]
    assert [o.voter_count for o in totals.options] == [1, 1, 1]
    assert totals.total_voter_count == 2

    stopped = await bot.stop_poll(group, sent.message_id)
    assert stopped.is_closed is True and stopped.total_voter_count == 2
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.stop_poll(group, sent.message_id)
    assert exc.value.message == "Bad Request: poll has already been closed"
    with pytest.raises(ValueError, match="closed"):
        emu.vote(CLEO, poll_id, [1])


async def test_anonymous_polls_give_only_totals(emu: BotAPIEmulator, bot: Bot) -> None:
    group = await committee(emu, bot)
    sent = await bot.send_poll(group, "Meet on Friday?", ["yes", "no"])
    assert sent.poll is not None and sent.poll.is_anonymous is True
    emu.vote(BEN, sent.poll.id, [1])
    updates = await drain(bot)
    assert [u.poll_answer for u in updates] == [None]
    assert updates[0].poll is not None
    assert [o.voter_count for o in updates[0].poll.options] == [0, 1]
    with pytest.raises(ValueError, match="one answer"):
        emu.vote(CLEO, sent.poll.id, [0, 1])


async def test_poll_errors(emu: BotAPIEmulator, bot: Bot) -> None:
    group = await committee(emu, bot)
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_poll(group, "Too many?", [str(i) for i in range(13)])
    assert exc.value.message == "Bad Request: POLL_ANSWERS_INVALID"
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_poll(group, " ", ["yes", "no"])
    assert exc.value.message == "Bad Request: poll question must be non-empty"
    sent = await bot.send_message(group, "not a poll")
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.stop_poll(group, sent.message_id)
    assert exc.value.message == "Bad Request: message with poll to stop not found"


async def test_allowed_updates_leave_out_the_kinds_not_asked_for(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    group = await committee(emu, bot)
    sent = await bot.send_poll(group, "Meet on Friday?", ["yes", "no"], is_anonymous=False)
    assert sent.poll is not None
    await drain(bot, allowed_updates=["message", "poll_answer"])
    emu.vote(BEN, sent.poll.id, [0])
    [update] = await drain(bot)
    assert update.poll_answer is not None and update.poll is None
    await drain(bot, allowed_updates=["poll"])
    dropped = emu.post_in_group(group, BEN, "/decisions").update_id
    emu.vote(CLEO, sent.poll.id, [1])
    [update] = await drain(bot)
    assert update.poll is not None
    assert dropped is not None and emu.is_update_confirmed(dropped)
    assert emu.stats.updates_dropped == 3  # a poll, a message, a poll_answer


# --------------------------------------------------------------------------- media and copies


async def test_people_send_voice_photos_documents_and_places(emu: BotAPIEmulator, bot: Bot) -> None:
    voice = emu.send_voice(BEN, duration=4)
    photo = emu.send_photo(BEN, caption="the pothole")
    document = emu.send_document(BEN, b"minutes", file_name="minutes.txt", mime_type="text/plain")
    place = emu.send_location(BEN, 14.69, -17.44)
    updates = await drain(bot)
    assert [u.update_id for u in updates] == [p.update_id for p in (voice, photo, document, place)]
    messages = [u.message for u in updates]
    assert all(m is not None and m.chat.id == BEN for m in messages)
    got_voice, got_photo, got_document, got_place = messages
    assert got_voice is not None and got_voice.voice is not None
    assert got_voice.voice.duration == 4
    assert got_photo is not None and got_photo.photo is not None
    assert [(s.width, s.height) for s in got_photo.photo] == [(90, 90), (320, 320), (800, 800)]
    assert got_photo.caption == "the pothole"
    assert len({s.file_id for s in got_photo.photo}) == 3
    assert got_place is not None and got_place.location is not None
    assert (got_place.location.latitude, got_place.location.longitude) == (14.69, -17.44)
    assert got_document is not None and got_document.document is not None

    largest = await bot.get_file(got_photo.photo[-1].file_id)
    assert largest.file_path is not None and largest.file_path.startswith("photos/")
    assert (await bot.get_file(got_voice.voice.file_id)).file_path is not None
    path = (await bot.get_file(got_document.document.file_id)).file_path
    assert path is not None
    downloaded = await bot.download_file(path)
    assert downloaded is not None and downloaded.read() == b"minutes"


async def test_copy_message_shows_a_voice_note_to_a_committee(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    group = await committee(emu, bot)
    voice = emu.send_voice(BEN, duration=4)
    photo = emu.send_photo(BEN, caption="the pothole")
    copied = await bot.copy_message(group, BEN, voice.message_id)
    recaptioned = await bot.copy_message(group, BEN, photo.message_id, caption="Ticket 12")
    [copy, photo_copy] = emu.messages(group)
    assert copy.message_id == copied.message_id and copy.kind == "voice"
    assert copy.to_api()["voice"]["file_id"] == voice.message["voice"]["file_id"]
    assert "from" in copy.to_api() and copy.to_api()["from"]["id"] == BOT
    assert photo_copy.message_id == recaptioned.message_id
    assert photo_copy.plain_text == "Ticket 12"
    assert len(photo_copy.to_api()["photo"]) == 3

    poll = await bot.send_poll(BEN, "Was this useful?", ["yes", "no"])
    poll_copy = await bot.copy_message(group, BEN, poll.message_id)
    assert emu.messages(group)[-1].message_id == poll_copy.message_id
    assert emu.messages(group)[-1].to_api()["poll"]["id"] != (poll.poll and poll.poll.id)

    with pytest.raises(TelegramBadRequest) as exc:
        await bot.copy_message(group, BEN, 9999)
    assert exc.value.message == "Bad Request: message to copy not found"
    joined = emu.set_group_member(group, 7004, "member", by=ADA)
    [service] = [u for u in await drain(bot) if u.update_id in joined]
    assert service.message is not None
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.copy_message(BEN, group, service.message.message_id)
    assert exc.value.message == "Bad Request: message can't be copied"


async def test_twenty_messages_a_minute_in_a_group(
    launch: Callable[..., Awaitable[tuple[BotAPIEmulator, Bot]]],
) -> None:
    emu, bot = await launch(limits=RateLimits(group_per_min=20))
    group = await committee(emu, bot)
    voice = emu.send_voice(BEN)
    for i in range(18):
        await bot.send_message(group, str(i))
    await bot.send_poll(group, "Last one?", ["yes", "no"])
    await bot.copy_message(group, BEN, voice.message_id)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_poll(group, "One more?", ["yes", "no"])
    assert exc.value.retry_after >= 1
    assert "Too Many Requests: retry after" in exc.value.message


# --------------------------------------------------------------------------- over HTTP


async def test_the_control_api_over_http(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.get_me()
    base = emu.base_url + "/_emulator"
    async with aiohttp.ClientSession() as http:

        async def post(path: str, body: dict[str, object]) -> dict[str, object]:
            async with http.post(base + path, json=body) as response:
                assert response.status == 200, await response.text()
                return dict(await response.json())

        created = await post("/groups", {"title": "Caucus", "creator": ADA, "members": [BEN]})
        group = int(str(created["chat_id"]))
        await post(f"/chats/{group}/members/bot", {"status": "member", "by": ADA})
        posted = await post(f"/chats/{group}/posts", {"user_id": BEN, "text": "/bind caucus"})
        assert posted["update_id"] is not None
        sent = await bot.send_poll(group, "Agree?", ["yes", "no"], is_anonymous=False)
        assert sent.poll is not None
        voted = await post(f"/polls/{sent.poll.id}/votes", {"user_id": BEN, "option_ids": [0]})
        assert len(voted["update_ids"]) == 2  # type: ignore[arg-type]
        await post(f"/users/{BEN}/voice", {"duration": 2})
        await post(f"/users/{BEN}/location", {"latitude": 1.5, "longitude": 2.5})
        moved = await post(f"/chats/{group}/migrate", {"by": ADA})
        async with http.post(
            base + f"/chats/{group}/posts", json={"user_id": BEN, "text": "x"}
        ) as r:
            assert r.status == 400
    kinds = [
        next(k for k in u.model_dump(exclude_none=True) if k != "update_id")
        for u in await drain(bot)
    ]
    assert kinds == [
        "my_chat_member",
        "message",
        "message",
        "poll",
        "poll_answer",
        "message",
        "message",
        "message",
        "message",
    ]
    assert int(str(moved["chat_id"])) < -1_000_000_000_000


async def test_a_deleted_topic_takes_no_more_messages(emu: BotAPIEmulator, bot: Bot) -> None:
    forum = await committee(emu, bot, supergroup=True, forum=True)
    emu.set_bot_status(forum, "administrator", by=ADA)
    topic = await bot.create_forum_topic(forum, "Tickets")
    thread = topic.message_thread_id
    emu.set_topic(forum, thread, deleted=True)
    assert emu.topics(forum) == []
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(forum, "lost", message_thread_id=thread)
    assert exc.value.message == "Bad Request: message thread not found"
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.delete_forum_topic(forum, thread)
    assert exc.value.message == "Bad Request: TOPIC_ID_INVALID"
    again = await bot.create_forum_topic(forum, "Tickets")
    assert await bot.delete_forum_topic(forum, again.message_thread_id) is True
    assert emu.topics(forum) == []
    # a person closes a topic; once the bot is no admin it cannot write there
    third = await bot.create_forum_topic(forum, "Digests")
    emu.set_topic(forum, third.message_thread_id, closed=True)
    assert emu.topics(forum)[0]["is_closed"] is True
    emu.set_bot_status(forum, "member", by=ADA)
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(forum, "late", message_thread_id=third.message_thread_id)
    assert exc.value.message == "Bad Request: TOPIC_CLOSED"
