"""What a persona sends besides typing and pressing: a voice note (a placeholder of a given
length), a photo, a location, and the `/start` a `t.me/<bot>?start=<token>` link opens, all
through the emulator as Telegram would deliver them."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit

from aiohttp import web

from bot.sandbox.emulator import BotAPIEmulator
from bot.sandbox.web.base import Persona, Route, WebError, introduce, read_body

MAX_VOICE_S = 600
DEFAULT_PLACE = (14.6937, -17.4441)  # Dakar
# Telegram's deep-link parameter: up to 64 of A-Z a-z 0-9 _ -
_START = re.compile(r"[A-Za-z0-9_-]{1,64}")
_LINK_HOSTS = frozenset({"t.me", "telegram.me", "www.t.me"})


def say(emulator: BotAPIEmulator, persona: Persona, text: str) -> int:
    """The persona types `text` in their chat with the bot; the update's id."""
    return emulator.send_text(
        persona.user_id, text, first_name=persona.first_name, language_code=persona.language_code
    )


def start_text(link: str, bot_username: str) -> str:
    """What opening a link to the bot sends: `/start` and the link's parameter, if any."""
    raw = link.strip()
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    query = parse_qs(parts.query)
    if parts.scheme == "tg" and parts.netloc == "resolve":
        name = (query.get("domain") or [""])[0]
    elif parts.scheme in ("http", "https") and parts.netloc.lower() in _LINK_HOSTS:
        name = parts.path.strip("/")
    else:
        raise WebError(400, "not a Telegram link (https://t.me/<bot>?start=…)")
    if name.lower() != bot_username.lower():
        raise WebError(400, f"this link opens @{name}, not the sandbox's @{bot_username}")
    token = (query.get("start") or [""])[0]
    if not token:
        return "/start"
    if _START.fullmatch(token) is None:
        raise WebError(400, "Telegram refuses a start parameter outside A-Z a-z 0-9 _ - (≤ 64)")
    return f"/start {token}"


class PhoneMedia:
    """The routes a phone's attachment menu and link opener call."""

    def __init__(
        self,
        emulator: BotAPIEmulator,
        persona_of: Callable[[web.Request], Persona],
        ready: Callable[[], object],
    ) -> None:
        self.emulator = emulator
        self._persona_of = persona_of
        self._ready = ready

    def routes(self) -> list[Route]:
        """Under /personas/{user_id}/."""
        return [
            ("POST", "/personas/{user_id}/voice", self._voice),
            ("POST", "/personas/{user_id}/photo", self._photo),
            ("POST", "/personas/{user_id}/location", self._location),
            ("POST", "/personas/{user_id}/links", self._open_link),
        ]

    async def _sender(self, request: web.Request) -> tuple[Persona, dict[str, object]]:
        persona = self._persona_of(request)
        body = await read_body(request)
        self._ready()
        introduce(self.emulator, persona)
        return persona, body

    async def _voice(self, request: web.Request) -> web.StreamResponse:
        persona, body = await self._sender(request)
        duration = _number(body.get("duration", 5), "the length")
        if not 1 <= duration <= MAX_VOICE_S or duration != int(duration):
            raise WebError(400, f"a voice note lasts 1 to {MAX_VOICE_S} whole seconds")
        posted = self.emulator.send_voice(persona.user_id, duration=int(duration))
        return web.json_response(posted.to_dict())

    async def _photo(self, request: web.Request) -> web.StreamResponse:
        persona, body = await self._sender(request)
        caption = str(body.get("caption") or "").strip() or None
        posted = self.emulator.send_photo(persona.user_id, caption=caption)
        return web.json_response(posted.to_dict())

    async def _location(self, request: web.Request) -> web.StreamResponse:
        persona, body = await self._sender(request)
        latitude = _number(body.get("latitude", DEFAULT_PLACE[0]), "the latitude")
        longitude = _number(body.get("longitude", DEFAULT_PLACE[1]), "the longitude")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise WebError(400, "a latitude is within ±90 and a longitude within ±180")
        posted = self.emulator.send_location(persona.user_id, latitude, longitude)
        return web.json_response(posted.to_dict())

    async def _open_link(self, request: web.Request) -> web.StreamResponse:
        persona, body = await self._sender(request)
        text = start_text(str(body.get("url") or ""), self.emulator.bot_username)
        return web.json_response({"update_id": say(self.emulator, persona, text), "text": text})


def _number(value: object, what: str) -> float:
    try:
        return float(str(value))
    except ValueError:
        raise WebError(400, f"{what} must be a number") from None
