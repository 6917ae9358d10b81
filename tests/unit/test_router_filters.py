"""Every filter and handler the routers register runs on the event loop.

aiogram runs a callable that is not a coroutine function in a worker thread, once per check;
with a dozen routers that is a dozen thread hand-offs for each message.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram import F, Router
from aiogram.dispatcher.event.handler import CallableObject
from aiogram.types import Chat, Message, User

from bot.telegram.filters import NotCommand, PlainText
from bot.telegram.routers import get_routers


def _callables(routers: list[Router]) -> list[tuple[str, CallableObject]]:
    found: list[tuple[str, CallableObject]] = []
    for router in (r for top in routers for r in top.chain_tail):
        for name, observer in router.observers.items():
            where = f"{router.name}.{name}"
            found += [(f"{where} router filter", f) for f in observer._handler.filters or []]
            for handler in observer.handlers:
                found.append((f"{where} handler {handler.callback!r}", handler))
                found += [(f"{where} filter {f.callback!r}", f) for f in handler.filters or []]
    return found


def test_no_filter_or_handler_runs_in_a_thread() -> None:
    found = _callables(get_routers())
    assert len(found) > 50, "the walk reaches the routers' handlers and filters"
    assert [where for where, callable_ in found if not callable_.awaitable] == []


def test_the_walk_catches_a_magic_filter_and_a_sync_handler() -> None:
    router = Router(name="sync")
    router.message.register(lambda message: None, F.text)
    assert len([c for _, c in _callables([router]) if not c.awaitable]) == 2


async def test_the_filters_answer_as_the_magic_filters_they_replace() -> None:
    user = User(id=1, is_bot=False, first_name="A")

    def message(text: str | None) -> Message:
        return Message(
            message_id=1,
            date=datetime.now(UTC),
            chat=Chat(id=1, type="private"),
            from_user=user,
            text=text,
        )

    assert await PlainText()(message("hello"))
    assert not await PlainText()(message("/start"))
    assert not await PlainText()(message(None))
    assert await NotCommand()(message(None))
    assert not await NotCommand()(message("/stop"))
