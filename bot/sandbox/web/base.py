"""What the page's route modules share: personas, JSON bodies and errors answered as JSON."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aiohttp import web

if TYPE_CHECKING:
    from bot.sandbox.emulator import BotAPIEmulator

COORDINATOR_ID = 9001
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]
Event = dict[str, Any]


@dataclass
class Persona:
    """Someone holding a phone: a Telegram user with a first name and an app language."""

    user_id: int
    first_name: str
    language_code: str
    role: str = ""
    admin: bool = False


def default_personas() -> list[Persona]:
    """The partnership in miniature; the coordinator is one of the bot's admins."""
    return [
        Persona(1001, "Fatou", "fr", "Community member, writes French"),
        Persona(1002, "Marc", "en", "Municipal officer"),
        Persona(1003, "Priya", "en", "Private-sector partner"),
        Persona(COORDINATOR_ID, "Ada", "en", "Coordinator", admin=True),
    ]


def introduce(emulator: BotAPIEmulator, persona: Persona) -> None:
    """Make the emulator call the persona by the page's name (renamed, or not written yet)."""
    emulator.remember_user(
        persona.user_id, first_name=persona.first_name, language_code=persona.language_code
    )


class WebError(Exception):
    """A bad request from the page, answered as JSON."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def dumps(payload: Any) -> str:
    """JSON as the page reads it (non-ASCII kept, dates as text)."""
    return json.dumps(payload, ensure_ascii=False, default=str)


async def read_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object; WebError for anything else."""
    # A JSON content type makes a cross-site form post impossible without a CORS preflight.
    if request.content_type != "application/json":
        raise WebError(415, "send JSON (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        raise WebError(400, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise WebError(400, "expected a JSON object")
    return body


def whole(value: Any, what: str) -> int:
    """`value` as a whole number, or a 400 naming `what`."""
    try:
        return int(str(value))
    except ValueError:
        raise WebError(400, f"{what} must be a whole number") from None


def guarded(handler: Handler) -> Handler:
    """Answer a WebError as JSON."""

    async def wrapper(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except WebError as exc:
            return web.json_response({"error": str(exc)}, status=exc.status)

    return wrapper
