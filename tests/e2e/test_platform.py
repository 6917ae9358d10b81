"""What phones and Telegram do to a bot: capitalised commands, stray buttons, edits, odd
updates, a Bot API server that fails at start, ids too large to be anyone's."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from conftest import Database, Phone, running_app

from bot.app import BotApp
from bot.config import Settings
from bot.domain.clock import ManualClock
from bot.sandbox.emulator import BotAPIEmulator
from bot.storage.models import MemberStatus


async def test_capitalised_commands_work_like_lower_case_ones(phone: Phone, db: Database) -> None:
    await phone.send("/Start")
    assert "Do you agree?" in phone.new_text()
    await phone.send("yes")
    phone.new()
    await phone.send("/Help")
    assert "/language" in phone.new_text()
    await phone.send("/Cancel")
    assert "Conversation left" in phone.new_text()
    await phone.send("/STOP")
    assert "no more messages" in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None and member.status == MemberStatus.STOPPED
    await phone.send("/START")
    assert "Do you agree?" in phone.new_text()
    member = await db.member(phone.user_id)
    assert member is not None and member.status == MemberStatus.ACTIVE


@pytest.mark.parametrize("typed", ["99999999999999999999999", "-18446744073709551617", "²"])
async def test_ids_too_large_to_be_anyones_get_a_clear_answer(admin: Phone, typed: str) -> None:
    await admin.send(f"/promote {typed}")
    shown = admin.new_text()
    assert f"“{typed}” cannot be a Telegram id" in shown and "Usage: /promote" in shown
    await admin.send("/committee new Water")
    admin.new()
    await admin.send(f"/committee staff Water {typed}")
    assert admin.new_text() == (
        f"“{typed}” cannot be a Telegram id: ids are whole numbers of at most 16 digits."
    )
    # An id that could be someone's still reads as one.
    await admin.send("/promote 4503599627370495")
    assert "No member has the Telegram id 4503599627370495" in admin.new_text()


def _private(phone: Phone) -> tuple[dict[str, Any], dict[str, Any]]:
    """The phone's user and private chat as Telegram shows them in updates."""
    user = {"id": phone.user_id, "is_bot": False, "first_name": phone.first_name}
    chat = {"id": phone.user_id, "type": "private", "first_name": phone.first_name}
    return {**user, "language_code": phone.language_code}, chat


async def test_every_button_press_is_answered_even_unknown_ones(phone: Phone) -> None:
    await phone.send("/start")
    question = phone.last
    forged = ["x", "", "a:garbage", "a:1:consent", "bc:nonsense:9", "sch:list:zz", "\x00" * 64]
    for data in forged:
        update_id = phone.emulator.press_button(phone.user_id, question.message_id, data)
        await phone.app.tracker.wait_handled(update_id)
    # A press without any data (a game button, say) is answered too.
    user, chat = _private(phone)
    no_data = {
        "id": "77",
        "from": user,
        "message": question.to_api(),
        "chat_instance": "1",
    }
    await phone.app.tracker.wait_handled(phone.emulator.post_update({"callback_query": no_data}))
    answers = phone.emulator.callback_answers(phone.user_id)
    assert len(answers) == len(forged) + 1
    assert phone.toast() == "This button no longer does anything."
    # Nothing was taken as an answer: the consent question is still open.
    await phone.send("yes")
    assert "Which language" in phone.new_text()


async def test_an_edited_answer_gets_asked_to_be_sent_again(phone: Phone, db: Database) -> None:
    await phone.send("/start")
    await phone.send("yes")
    phone.new()
    user, chat = _private(phone)
    edited = {
        "message_id": 2,
        "from": user,
        "chat": chat,
        "date": 1_764_000_000,
        "edit_date": 1_764_000_060,
        "text": "no",
    }
    await phone.app.tracker.wait_handled(phone.emulator.post_update({"edited_message": edited}))
    assert phone.new_text() == (
        "I do not read changes to messages already sent. "
        "Please send your answer again as a new message."
    )
    member = await db.member(phone.user_id)
    assert member is not None and member.consent_at is not None


async def test_an_unreadable_update_is_logged_and_skipped(
    phone: Phone, caplog: pytest.LogCaptureFixture
) -> None:
    user, chat = _private(phone)
    broken = {"message_id": 1, "from": user, "chat": chat, "date": "yesterday", "text": "hi"}
    skipped = phone.emulator.post_update({"message": broken})
    await phone.send("/start")
    assert "Do you agree?" in phone.new_text()
    assert phone.app.tracker.times_handled(skipped) == 1
    assert phone.emulator.is_update_confirmed(skipped)
    assert f"update {skipped} cannot be read and is skipped" in caplog.text


@pytest.mark.parametrize(
    ("method", "status", "body", "content_type"),
    [
        ("setMyCommands", 502, "<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html"),
        ("setMyCommands", 200, '{"hello": "not the Bot API"}', "application/json"),
        ("deleteWebhook", 503, "Service Unavailable", "text/plain"),
        ("setMyDescription", 502, "<html><body>Bad Gateway</body></html>", "text/html"),
        ("setMyShortDescription", 200, '{"hello": "not the Bot API"}', "application/json"),
    ],
)
async def test_the_bot_serves_members_while_a_call_at_start_keeps_failing(
    emulator: BotAPIEmulator,
    settings: Settings,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
    method: str,
    status: int,
    body: str,
    content_type: str,
) -> None:
    # Three attempts at start (one and two retries), three more at the first retry in the
    # background; the one after succeeds.
    emulator.inject_fault(
        method, status=status, description="", count=6, body=body, content_type=content_type
    )
    async with running_app(settings, clock) as app:
        phone = Phone(emulator, app, user_id=1020)
        await phone.send("/start")
        assert "Do you agree?" in phone.new_text()
        assert f"{method} failed" in caplog.text and "trying again in the background" in caplog.text
        await emulator.wait_for_calls(method, count=7, timeout=15)
        await app.retries.wait_done(timeout=15)
        assert app.retries.pending == []
        if method == "setMyCommands":
            assert len(emulator.commands_by_scope) == 2
        if method.endswith("Description"):
            assert len(emulator.descriptions) == 4  # both kinds, both languages


async def test_a_call_at_start_that_times_out_does_not_stop_the_bot(
    emulator: BotAPIEmulator,
    settings: Settings,
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    emulator.inject_fault("setMyCommands", status=200, description="slow", delay=5.0, count=3)
    async with running_app(settings.model_copy(update={"telegram_timeout": 1.0}), clock) as app:
        phone = Phone(emulator, app, user_id=1021)
        await phone.send("/start")
        assert "Do you agree?" in phone.new_text()
        assert "setMyCommands failed (HTTP Client says - Request timeout error)" in caplog.text
        await app.retries.wait_done(timeout=15)
        assert len(emulator.commands_by_scope) == 2  # the menu in both languages, in the end


async def test_the_bot_describes_itself_in_every_language(
    emulator: BotAPIEmulator, app: BotApp
) -> None:
    await app.retries.wait_done(timeout=15)
    described = emulator.descriptions
    assert set(described) == {
        (field, language)
        for field in ("description", "short_description")
        for language in ("", "fr")
    }
    assert described[("description", "")].startswith("The partnership's listening line")
    assert described[("description", "fr")].startswith("La ligne d’écoute du partenariat")
    assert len(described[("short_description", "fr")]) <= 120


@pytest.mark.parametrize("method", ["setMyCommands", "setMyDescription"])
async def test_a_call_at_start_refused_with_a_4xx_is_logged_once_and_left(
    emulator: BotAPIEmulator,
    settings: Settings,
    start_bot: Callable[..., Awaitable[BotApp]],
    caplog: pytest.LogCaptureFixture,
    method: str,
) -> None:
    emulator.inject_fault(method, status=400, description="Bad Request: refused", count=5)
    app = await start_bot(settings)
    phone = Phone(emulator, app, user_id=1022)
    await phone.send("/start")
    assert "Do you agree?" in phone.new_text()
    # The same call would be refused the same way again: nothing is left to retry.
    assert app.retries.pending == []
    assert emulator.calls[method] == 1
    refused = [r.getMessage() for r in caplog.records if r.getMessage().startswith(method)]
    assert refused == [
        f"{method} refused (Telegram server says - Bad Request: refused); not tried again"
    ]
