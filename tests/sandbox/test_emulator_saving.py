"""The emulator's saved state: a second emulator restored from it goes on from the first."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.sandbox.emulator import BotAPIEmulator

TOKEN = "123:abc"
USER = 42
GROUP = -1001234567890


async def _call(emu: BotAPIEmulator, method: str, data: Any) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{emu.base_url}/bot{TOKEN}/{method}", data=data) as response,
    ):
        body = await response.json()
    assert body["ok"], body
    return dict(body["result"])


@pytest.fixture
async def emulators() -> AsyncIterator[tuple[BotAPIEmulator, BotAPIEmulator]]:
    first, second = BotAPIEmulator(), BotAPIEmulator()
    await first.start()
    try:
        yield first, second
    finally:
        await first.stop()
        await second.stop()


async def test_a_restored_emulator_goes_on_from_the_saved_one(
    emulators: tuple[BotAPIEmulator, BotAPIEmulator],
) -> None:
    first, second = emulators
    first.send_text(USER, "/start", first_name="Ada")
    first.open_chat(GROUP)
    keyboard = {"inline_keyboard": [[{"text": "Yes", "callback_data": "consent:yes"}]]}
    question = await _call(
        first,
        "sendMessage",
        {
            "chat_id": str(USER),
            "text": "<b>Agree?</b>",
            "parse_mode": "HTML",
            "reply_markup": json.dumps(keyboard),
        },
    )
    form = aiohttp.FormData({"chat_id": str(GROUP), "caption": "export"})
    form.add_field("document", b"a,b\n1,2\n", filename="export.csv", content_type="text/csv")
    document = await _call(first, "sendDocument", form)
    waiting = first.send_text(USER, "typed while the bot was down")
    first.block(USER + 1)

    # through JSON, as the sandbox writes it to its state file
    second.restore_state(json.loads(json.dumps(first.saved_state())))
    await second.start()

    assert [m.to_dict() for m in second.messages(USER)] == [
        m.to_dict() for m in first.messages(USER)
    ]
    [restored] = second.messages(GROUP)
    assert restored.file_bytes == b"a,b\n1,2\n"
    file_path = (await _call(second, "getFile", {"file_id": document["document"]["file_id"]}))[
        "file_path"
    ]
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{second.base_url}/file/bot{TOKEN}/{file_path}") as response,
    ):
        assert await response.read() == b"a,b\n1,2\n"

    # updates the bot did not confirm before the stop are still due; new ones come after them
    assert second.pending_updates == 2
    assert second.send_text(USER, "hello again") == waiting + 1
    pressed = second.press_button(USER, question["message_id"], "consent:yes")
    assert pressed == waiting + 2
    # the bot can write to both chats again, with message ids that go on
    again = await _call(second, "sendMessage", {"chat_id": str(USER), "text": "Thanks"})
    assert again["message_id"] > question["message_id"]
    assert (await _call(second, "sendMessage", {"chat_id": str(GROUP), "text": "hi"}))[
        "message_id"
    ] > document["message_id"]
    assert second.saved_state()["blocked"] == [USER + 1]


def test_a_state_of_another_version_starts_afresh() -> None:
    emulator = BotAPIEmulator()
    emulator.restore_state({"version": 0, "chats": [{"what": "ever"}]})
    assert emulator.saved_state()["chats"] == []
    assert emulator.send_text(USER, "hi") == 1


def test_update_ids_go_on_above_those_the_bot_handled() -> None:
    emulator = BotAPIEmulator()
    emulator.continue_update_ids(41)
    assert emulator.send_text(USER, "hi") == 42
    emulator.continue_update_ids(7)  # never backwards
    assert emulator.send_text(USER, "hi") == 43


async def test_groups_topics_and_polls_survive_a_restart(
    emulators: tuple[BotAPIEmulator, BotAPIEmulator],
) -> None:
    first, second = emulators
    await _call(first, "getMe", {})
    group = first.create_group("Committee", creator=7001, supergroup=True, forum=True)
    first.set_bot_status(group, "administrator", by=7001)
    topic = await _call(first, "createForumTopic", {"chat_id": group, "name": "Decisions"})
    poll = await _call(
        first,
        "sendPoll",
        {"chat_id": group, "question": "Agree?", "options": '["yes","no"]'},
    )
    first.vote(7001, poll["poll"]["id"], [0])

    second.restore_state(json.loads(json.dumps(first.saved_state())))
    await second.start()
    thread = topic["message_thread_id"]
    sent = await _call(
        second, "sendMessage", {"chat_id": group, "text": "x", "message_thread_id": thread}
    )
    assert sent["message_thread_id"] == thread
    member = await _call(second, "getChatMember", {"chat_id": group, "user_id": 7001})
    assert member["status"] == "creator"
    stopped = await _call(second, "stopPoll", {"chat_id": group, "message_id": poll["message_id"]})
    assert (stopped["is_closed"], stopped["total_voter_count"]) == (True, 1)
