"""The sandbox's web simulator: phones side by side, served by the emulator's own aiohttp app.

The page talks to `/_sandbox/...` JSON routes and receives every change as Server-Sent Events.
What it needs from the running bot (the clock, the outbox, reloading flows) comes through a
`Host`, which the sandbox runner provides; this package knows only the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from aiohttp import web

from bot.sandbox.emulator import BotAPIEmulator, EmulatorEvent
from bot.sandbox.web.base import (
    COORDINATOR_ID,
    Event,
    Persona,
    Route,
    WebError,
    dumps,
    guarded,
    read_body,
    whole,
)
from bot.sandbox.web.group import GroupPanel
from bot.sandbox.web.media import PhoneMedia, say
from bot.sandbox.web.render import message_view, person_view
from bot.sandbox.web.watch import watch

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/_sandbox"
STATUS_INTERVAL_S = 2.0
KEEP_ALIVE_S = 15.0
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?")


@dataclass(frozen=True)
class ContentProblem:
    """One thing wrong with the flows or the wording, located as precisely as known."""

    file: str
    message: str
    flow: str | None = None
    node: str | None = None


class Host(Protocol):
    """What the page needs from the running bot."""

    watched: Sequence[Path]

    def now(self) -> datetime:
        """The sandbox clock."""
        ...

    def ahead(self) -> timedelta:
        """How far the sandbox clock runs ahead of real time (zero: real time is in force)."""
        ...

    async def advance(self, by: str) -> datetime:
        """Move the sandbox clock forward by a duration such as `1h`; ValueError if unreadable."""
        ...

    async def outbox(self) -> Mapping[str, Any]:
        """The outbox panel's content: counts by status and the latest rows, JSON-ready."""
        ...

    async def reload_content(self) -> list[ContentProblem]:
        """Reload flows and wording; the problems found (none: the new version runs)."""
        ...


class SandboxWeb:
    """Serves the page and its API on the emulator's app; mount before the emulator starts."""

    def __init__(self, emulator: BotAPIEmulator, personas: Iterable[Persona] = ()) -> None:
        self.emulator = emulator
        self.personas: dict[int, Persona] = {p.user_id: p for p in personas}
        self.host: Host | None = None
        self.content: dict[str, Any] = {"ok": True, "problems": [], "reloaded_at": None}
        self._transcripts: dict[int, list[Event]] = {}
        self._clients: set[asyncio.Queue[Event | None]] = set()
        self._status: Event | None = None
        self._status_due = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.groups = GroupPanel(emulator, self.personas, self._show, self._host)
        self._media = PhoneMedia(emulator, self._persona, self._host)
        # subscribed now, so nothing the bot sends before start() is missed
        self._events = emulator.subscribe()
        self._mount(emulator.app)

    @property
    def admin_ids(self) -> frozenset[int]:
        """User ids the bot must treat as admins (the coordinator persona)."""
        return frozenset(p.user_id for p in self.personas.values() if p.admin)

    # ----------------------------------------------------------------- lifecycle

    def start(self, host: Host) -> None:
        """Begin following the bot: its messages, the outbox and edits to flows and wording."""
        self.host = host
        self._tasks = [
            asyncio.create_task(self._pump(), name="sandbox-web-events"),
            asyncio.create_task(self._refresh_status(), name="sandbox-web-status"),
            asyncio.create_task(watch(host.watched, self.reload), name="sandbox-web-watch"),
        ]

    async def stop(self) -> None:
        """Stop the background tasks and end the event streams."""
        self._end_streams()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self.emulator.unsubscribe(self._events)

    async def reload(self) -> None:
        """Reload flows and wording and tell the page how it went."""
        host = self._host()
        try:
            problems = await host.reload_content()
        except Exception as exc:  # e.g. a catalog the parser gives up on: still tell the author
            log.exception("reloading flows and wording failed")
            where = ", ".join(str(path) for path in host.watched)
            problems = [ContentProblem(where, f"could not reload: {exc}")]
        self.content = {
            "ok": not problems,
            "problems": [asdict(p) for p in problems],
            # wall-clock time: when the author saved, whatever the sandbox clock says
            "reloaded_at": datetime.now(UTC).isoformat() if not problems else None,
        }
        self._broadcast({"type": "content", "content": self.content})

    # ----------------------------------------------------------------- state

    def snapshot(self) -> Event:
        """Everything the page shows, for a page that just connected."""
        return {
            "type": "snapshot",
            "personas": [asdict(p) for p in self.personas.values()],
            "transcripts": {str(k): v for k, v in self._transcripts.items()},
            "content": self.content,
            "status": self._status,
            "groups": self.groups.infos(),
        }

    def saved_state(self) -> Event:
        """The personas and what their phones show, JSON-ready (see restore_state)."""
        return {
            "personas": [asdict(p) for p in self.personas.values()],
            "transcripts": {str(k): v for k, v in self._transcripts.items()},
            "groups": self.groups.saved(),
        }

    def restore_state(self, saved: Mapping[str, Any]) -> None:
        """Show again what an earlier run's saved_state() held; call it before start()."""
        for fields in saved.get("personas", []):
            persona = Persona(**fields)
            self.personas[persona.user_id] = persona
        for chat_id, entries in saved.get("transcripts", {}).items():
            self._transcripts[int(chat_id)] = list(entries)
        self.groups.restore(saved.get("groups", {}))

    def _host(self) -> Host:
        if self.host is None:
            raise WebError(503, "the bot is still starting")
        return self.host

    def _persona(self, request: web.Request) -> Persona:
        try:
            user_id = int(request.match_info["user_id"])
        except ValueError:
            raise WebError(404, "no such persona") from None
        persona = self.personas.get(user_id)
        if persona is None:
            raise WebError(404, f"no persona with user id {user_id}")
        return persona

    def _record(self, event: EmulatorEvent) -> list[Event]:
        """Apply an emulator event to the transcripts; what to tell the page."""
        update = event.update if event.kind == "update" else None
        if update is not None and isinstance(update.get("poll_answer"), dict):
            return self._reshow_poll(self.groups.answered(update))
        chat_id = event.chat_id
        if chat_id is None:
            return []
        # a group's new topic first, then the message posted in it
        info = self.groups.changed(chat_id)
        told = [] if info is None else [{"type": "group", "group": info}]
        shown = self._apply(event, chat_id)
        return told if shown is None else [*told, shown]

    def _apply(self, event: EmulatorEvent, chat_id: int) -> Event | None:
        transcript = self._transcripts.setdefault(chat_id, [])
        message = event.message
        if event.kind == "message" and message is not None:
            entry = self.groups.with_voters(message_view(message))
            transcript.append(entry)
            return {"type": "message", "chat_id": chat_id, "entry": entry}
        if event.kind in ("edit", "delete") and message is not None:
            at = next(
                (
                    i
                    for i, e in enumerate(transcript)
                    if e["from"] == "bot" and e["message_id"] == message.message_id
                ),
                None,
            )
            if at is None:
                return None
            if event.kind == "delete":
                del transcript[at]
                return {"type": "delete", "chat_id": chat_id, "message_id": message.message_id}
            transcript[at] = entry = self.groups.with_voters(message_view(message))
            return {"type": "edit", "chat_id": chat_id, "entry": entry}
        if event.kind == "callback_answer" and event.answer is not None:
            answer = event.answer
            return {
                "type": "answer",
                "chat_id": chat_id,
                "text": answer.text,
                "show_alert": answer.show_alert,
            }
        if event.kind == "update" and event.update is not None:
            sent = event.update.get("message")
            said = person_view(sent, event.update["update_id"]) if isinstance(sent, dict) else None
            if said is not None:
                transcript.append(said)
                return {"type": "message", "chat_id": chat_id, "entry": said}
        return None

    def _show(self, chat_id: int, entry: Event) -> None:
        """Show a person's message that reached no update (a group post the bot cannot read)."""
        self._transcripts.setdefault(chat_id, []).append(entry)
        self._broadcast({"type": "message", "chat_id": chat_id, "entry": entry})

    def _reshow_poll(self, poll_id: str) -> list[Event]:
        """The poll's messages again, with who voted for what (named polls)."""
        edits = []
        for chat_id, transcript in self._transcripts.items():
            for at, entry in enumerate(transcript):
                poll = entry.get("poll")
                if entry["from"] == "bot" and poll is not None and poll["id"] == poll_id:
                    transcript[at] = entry = self.groups.with_voters(dict(entry))
                    edits.append({"type": "edit", "chat_id": chat_id, "entry": entry})
        return edits

    def _broadcast(self, event: Event) -> None:
        for queue in self._clients:
            queue.put_nowait(event)

    def _end_streams(self) -> None:
        for queue in self._clients:
            queue.put_nowait(None)

    async def _pump(self) -> None:
        while True:
            event = await self._events.get()
            for shown in self._record(event):
                self._broadcast(shown)
            if event.kind in ("message", "update"):
                self._status_due.set()  # the outbox has likely moved

    async def _refresh_status(self) -> None:
        """Push the clock and the outbox to the pages whenever they change."""
        host = self._host()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATUS_INTERVAL_S):
                    await self._status_due.wait()
            self._status_due.clear()
            if not self._clients:
                continue
            try:
                outbox = await host.outbox()
            except Exception:  # a busy or closing database: try again on the next turn
                log.exception("reading the outbox failed")
                continue
            status = {"type": "status", **_clock(host, minute=True), "outbox": outbox}
            if status != self._status:
                self._status = status
                self._broadcast(status)

    # ----------------------------------------------------------------- HTTP

    def _mount(self, app: web.Application) -> None:
        app.on_shutdown.append(self._on_shutdown)
        router = app.router
        router.add_get("/", self._index)
        router.add_static(PREFIX + "/static/", STATIC, append_version=False)
        routes: list[Route] = [
            ("GET", "/events", self._stream),
            ("GET", "/state", self._state),
            ("POST", "/personas", self._add_persona),
            ("PATCH", "/personas/{user_id}", self._change_persona),
            ("POST", "/personas/{user_id}/text", self._send_text),
            ("POST", "/personas/{user_id}/press", self._press),
            ("POST", "/clock", self._advance),
            ("GET", "/outbox", self._outbox),
            *self.groups.routes(),
            *self._media.routes(),
        ]
        for verb, path, handler in routes:
            router.add_route(verb, PREFIX + path, guarded(handler))

    async def _on_shutdown(self, app: web.Application) -> None:
        self._end_streams()

    async def _index(self, request: web.Request) -> web.StreamResponse:
        return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def _state(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self.snapshot(), dumps=dumps)

    async def _stream(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._clients.add(queue)
        self._status_due.set()
        try:
            await _write_event(response, self.snapshot())
            while True:
                try:
                    async with asyncio.timeout(KEEP_ALIVE_S):
                        event = await queue.get()
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if event is None:
                    break
                await _write_event(response, event)
        except (ConnectionResetError, ConnectionError):
            pass  # the page went away
        finally:
            self._clients.discard(queue)
        return response

    async def _add_persona(self, request: web.Request) -> web.StreamResponse:
        body = await read_body(request)
        first_name = _name(body.get("first_name"))
        language = _language(body.get("language_code", "en"))
        role = str(body.get("role") or "").strip()[:80]
        raw_id = body.get("user_id")
        if raw_id in (None, ""):
            user_id = max((p for p in self.personas if p < COORDINATOR_ID), default=1000) + 1
        else:
            try:
                user_id = int(str(raw_id))
            except ValueError:
                raise WebError(400, "the user id must be a whole number") from None
            if not 0 < user_id < 2**52:
                raise WebError(400, "the user id must be a positive number")
        if user_id in self.personas:
            raise WebError(409, f"user id {user_id} already has a phone")
        persona = Persona(user_id, first_name, language, role)
        self.personas[user_id] = persona
        self._broadcast({"type": "persona", "persona": asdict(persona)})
        return web.json_response(asdict(persona), status=201)

    async def _change_persona(self, request: web.Request) -> web.StreamResponse:
        persona = self._persona(request)
        body = await read_body(request)
        if "first_name" in body:
            persona.first_name = _name(body["first_name"])
        if "language_code" in body:
            persona.language_code = _language(body["language_code"])
        if "role" in body:
            persona.role = str(body["role"] or "").strip()[:80]
        self._broadcast({"type": "persona", "persona": asdict(persona)})
        return web.json_response(asdict(persona))

    async def _send_text(self, request: web.Request) -> web.StreamResponse:
        persona = self._persona(request)
        text = str((await read_body(request)).get("text") or "").strip()
        self._host()
        if not text:
            raise WebError(400, "type something to send")
        return web.json_response({"update_id": say(self.emulator, persona, text)})

    async def _press(self, request: web.Request) -> web.StreamResponse:
        persona = self._persona(request)
        body = await read_body(request)
        self._host()
        try:
            message_id, data = int(body["message_id"]), str(body["data"])
        except (KeyError, TypeError, ValueError):
            raise WebError(400, "a press needs message_id and data") from None
        chat = body.get("chat_id")  # a group's message; else the persona's own chat
        chat_id = None if chat is None else whole(chat, "chat_id")
        try:
            update_id = self.emulator.press_button(
                persona.user_id, message_id, data, chat_id=chat_id
            )
        except KeyError:
            raise WebError(404, "that message is gone") from None
        return web.json_response({"update_id": update_id})

    async def _advance(self, request: web.Request) -> web.StreamResponse:
        host = self._host()
        by = str((await read_body(request)).get("advance") or "")
        try:
            await host.advance(by)
        except ValueError as exc:
            raise WebError(400, str(exc)) from None
        self._status_due.set()
        return web.json_response(_clock(host, minute=False))

    async def _outbox(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(dict(await self._host().outbox()), dumps=dumps)


def _clock(host: Host, *, minute: bool) -> Event:
    """The sandbox time (to the minute, as the page shows it) and how far it runs ahead."""
    now = host.now()
    if minute:  # an unchanged page is then not sent again
        now = now.replace(second=0, microsecond=0)
    return {"clock": now.isoformat(), "clock_ahead_s": host.ahead().total_seconds()}


async def _write_event(response: web.StreamResponse, event: Event) -> None:
    await response.write(f"data: {dumps(event)}\n\n".encode())


def _name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not 1 <= len(name) <= 64:
        raise WebError(400, "a first name has 1 to 64 characters")
    return name


def _language(value: Any) -> str:
    code = str(value or "").strip()
    if _LANGUAGE.fullmatch(code) is None:
        raise WebError(400, f"not a language code: {code!r} (try en or fr)")
    return code
