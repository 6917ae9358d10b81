"""Tests for the local Bot API emulator, driven by a real aiogram Bot."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.filters import CommandStart
from aiogram.types import (
    BotCommand,
    BotCommandScopeChat,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.sandbox.emulator import (
    NOT_MODIFIED,
    BotAPIEmulator,
    RateLimits,
    UnknownMessageError,
)
from bot.sandbox.htmlcheck import check_telegram_html, parse_telegram_html, visible_text

TOKEN = "123:abc"
USER = 42
OTHER = 43
GROUP = -1001234567890
REPO_ROOT = Path(__file__).resolve().parents[2]

Launch = Callable[..., Awaitable[tuple[BotAPIEmulator, Bot]]]


class FakeClock:
    """Deterministic monotonic clock for rate-limit tests."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def keyboard(*buttons: tuple[str, str]) -> InlineKeyboardMarkup:
    rows = [[InlineKeyboardButton(text=text, callback_data=data)] for text, data in buttons]
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def raw_call(
    emu: BotAPIEmulator,
    method: str,
    *,
    token: str = TOKEN,
    data: dict[str, str] | None = None,
    json: dict[str, Any] | None = None,
    params: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.post(
            f"{emu.base_url}/bot{token}/{method}", data=data, json=json, params=params
        ) as resp,
    ):
        return resp.status, await resp.json()


# --------------------------------------------------------------------------- basics


async def test_get_me(emu: BotAPIEmulator, bot: Bot) -> None:
    me = await bot.get_me()
    assert me.id == 123
    assert me.is_bot is True
    assert me.first_name == "partnerbot"
    assert me.username == "partnerbot_sandbox_bot"
    assert me.can_join_groups is True
    assert me.can_read_all_group_messages is False
    assert me.supports_inline_queries is False
    assert emu.calls["getMe"] == 1


async def test_send_message_round_trip(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    sent = await bot.send_message(
        USER,
        "<b>Hello</b>, &lt;world&gt; 😀",
        parse_mode="HTML",
        reply_markup=keyboard(("Yes", "y"), ("No", "n")),
    )
    assert sent.message_id == 2  # the user's message took id 1 in this chat
    assert sent.text == "Hello, <world> 😀"
    assert sent.entities is not None
    assert [(e.type, e.offset, e.length) for e in sent.entities] == [("bold", 0, 5)]
    assert sent.chat.id == USER
    assert sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.id == 123
    assert sent.reply_markup is not None
    assert sent.reply_markup.inline_keyboard[1][0].callback_data == "n"

    [stored] = emu.messages(USER)
    assert stored.message_id == 2
    assert stored.kind == "text"
    assert stored.text == "<b>Hello</b>, &lt;world&gt; 😀"
    assert stored.plain_text == "Hello, <world> 😀"
    assert stored.parse_mode == "HTML"
    assert stored.buttons == [("Yes", "y"), ("No", "n")]
    assert stored.button_rows == [[("Yes", "y")], [("No", "n")]]
    assert stored.button_data("No") == "n"
    assert stored.edited is False
    assert stored.to_api()["text"] == "Hello, <world> 😀"
    with pytest.raises(KeyError):
        stored.button_data("Maybe")


async def test_message_ids_are_per_chat(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    emu.send_text(OTHER, "hi")
    first = await bot.send_message(USER, "a")
    second = await bot.send_message(USER, "b")
    other = await bot.send_message(OTHER, "c")
    assert (first.message_id, second.message_id, other.message_id) == (2, 3, 2)
    assert [m.text for m in emu.messages(USER)] == ["a", "b"]
    assert [m.text for m in emu.messages(OTHER)] == ["c"]


async def test_reply_keyboard_is_stored_but_not_echoed(emu: BotAPIEmulator) -> None:
    emu.send_text(USER, "hi")
    markup = {"keyboard": [[{"text": "Menu"}]], "resize_keyboard": True}
    status, body = await raw_call(
        emu, "sendMessage", json={"chat_id": USER, "text": "x", "reply_markup": markup}
    )
    assert status == 200
    assert "reply_markup" not in body["result"]
    assert emu.messages(USER)[0].reply_markup == markup
    assert emu.messages(USER)[0].buttons == []


async def test_unknown_chat_is_not_found(emu: BotAPIEmulator, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(999, "hello?")
    assert exc.value.message == "Bad Request: chat not found"
    assert emu.stats.bad_requests == 1


async def test_blocked_user_is_forbidden(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    emu.block(USER)
    with pytest.raises(TelegramForbiddenError) as exc:
        await bot.send_message(USER, "hello")
    assert exc.value.message == "Forbidden: bot was blocked by the user"
    assert emu.stats.forbidden == 1
    emu.block(USER, blocked=False)
    await bot.send_message(USER, "hello again")
    assert [m.text for m in emu.messages(USER)] == ["hello again"]


async def test_member_status_updates_and_blocks(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.get_me()  # the emulator learns the bot's id from its token
    emu.send_text(USER, "hi", first_name="Ann")
    update_id = emu.set_member_status(USER, "kicked")
    updates = await bot.get_updates()
    assert updates[-1].update_id == update_id
    member = updates[-1].my_chat_member
    assert member is not None
    assert member.chat.id == USER
    assert member.from_user.first_name == "Ann"
    assert member.old_chat_member.status == "member"
    assert member.new_chat_member.status == "kicked"
    assert member.new_chat_member.user.id == 123
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(USER, "still there?")
    emu.set_member_status(USER, "member")
    await bot.send_message(USER, "welcome back")
    with pytest.raises(ValueError):
        emu.set_member_status(USER, "administrator")


# --------------------------------------------------------------------------- edits


async def test_edit_message_text(emu: BotAPIEmulator, bot: Bot) -> None:
    user_msg = emu.send_text(USER, "hi")
    sent = await bot.send_message(USER, "Question?", reply_markup=keyboard(("A", "a")))

    edited = await bot.edit_message_text("Answered", chat_id=USER, message_id=sent.message_id)
    assert isinstance(edited, Message)
    assert edited.text == "Answered"
    assert edited.edit_date is not None
    assert edited.reply_markup is None  # editing without reply_markup drops the keyboard

    [stored] = emu.messages(USER)
    assert stored.text == "Answered"
    assert stored.edited is True
    assert stored.edit_count == 1
    assert stored.buttons == []

    with pytest.raises(TelegramBadRequest) as exc:
        await bot.edit_message_text("Answered", chat_id=USER, message_id=sent.message_id)
    assert exc.value.message == NOT_MODIFIED
    assert NOT_MODIFIED.startswith("Bad Request: message is not modified: specified new")

    with pytest.raises(TelegramBadRequest) as exc:
        await bot.edit_message_text("x", chat_id=USER, message_id=999)
    assert exc.value.message == "Bad Request: message to edit not found"

    assert user_msg == 1
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await bot.edit_message_text("x", chat_id=USER, message_id=1)

    await bot.edit_message_reply_markup(
        chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
    )
    assert stored.buttons == [("B", "b")]
    assert stored.edit_count == 2
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.edit_message_reply_markup(
            chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
        )
    assert exc.value.message == NOT_MODIFIED
    assert emu.stats.messages_edited == 2


async def test_edit_with_same_visible_text_but_new_markup_is_allowed(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    emu.send_text(USER, "hi")
    sent = await bot.send_message(USER, "Same")
    await bot.edit_message_text(
        "Same", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("A", "a"))
    )
    await bot.edit_message_text(
        "<b>Same</b>",
        chat_id=USER,
        message_id=sent.message_id,
        parse_mode="HTML",
        reply_markup=keyboard(("A", "a")),
    )
    assert emu.messages(USER)[0].edit_count == 2


async def test_delete_message(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    first = await bot.send_message(USER, "one")
    await bot.send_message(USER, "two")
    assert await bot.delete_message(USER, first.message_id) is True
    assert [m.text for m in emu.messages(USER)] == ["two"]
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.delete_message(USER, first.message_id)
    assert exc.value.message == "Bad Request: message to delete not found"
    assert await bot.delete_message(USER, 1) is True  # the user's own message


# --------------------------------------------------------------------------- callbacks


async def test_callback_query_round_trip(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    sent = await bot.send_message(USER, "Pick", reply_markup=keyboard(("A", "a")))
    await bot.edit_message_text(
        "Pick again", chat_id=USER, message_id=sent.message_id, reply_markup=keyboard(("B", "b"))
    )
    update_id = emu.press_button(USER, sent.message_id, "b")
    updates = await bot.get_updates()
    assert updates[-1].update_id == update_id
    query = updates[-1].callback_query
    assert query is not None
    assert query.data == "b"
    assert query.from_user.id == USER
    assert query.chat_instance
    assert isinstance(query.message, Message)
    assert query.message.message_id == sent.message_id
    assert query.message.text == "Pick again"  # the current version of the message

    assert await bot.answer_callback_query(query.id, text="Saved", show_alert=True) is True
    [answer] = emu.callback_answers(USER)
    assert (answer.callback_query_id, answer.text, answer.show_alert) == (query.id, "Saved", True)

    with pytest.raises(TelegramBadRequest) as exc:
        await bot.answer_callback_query(query.id)
    assert exc.value.message == (
        "Bad Request: query is too old and response timeout expired or query ID is invalid"
    )
    with pytest.raises(TelegramBadRequest, match="query ID is invalid"):
        await bot.answer_callback_query("made-up")
    with pytest.raises(UnknownMessageError):
        emu.press_button(USER, 999, "b")


# --------------------------------------------------------------------------- updates


async def test_get_updates_offset_and_limit(emu: BotAPIEmulator, bot: Bot) -> None:
    ids = [emu.send_text(USER, f"m{i}") for i in range(3)]
    assert ids == [1, 2, 3]
    first = await bot.get_updates(limit=2)
    assert [u.update_id for u in first] == ids[:2]
    assert [u.message.text for u in first if u.message] == ["m0", "m1"]
    again = await bot.get_updates(limit=2)  # nothing confirmed yet
    assert [u.update_id for u in again] == ids[:2]

    rest = await bot.get_updates(offset=ids[1] + 1)
    assert [u.update_id for u in rest] == [ids[2]]
    assert emu.is_update_confirmed(ids[0]) and emu.is_update_confirmed(ids[1])
    assert not emu.is_update_confirmed(ids[2])
    await emu.wait_for_update_confirmed(ids[1], timeout=0.1)
    with pytest.raises(TimeoutError, match=f"update {ids[2]} not confirmed"):
        await emu.wait_for_update_confirmed(ids[2], timeout=0.05)

    assert await bot.get_updates(offset=ids[2] + 1) == []
    assert emu.pending_updates == 0
    await emu.wait_for_update_confirmed(ids[2], timeout=0.1)
    assert emu.stats.updates_confirmed == 3


async def test_negative_offset_keeps_only_the_last_updates(emu: BotAPIEmulator, bot: Bot) -> None:
    ids = [emu.send_text(USER, f"m{i}") for i in range(4)]
    updates = await bot.get_updates(offset=-1)
    assert [u.update_id for u in updates] == ids[-1:]
    assert emu.pending_updates == 1


async def test_command_entity(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "/start ref_1")
    emu.send_text(USER, "/help")
    emu.send_text(USER, "hello /start")
    a, b, c = [u.message for u in await bot.get_updates()]
    assert a is not None and b is not None and c is not None
    assert a.entities is not None
    assert [(e.type, e.offset, e.length) for e in a.entities] == [("bot_command", 0, 6)]
    assert b.entities is not None and b.entities[0].length == 5
    assert c.entities is None
    assert a.from_user is not None and a.from_user.language_code == "en"


async def test_long_poll_times_out_empty(bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(timeout=1) == []
    assert loop.time() - started >= 0.9


async def test_long_poll_wakes_on_new_update(emu: BotAPIEmulator, bot: Bot) -> None:
    loop = asyncio.get_running_loop()
    started = loop.time()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    await emu.wait_for_calls("getUpdates", 1)
    update_id = emu.send_text(USER, "late")
    updates = await asyncio.wait_for(poll, 5)
    assert [u.update_id for u in updates] == [update_id]
    assert loop.time() - started < 5


async def test_second_poller_terminates_first(emu: BotAPIEmulator, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=10))
    await emu.wait_for_calls("getUpdates", 1)
    assert await bot.get_updates(timeout=0) == []
    with pytest.raises(TelegramConflictError) as exc:
        await asyncio.wait_for(first, 5)
    assert exc.value.message == (
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    )


async def test_duplicate_update_is_delivered_again(emu: BotAPIEmulator, bot: Bot) -> None:
    raw = {
        "update_id": 500,
        "message": {
            "message_id": 7,
            "date": 1_700_000_000,
            "chat": {"id": USER, "type": "private", "first_name": "U"},
            "from": {"id": USER, "is_bot": False, "first_name": "U"},
            "text": "dup",
        },
    }
    assert emu.post_update(raw) == 500
    assert [u.update_id for u in await bot.get_updates()] == [500]
    assert await bot.get_updates(offset=501) == []
    assert emu.post_update(raw) == 500  # Telegram re-delivering an update
    again = await bot.get_updates(offset=501)
    assert [u.update_id for u in again] == [500]
    assert again[0].message is not None and again[0].message.text == "dup"
    assert emu.send_text(USER, "next") == 501
    assert [u.update_id for u in await bot.get_updates(offset=501)] == [501]
    # the raw update made the chat known and the user's message id taken
    sent = await bot.send_message(USER, "reply", reply_to_message_id=7)
    assert sent.message_id == 9
    with pytest.raises(TelegramBadRequest, match="message to be replied not found"):
        await bot.send_message(USER, "reply", reply_to_message_id=1234)


async def test_group_chat_from_raw_update(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hello group", chat_id=GROUP)
    [update] = await bot.get_updates()
    assert update.message is not None
    assert update.message.chat.type == "supergroup"
    assert update.message.from_user is not None and update.message.from_user.id == USER
    sent = await bot.send_message(GROUP, "hi all")
    assert sent.chat.id == GROUP
    assert sent.chat.title
    emu.block(GROUP)
    with pytest.raises(TelegramForbiddenError, match="kicked from the supergroup chat"):
        await bot.send_message(GROUP, "x")


async def test_webhook_conflict_and_info(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "pending")
    await bot.set_webhook("https://example.com/hook", secret_token="s3cret", max_connections=5)
    assert emu.webhook is not None
    assert emu.webhook["url"] == "https://example.com/hook"
    assert emu.webhook["secret_token"] == "s3cret"
    info = await bot.get_webhook_info()
    assert info.url == "https://example.com/hook"
    assert info.pending_update_count == 1
    assert info.max_connections == 5
    with pytest.raises(TelegramConflictError, match="webhook is active"):
        await bot.get_updates()
    assert await bot.delete_webhook(drop_pending_updates=True) is True
    assert emu.webhook is None
    assert emu.pending_updates == 0
    assert await bot.get_updates() == []
    assert (await bot.get_webhook_info()).url == ""


# --------------------------------------------------------------------------- validation


async def test_text_length_limits(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    await bot.send_message(USER, "x" * 4096)
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(USER, "x" * 4097)
    assert exc.value.message == "Bad Request: message is too long"
    # counted after HTML parsing
    await bot.send_message(USER, "<b>" + "x" * 4096 + "</b>", parse_mode="HTML")
    # counted in UTF-16 code units: each emoji is two
    await bot.send_message(USER, "😀" * 2048)
    with pytest.raises(TelegramBadRequest, match="message is too long"):
        await bot.send_message(USER, "😀" * 2048 + "x")
    assert len(emu.messages(USER)) == 3


@pytest.mark.parametrize("text", ["", "   ", "<b></b>"])
async def test_empty_text(emu: BotAPIEmulator, bot: Bot, text: str) -> None:
    emu.send_text(USER, "hi")
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(USER, text, parse_mode="HTML")
    assert exc.value.message == "Bad Request: message text is empty"


async def test_caption_length_limit(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    doc = BufferedInputFile(b"data", filename="a.txt")
    await bot.send_document(USER, doc, caption="c" * 1024)
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_document(USER, doc, caption="c" * 1025)
    assert exc.value.message == "Bad Request: message caption is too long"


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        ("x" * 64, True),
        ("é" * 32, True),  # 64 bytes
        ("x" * 65, False),
        ("é" * 33, False),  # 66 bytes although only 33 characters
        ("", False),
    ],
)
async def test_callback_data_limits(emu: BotAPIEmulator, bot: Bot, data: str, ok: bool) -> None:
    emu.send_text(USER, "hi")
    markup = keyboard(("Go", data))
    if ok:
        await bot.send_message(USER, "x", reply_markup=markup)
        assert emu.messages(USER)[0].buttons == [("Go", data)]
        return
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(USER, "x", reply_markup=markup)
    assert exc.value.message == "Bad Request: BUTTON_DATA_INVALID"
    assert emu.messages(USER) == []


async def test_text_only_inline_button_rejected(emu: BotAPIEmulator) -> None:
    emu.send_text(USER, "hi")
    markup = {"inline_keyboard": [[{"text": "bare"}]]}
    status, body = await raw_call(
        emu, "sendMessage", json={"chat_id": USER, "text": "x", "reply_markup": markup}
    )
    assert status == 400
    assert "Text buttons are unallowed in the inline keyboard" in body["description"]


async def test_unparseable_reply_markup(emu: BotAPIEmulator) -> None:
    emu.send_text(USER, "hi")
    status, body = await raw_call(
        emu, "sendMessage", data={"chat_id": str(USER), "text": "x", "reply_markup": "{nope"}
    )
    assert status == 400
    assert body == {
        "ok": False,
        "error_code": 400,
        "description": "Bad Request: can't parse reply keyboard markup JSON object",
    }


async def test_html_parse_error_via_bot(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_message(USER, "a <x>b</x>", parse_mode="HTML")
    assert exc.value.message == (
        'Bad Request: can\'t parse entities: Unsupported start tag "x" at byte offset 2'
    )
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(USER, "Tom & Jerry", parse_mode="HTML")
    await bot.send_message(USER, "Tom & Jerry")  # no parse mode: nothing to escape


async def test_lenient_html_mode_accepts_bare_ampersand(launch: Launch) -> None:
    emu, bot = await launch(strict_html=False)
    emu.send_text(USER, "hi")
    sent = await bot.send_message(USER, "Tom & <b>Jerry</b>", parse_mode="HTML")
    assert sent.text == "Tom & Jerry"


async def test_unknown_method_and_token(emu: BotAPIEmulator) -> None:
    status, body = await raw_call(emu, "sendTelepathy")
    assert (status, body) == (
        404,
        {"ok": False, "error_code": 404, "description": "Not Found: method not found"},
    )
    status, body = await raw_call(emu, "getMe", token="not-a-token")
    assert (status, body) == (401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
    status, body = await raw_call(emu, "GETME", token="777:xyz")
    assert status == 200 and body["result"]["id"] == 777
    assert emu.calls["getMe"] == 1
    assert emu.calls["sendTelepathy"] == 1


async def test_query_string_and_json_parameters(emu: BotAPIEmulator) -> None:
    emu.send_text(USER, "hi")
    async with (
        aiohttp.ClientSession() as http,
        http.get(
            f"{emu.base_url}/bot{TOKEN}/sendMessage", params={"chat_id": str(USER), "text": "q"}
        ) as resp,
    ):
        assert resp.status == 200
        assert (await resp.json())["result"]["text"] == "q"
    status, body = await raw_call(emu, "sendMessage", json={"chat_id": USER, "text": "j"})
    assert status == 200 and body["ok"] is True
    assert [m.text for m in emu.messages(USER)] == ["q", "j"]


async def test_chat_action(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    assert await bot.send_chat_action(USER, "typing") is True
    assert emu.stats.chat_actions == 1
    status, body = await raw_call(emu, "sendChatAction", data={"chat_id": str(USER), "action": "x"})
    assert status == 400
    assert body["description"] == "Bad Request: wrong parameter action in request"


# --------------------------------------------------------------------------- HTML checker


@pytest.mark.parametrize(
    "html",
    [
        "plain text",
        "<b>bold</b> <i>it</i> <u>u</u> <s>s</s>",
        "<strong>a</strong><em>b</em><ins>c</ins><strike>d</strike><del>e</del>",
        '<span class="tg-spoiler">x</span> <tg-spoiler>y</tg-spoiler>',
        '<a href="https://example.com/?a=1&amp;b=2">link</a>',
        "<code>x</code> <pre>y</pre>",
        '<pre><code class="language-python">print(1)</code></pre>',
        "<blockquote>q</blockquote><blockquote expandable>long</blockquote>",
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "1 &lt; 2 &amp;&amp; 3 &gt; 2 &quot;q&quot; &#39; &#x1F600;",
        "<B>upper case tags</B>",
        "<b >spaces</b >",
        "<b><i>nested</i></b>",
        "a > b",
    ],
)
def test_html_accepts(html: str) -> None:
    assert check_telegram_html(html) is None


@pytest.mark.parametrize(
    ("html", "reason"),
    [
        ("<x>y</x>", 'Unsupported start tag "x" at byte offset 0'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("1<2", "Unclosed start tag at byte offset 1"),
        ("<b", "Unclosed start tag at byte offset 0"),
        ("<b>bold", 'Can\'t find end tag corresponding to start tag "b"'),
        ("<b><i>x</b></i>", 'Unmatched end tag at byte offset 7, expected "</i>", found "</b>"'),
        ("x</b>", "Unexpected end tag at byte offset 1"),
        ("<b>x</b", "Unclosed end tag at byte offset 4"),
        ("Tom & Jerry", 'Character "&" must be escaped as "&amp;" at byte offset 4'),
        ("&nbsp;", 'Character "&" must be escaped as "&amp;" at byte offset 0'),
        ("&amp no semicolon", 'Character "&" must be escaped as "&amp;" at byte offset 0'),
        ('<span class="x">y</span>', 'Tag "span" must have class "tg-spoiler" at byte offset 0'),
        (
            "<b foo>x</b>",
            'Expected equal sign in declaration of an attribute of the tag "b" at byte offset 0',
        ),
        ("é <z>", 'Unsupported start tag "z" at byte offset 3'),  # offsets are UTF-8 bytes
        ("<br/>", 'Unsupported start tag "br/" at byte offset 0'),
    ],
)
def test_html_rejects(html: str, reason: str) -> None:
    assert check_telegram_html(html) == reason


def test_html_lenient_ampersand_and_visible_text() -> None:
    assert check_telegram_html("Tom & Jerry", strict_ampersand=False) is None
    assert visible_text("Tom & Jerry") == "Tom & Jerry"
    assert visible_text('<b>Hi</b> &amp; <a href="x">there</a> &#x1F600;') == "Hi & there 😀"


def test_html_entities() -> None:
    parsed = parse_telegram_html("<b>😀<i>x</i></b> <a href='https://e.com'>l</a>")
    assert parsed.text == "😀x l"
    assert parsed.entities == [
        {"type": "bold", "offset": 0, "length": 3},
        {"type": "italic", "offset": 2, "length": 1},
        {"type": "text_link", "offset": 4, "length": 1, "url": "https://e.com"},
    ]
    pre = parse_telegram_html('<pre><code class="language-python">x</code></pre>')
    assert pre.entities == [{"type": "pre", "offset": 0, "length": 1, "language": "python"}]
    quote = parse_telegram_html("<blockquote expandable>q</blockquote>")
    assert quote.entities == [{"type": "expandable_blockquote", "offset": 0, "length": 1}]


# --------------------------------------------------------------------------- rate limits


async def test_per_chat_rate_limit(launch: Launch) -> None:
    clock = FakeClock()
    emu, bot = await launch(limits=RateLimits(per_chat_per_s=1), clock=clock)
    emu.send_text(USER, "hi")
    emu.send_text(OTHER, "hi")
    await bot.send_message(USER, "1")
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(USER, "2")
    assert exc.value.retry_after == 1
    assert "Too Many Requests: retry after 1" in exc.value.message  # aiogram rewords it
    status, body = await raw_call(emu, "sendMessage", json={"chat_id": USER, "text": "2"})
    assert (status, body) == (
        429,
        {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests: retry after 1",
            "parameters": {"retry_after": 1},
        },
    )
    await bot.send_message(OTHER, "other chats are unaffected")
    clock.advance(0.5)
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(USER, "2")
    # the refused attempt at +0.5 s did not take a slot, so one is free at +1 s
    clock.advance(0.5)
    sent = await bot.send_message(USER, "2")
    clock.advance(1)
    with pytest.raises(TelegramRetryAfter):  # edits count too
        await bot.edit_message_text("2b", chat_id=USER, message_id=sent.message_id)
        await bot.edit_message_text("2c", chat_id=USER, message_id=sent.message_id)
    assert [m.plain_text for m in emu.messages(USER)] == ["1", "2b"]
    assert emu.stats.too_many_requests == 4
    assert emu.stats.messages_sent == 3


async def test_global_rate_limit(launch: Launch) -> None:
    clock = FakeClock()
    emu, bot = await launch(limits=RateLimits(global_per_s=30), clock=clock)
    for chat in range(1, 32):
        emu.send_text(chat, "hi")
    for chat in range(1, 31):
        await bot.send_message(chat, "x")
    clock.advance(0.25)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(31, "x")
    assert exc.value.retry_after == 1
    clock.advance(0.75)
    await bot.send_message(31, "x")


async def test_answers_are_not_refused_by_the_bulk_limits(launch: Launch) -> None:
    clock = FakeClock()
    limits = RateLimits(global_per_s=30, per_chat_per_s=1, answer_window_s=10)
    emu, bot = await launch(limits=limits, clock=clock)
    for chat in range(1, 32):
        emu.open_chat(chat)
    for chat in range(1, 31):  # bulk: the whole second's budget
        await bot.send_message(chat, "news")
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(31, "news")
    emu.send_text(USER, "hi")
    await bot.send_message(USER, "an answer to hi")  # past both limits: it answers USER
    await bot.send_message(USER, "and its follow-up")
    clock.advance(10)
    with pytest.raises(TelegramRetryAfter):  # ten seconds on, a second message is bulk again
        await bot.send_message(USER, "x")
        await bot.send_message(USER, "y")
    assert [m.plain_text for m in emu.messages(USER)] == [
        "an answer to hi",
        "and its follow-up",
        "x",
    ]
    assert emu.stats.throttled == 2


async def test_group_rate_limit(launch: Launch) -> None:
    clock = FakeClock()
    emu, bot = await launch(limits=RateLimits(group_per_min=20, per_chat_per_s=1), clock=clock)
    emu.send_text(USER, "hi", chat_id=GROUP)
    emu.send_text(USER, "hi")
    for i in range(20):
        await bot.send_message(GROUP, str(i))
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(GROUP, "too many")
    assert exc.value.retry_after == 60
    await bot.send_message(USER, "private chats have their own limit")
    clock.advance(30)
    with pytest.raises(TelegramRetryAfter) as exc:
        await bot.send_message(GROUP, "too many")
    assert exc.value.retry_after == 30
    clock.advance(30)
    await bot.send_message(GROUP, "ok now")
    assert len(emu.messages(GROUP)) == 21


# --------------------------------------------------------------------------- faults


async def test_fault_injection(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    emu.inject_fault("sendMessage", status=500, description="Internal Server Error")
    with pytest.raises(TelegramServerError):
        await bot.send_message(USER, "x")
    await bot.send_message(USER, "y")

    emu.inject_fault(
        "SENDMESSAGE",
        status=429,
        description="Too Many Requests: retry after 7",
        retry_after=7,
        count=2,
    )
    for _ in range(2):
        with pytest.raises(TelegramRetryAfter) as exc:
            await bot.send_message(USER, "x")
        assert exc.value.retry_after == 7

    emu.inject_fault("*", status=400, description="Bad Request: something odd")
    with pytest.raises(TelegramBadRequest, match="something odd"):
        await bot.get_me()

    emu.inject_fault(
        "sendMessage", status=403, description="Forbidden: bot was blocked by the user"
    )
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(USER, "x")
    await bot.send_message(USER, "z")
    assert [m.text for m in emu.messages(USER)] == ["y", "z"]
    assert emu.stats.faults_triggered == 5
    assert emu.calls["sendMessage"] == 6
    assert emu.stats.too_many_requests == 2


async def test_delay_fault_triggers_client_timeout(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    emu.inject_fault("sendMessage", status=0, description="", delay=30)
    with pytest.raises(TelegramNetworkError, match="timeout"):
        await bot.send_message(USER, "slow", request_timeout=1)
    # a delay-only fault then answers normally
    emu.inject_fault("getMe", status=0, description="", delay=0.05)
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert (await bot.get_me()).id == 123
    assert loop.time() - started >= 0.05


# --------------------------------------------------------------------------- files


PNG_3x2 = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (3).to_bytes(4, "big") + (2).to_bytes(4, "big")


async def test_document_upload_round_trip(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    data = b"col1,col2\n1,2\n"
    sent = await bot.send_document(
        USER,
        BufferedInputFile(data, filename="report.csv"),
        caption="<b>Report</b>",
        parse_mode="HTML",
    )
    assert sent.document is not None
    assert sent.document.file_name == "report.csv"
    assert sent.document.file_size == len(data)
    assert sent.document.mime_type == "text/csv"
    assert sent.caption == "Report"
    assert sent.caption_entities is not None and sent.caption_entities[0].type == "bold"

    [stored] = emu.messages(USER)
    assert stored.kind == "document"
    assert stored.file_bytes == data
    assert stored.file_name == "report.csv"
    assert stored.file_id == sent.document.file_id
    assert stored.text == "<b>Report</b>"

    file = await bot.get_file(sent.document.file_id)
    assert file.file_path is not None and file.file_path.endswith(".csv")
    downloaded = await bot.download(sent.document.file_id)
    assert downloaded is not None and downloaded.read() == data

    again = await bot.send_document(USER, sent.document.file_id)
    assert again.document is not None
    assert again.document.file_unique_id == sent.document.file_unique_id
    with pytest.raises(TelegramBadRequest) as exc:
        await bot.send_document(USER, "no-such-file-id")
    assert exc.value.message == "Bad Request: wrong file identifier/HTTP URL specified"
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        await bot.get_file("no-such-file-id")


async def test_photo_upload(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    sent = await bot.send_photo(USER, BufferedInputFile(PNG_3x2, filename="p.png"), caption="pic")
    assert sent.photo is not None
    assert (sent.photo[-1].width, sent.photo[-1].height) == (3, 2)
    assert sent.caption == "pic"
    [stored] = emu.messages(USER)
    assert stored.kind == "photo"
    assert stored.file_bytes == PNG_3x2
    with pytest.raises(TelegramBadRequest, match="message caption is too long"):
        await bot.send_photo(USER, BufferedInputFile(PNG_3x2, filename="p.png"), caption="c" * 1025)
    edited = await bot.edit_message_caption(chat_id=USER, message_id=sent.message_id, caption="new")
    assert isinstance(edited, Message) and edited.caption == "new"
    with pytest.raises(TelegramBadRequest, match="there is no text in the message to edit"):
        await bot.edit_message_text("x", chat_id=USER, message_id=sent.message_id)


async def test_a_voice_note_and_a_place_sent_again_by_the_bot(
    emu: BotAPIEmulator, bot: Bot
) -> None:
    voice = emu.send_voice(USER, duration=9).message["voice"]
    sent = await bot.send_voice(USER, voice["file_id"], caption="C-7KQ3XM")
    assert sent.voice is not None and sent.voice.file_id == voice["file_id"]
    assert (sent.voice.duration, sent.caption) == (9, "C-7KQ3XM")
    place = await bot.send_location(USER, 12.6392, -8.0029)
    assert place.location is not None and place.location.latitude == 12.6392
    assert [m.kind for m in emu.messages(USER)] == ["voice", "location"]
    with pytest.raises(TelegramBadRequest, match="wrong file identifier/HTTP URL specified"):
        await bot.send_voice(USER, "AwACnever-sent")
    with pytest.raises(TelegramBadRequest, match="wrong latitude specified"):
        await bot.send_location(USER, 91.0, 0.0)
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await bot.send_location(424242, 1.0, 1.0)


# --------------------------------------------------------------------------- commands


async def test_bot_commands(emu: BotAPIEmulator, bot: Bot) -> None:
    await bot.set_my_commands(
        [
            BotCommand(command="start", description="Start"),
            BotCommand(command="help", description="Help"),
        ]
    )
    assert emu.calls["setMyCommands"] == 1
    assert [c["command"] for c in emu.commands] == ["start", "help"]
    await bot.set_my_commands(
        [BotCommand(command="start", description="Начать")], language_code="ru"
    )
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    [ru] = await bot.get_my_commands(language_code="ru")
    assert ru.description == "Начать"
    await bot.set_my_commands(
        [BotCommand(command="admin", description="Admin")], scope=BotCommandScopeChat(chat_id=USER)
    )
    scoped = [key for key in emu.commands_by_scope if '"chat_id":42' in key[0]]
    assert len(scoped) == 1
    assert await bot.delete_my_commands(language_code="ru") is True
    assert await bot.get_my_commands(language_code="ru") == []
    with pytest.raises(TelegramBadRequest, match="BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand(command="Start!", description="x")])


# --------------------------------------------------------------------------- observing


async def test_subscribe_sees_messages_edits_and_answers(emu: BotAPIEmulator, bot: Bot) -> None:
    queue = emu.subscribe()
    emu.send_text(USER, "hi")
    event = queue.get_nowait()
    assert (event.kind, event.chat_id) == ("update", USER)
    sent = await bot.send_message(USER, "one", reply_markup=keyboard(("A", "a")))
    created = queue.get_nowait()
    assert created.kind == "message" and created.message is not None
    await bot.edit_message_text("two", chat_id=USER, message_id=sent.message_id)
    edited = queue.get_nowait()
    assert edited.kind == "edit" and edited.message is not None
    assert (created.message.text, edited.message.text) == ("one", "two")  # snapshots
    emu.press_button(USER, sent.message_id, "a")
    assert queue.get_nowait().kind == "update"
    [update] = [u for u in await bot.get_updates() if u.callback_query]
    assert update.callback_query is not None
    await bot.answer_callback_query(update.callback_query.id, text="ok")
    answered = queue.get_nowait()
    assert answered.kind == "callback_answer" and answered.answer is not None
    assert answered.answer.text == "ok"
    emu.unsubscribe(queue)
    await bot.send_message(USER, "unseen")
    assert queue.empty()


async def test_wait_for_messages(emu: BotAPIEmulator, bot: Bot) -> None:
    emu.send_text(USER, "hi")
    waiter = asyncio.create_task(emu.wait_for_messages(USER, 2, timeout=5))
    await bot.send_message(USER, "a")
    assert not waiter.done()
    await bot.send_message(USER, "b")
    got = await waiter
    assert [m.text for m in got] == ["a", "b"]
    with pytest.raises(TimeoutError, match=r"3 message\(s\) in chat 42, got 2: .*'a'.*'b'"):
        await emu.wait_for_messages(USER, 3, timeout=0.05)


# --------------------------------------------------------------------------- control API


async def test_http_control_api(emu: BotAPIEmulator, bot: Bot) -> None:
    async with aiohttp.ClientSession(base_url=emu.base_url) as http:

        async def call(verb: str, path: str, body: Any = None) -> tuple[int, Any]:
            async with http.request(verb, "/_emulator" + path, json=body) as resp:
                return resp.status, await resp.json()

        status, body = await call(
            "POST",
            f"/users/{USER}/text",
            {"text": "/start", "first_name": "Ann", "language_code": "de"},
        )
        assert status == 200
        first_id = body["update_id"]
        [update] = await bot.get_updates()
        assert update.update_id == first_id
        assert update.message is not None and update.message.from_user is not None
        assert update.message.from_user.first_name == "Ann"
        assert update.message.from_user.language_code == "de"
        assert update.message.entities is not None

        sent = await bot.send_message(USER, "Choose", reply_markup=keyboard(("A", "a")))
        status, messages = await call("GET", f"/chats/{USER}/messages")
        assert status == 200
        assert [(m["message_id"], m["text"], m["buttons"]) for m in messages] == [
            (sent.message_id, "Choose", [["A", "a"]])
        ]
        status, messages = await call("GET", f"/chats/{USER}/wait?count=1&timeout=1")
        assert status == 200 and len(messages) == 1
        status, body = await call("GET", f"/chats/{USER}/wait?count=2&timeout=0.05")
        assert status == 408 and "got 1" in body["error"]

        status, body = await call(
            "POST", f"/users/{USER}/press", {"message_id": sent.message_id, "data": "a"}
        )
        assert status == 200
        press_id = body["update_id"]
        [update] = await bot.get_updates(offset=first_id + 1)
        assert update.callback_query is not None and update.callback_query.data == "a"
        await bot.answer_callback_query(update.callback_query.id, text="done")
        status, answers = await call("GET", f"/chats/{USER}/callback_answers")
        assert answers[0]["text"] == "done"
        status, _ = await call("POST", f"/users/{USER}/press", {"message_id": 999, "data": "a"})
        assert status == 404
        status, _ = await call("POST", f"/users/{USER}/text", {"first_name": "no text"})
        assert status == 400

        status, body = await call("GET", f"/updates/{press_id}/confirmed?timeout=0.05")
        assert status == 408 and body["confirmed"] is False
        await bot.get_updates(offset=press_id + 1)
        status, body = await call("GET", f"/updates/{press_id}/confirmed?timeout=1")
        assert status == 200 and body["confirmed"] is True

        await call("POST", f"/chats/{USER}/block", {"blocked": True})
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(USER, "x")
        await call("POST", f"/chats/{USER}/block", {"blocked": False})

        await call(
            "POST",
            "/faults",
            {"method": "sendMessage", "status": 502, "description": "Bad Gateway"},
        )
        with pytest.raises(TelegramServerError, match="Bad Gateway"):
            await bot.send_message(USER, "x")

        status, limits = await call("PUT", "/limits", {"per_chat_per_s": 1})
        assert status == 200 and limits["per_chat_per_s"] == 1.0
        await bot.send_message(USER, "first")
        with pytest.raises(TelegramRetryAfter):
            await bot.send_message(USER, "second")
        status, _ = await call("PUT", "/limits", {"bogus": 1})
        assert status == 400

        status, body = await call(
            "POST",
            "/updates",
            {
                "message": {
                    "message_id": 50,
                    "date": 0,
                    "chat": {"id": -5, "type": "group", "title": "G"},
                    "text": "x",
                }
            },
        )
        assert status == 200 and body["update_id"] == press_id + 1
        status, body = await call("POST", f"/users/{OTHER}/status", {"status": "kicked"})
        assert status == 200 and body["update_id"] == press_id + 2

        status, stats = await call("GET", "/stats")
        assert status == 200
        assert stats["calls"]["sendMessage"] == 5
        assert stats["too_many_requests"] == 1
        assert stats["forbidden"] == 1
        assert stats["messages_sent"] == 2
        assert stats["updates_pending"] == 2
        assert stats["errors"]["502"] == 1


# --------------------------------------------------------------------------- end to end


async def test_aiogram_dispatcher_end_to_end(emu: BotAPIEmulator, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("Welcome!", reply_markup=keyboard(("Go", "go")))

    @dp.callback_query()
    async def pressed(query: CallbackQuery) -> None:
        await query.answer("Going")
        assert isinstance(query.message, Message)
        await query.message.edit_text("Gone")

    events = emu.subscribe()
    polling = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, close_bot_session=False, polling_timeout=1)
    )
    try:
        emu.send_text(USER, "/start")
        [welcome] = await emu.wait_for_messages(USER, 1)
        assert welcome.plain_text == "Welcome!"
        emu.press_button(USER, welcome.message_id, welcome.button_data("Go"))
        async with asyncio.timeout(5):
            while (event := await events.get()).kind != "edit":
                pass
        assert event.message is not None and event.message.plain_text == "Gone"
        assert [a.text for a in emu.callback_answers(USER)] == ["Going"]
        assert emu.messages(USER)[0].buttons == []
    finally:
        await dp.stop_polling()
        await polling


@pytest.mark.slow
async def test_standalone_cli(bot_at: Callable[[str], Bot]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.sandbox.emulator",
        "--port",
        "0",
        "--per-chat",
        "1",
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 30)
        url = line.decode().strip()
        assert url.startswith("http://127.0.0.1:")
        async with aiohttp.ClientSession() as http, http.get(url + "/_emulator/limits") as resp:
            assert (await resp.json())["per_chat_per_s"] == 1.0
        assert (await bot_at(url).get_me()).username == "partnerbot_sandbox_bot"
        proc.terminate()
        assert await asyncio.wait_for(proc.wait(), 10) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
