"""`BotAPIEmulator`: the Bot API method families and the control API served over HTTP, and
the standalone command (`python -m bot.sandbox.emulator`)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import signal
import sys
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.sandbox.emulator.callbacks import Callbacks
from bot.sandbox.emulator.control import Control
from bot.sandbox.emulator.copies import Copies
from bot.sandbox.emulator.edits import Edits
from bot.sandbox.emulator.files import TOKEN_RE
from bot.sandbox.emulator.groups import Groups
from bot.sandbox.emulator.limits import RandomFaults, RateLimits
from bot.sandbox.emulator.params import Params, json_response, read_params
from bot.sandbox.emulator.people import People
from bot.sandbox.emulator.profile import Profile
from bot.sandbox.emulator.saving import Saving
from bot.sandbox.emulator.types import MAX_UPLOAD_BYTES, APIError
from bot.sandbox.emulator.updates import Updates


class BotAPIEmulator(Copies, Edits, Callbacks, Groups, Profile, Updates, Control, People, Saving):
    """An in-process fake of the Telegram Bot API server plus a control API to act as users.

    Each Bot API method is emulated in the module of its family, marked with `@bot_api(name)`:
    messages.py, polls.py, copies.py, edits.py, callbacks.py, groups.py, files.py, profile.py,
    updates.py.
    """

    @functools.cached_property
    def app(self) -> web.Application:
        """The aiohttp application (other routes may join it before start())."""
        app = web.Application(client_max_size=MAX_UPLOAD_BYTES)
        app.on_shutdown.append(self._on_shutdown)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        self._add_control_routes(app.router)
        self._add_people_routes(app.router)
        return app

    @property
    def base_url(self) -> str:
        """Base URL of the running server, e.g. http://127.0.0.1:PORT."""
        if self._base_url is None:
            raise RuntimeError("emulator is not started")
        return self._base_url

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0 picks a free port) and return the base URL."""
        self._closing.clear()
        runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        self._base_url = f"http://{shown}:{bound_port}"
        return self._base_url

    async def stop(self) -> None:
        """Stop serving, releasing long polls and delayed answers first."""
        self._begin_close()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
            self._pusher = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _begin_close(self) -> None:
        self._closing.set()
        self._updates_signal.fire()

    async def _on_shutdown(self, app: web.Application) -> None:
        self._begin_close()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._closing.wait()

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        """/bot<token>/<method>: injected faults first, then the method's emulation."""
        token = request.match_info["token"]
        match = TOKEN_RE.fullmatch(token)
        if match is None:
            return self._error(401, "Unauthorized")
        method = request.match_info["method"]
        key = method.lower()
        entry = self._methods.get(key)
        bot_id = int(match.group(1))
        if not self._bot_id_fixed:
            self._bot_id = bot_id
        params: Params | None = None
        bad_params: APIError | None = None
        try:
            params = await read_params(request, bot_id)
        except APIError as exc:
            bad_params = exc
        # counted only once the body is read: a waiter woken by wait_for_calls() then knows
        # the handler already runs (a getUpdates long poll is parked, for instance)
        self.calls[method if entry is None else entry[0]] += 1
        self.stats.requests += 1
        self._calls_signal.fire()
        fault = self._faults.take(key)
        if fault is not None:
            self.stats.faults_triggered += 1
            if fault.delay > 0:
                await self._pause(fault.delay)
            if fault.body is not None:
                self.stats.errors[fault.status] += 1
                return web.Response(
                    status=fault.status, text=fault.body, content_type=fault.content_type
                )
            if fault.status >= 400:
                return self._error(fault.status, fault.description, fault.parameters)
        if self._faults.strikes(key):
            self.stats.random_errors += 1
            return self._error(self._faults.random.status, self._faults.random.description)
        if entry is None:
            return self._error(404, "Not Found: method not found")
        try:
            if params is None:
                raise bad_params or APIError(400, "Bad Request: invalid parameters")
            result = await entry[1](params)
        except APIError as exc:
            return self._error(exc.code, exc.description, exc.parameters)
        return json_response({"ok": True, "result": result})


async def _serve(args: argparse.Namespace) -> None:
    limits = RateLimits(
        per_chat_per_s=args.per_chat,
        global_per_s=args.global_rate,
        group_per_min=args.group,
        answer_window_s=args.answer_window,
    )
    faults = RandomFaults(error_rate=args.error_rate, seed=args.seed)
    emulator = BotAPIEmulator(limits=limits, bot_username=args.username, random_faults=faults)
    await serve_until_signalled(await emulator.start(args.host, args.port), emulator.stop)


async def serve_until_signalled(url: str, stop_server: Callable[[], Awaitable[None]]) -> None:
    """Print a standalone server's base URL (its parent reads it), then stop it on SIGINT or
    SIGTERM."""
    sys.stdout.write(url + "\n")
    sys.stdout.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    try:
        await stop.wait()
    finally:
        await stop_server()


def main(argv: list[str] | None = None) -> None:
    """Run the emulator standalone until SIGINT/SIGTERM, printing its base URL first."""
    parser = argparse.ArgumentParser(description="Local Telegram Bot API emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--per-chat", type=float, default=None, help="sends/s per private chat")
    parser.add_argument("--global", dest="global_rate", type=float, default=None, help="sends/s")
    parser.add_argument("--group", type=float, default=None, help="sends/min per group chat")
    parser.add_argument(
        "--answer-window",
        type=float,
        default=None,
        help="seconds after a user's message in which calls to that chat answer it: not refused",
    )
    parser.add_argument("--username", default="partnerbot_sandbox_bot")
    parser.add_argument(
        "--error-rate", type=float, default=0.0, help="share of sends failing with 502 (0..1)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random errors")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args))
