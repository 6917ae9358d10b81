"""The instance's HTTP server: /healthz and /metrics, and the webhook in webhook mode."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot.ops.metrics import CONTENT_TYPE, Metrics, Snapshot

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Probes:
    """What the server asks the app: its health (ok?, details) and a metrics snapshot."""

    health: Callable[[], Awaitable[tuple[bool, Mapping[str, Any]]]]
    snapshot: Callable[[], Awaitable[Snapshot]]


def build_ops_app(
    *, probes: Probes, metrics: Metrics, webhook: tuple[str, Handler] | None = None
) -> web.Application:
    """An aiohttp application with /healthz, /metrics and, if given, the webhook route."""

    async def healthz(request: web.Request) -> web.StreamResponse:
        ok, details = await probes.health()
        return web.json_response({"ok": ok, **details}, status=200 if ok else 503)

    async def serve_metrics(request: web.Request) -> web.StreamResponse:
        body = metrics.render(await probes.snapshot())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", serve_metrics)
    if webhook is not None:
        path, handler = webhook
        app.router.add_post(path, handler)
    return app


class OpsServer:
    """Serves an application on host:port; `stop` stops accepting, then lets requests finish."""

    def __init__(self, app: web.Application, *, shutdown_timeout: float = 30.0) -> None:
        self.app = app
        self.shutdown_timeout = shutdown_timeout
        self.port: int | None = None
        self._runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen (port 0 picks a free one) and return the port."""
        runner = web.AppRunner(
            self.app, access_log=None, shutdown_timeout=self.shutdown_timeout, handle_signals=False
        )
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("serving /healthz, /metrics%s on %s:%s", self._extra(), host, self.port)
        return self.port

    def _extra(self) -> str:
        paths = {
            r.resource.canonical
            for r in self.app.router.routes()
            if r.method == "POST" and r.resource is not None
        }
        return "".join(f" and {path}" for path in sorted(paths))

    async def stop(self) -> None:
        """Stop listening; requests in progress get up to `shutdown_timeout` to finish."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
