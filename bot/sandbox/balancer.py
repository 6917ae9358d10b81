"""A round-robin HTTP load balancer for local webhook set-ups (tests, benchmarks).

It stands where a production load balancer stands: Telegram (the emulator) POSTs to it, and it
passes each request to the next bot instance, trying the others when one does not answer at
all (a dead instance), like a proxy with passive health checks. A 5xx from an instance is
passed back unchanged, so Telegram delivers the update again.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging

import aiohttp
from aiohttp import web

from bot.sandbox.emulator import serve_until_signalled

log = logging.getLogger(__name__)
FORWARDED = ("Content-Type", "X-Telegram-Bot-Api-Secret-Token")


class Balancer:
    """Forwards every request to one of `upstreams` (base URLs), in turn."""

    def __init__(self, upstreams: list[str], *, timeout: float = 60.0) -> None:
        if not upstreams:
            raise ValueError("a balancer needs at least one upstream")
        self.upstreams = [u.rstrip("/") for u in upstreams]
        self.forwarded: dict[str, int] = dict.fromkeys(self.upstreams, 0)
        self._turn = itertools.cycle(range(len(self.upstreams)))
        self._timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=2.0)
        self._http: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.app = web.Application()
        self.app.router.add_route("*", "/{path:.*}", self._forward)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve and return the base URL."""
        self._http = aiohttp.ClientSession(
            timeout=self._timeout, connector=aiohttp.TCPConnector(limit=0)
        )
        self._runner = web.AppRunner(self.app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, host, port).start()
        bound = self._runner.addresses[0]
        return f"http://{bound[0]}:{bound[1]}"

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._http is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k in FORWARDED}
        first = next(self._turn)
        for n in range(len(self.upstreams)):
            upstream = self.upstreams[(first + n) % len(self.upstreams)]
            try:
                async with self._http.request(
                    request.method, upstream + request.rel_url.path_qs, data=body, headers=headers
                ) as resp:
                    payload = await resp.read()
                    self.forwarded[upstream] += 1
                    return web.Response(
                        status=resp.status, body=payload, content_type=resp.content_type
                    )
            except (aiohttp.ClientConnectionError, TimeoutError) as exc:
                log.info("upstream %s did not answer (%s); trying the next", upstream, exc)
        return web.Response(status=502, text="no upstream answered")


async def _serve(args: argparse.Namespace) -> None:
    balancer = Balancer(args.upstream)
    await serve_until_signalled(await balancer.start(args.host, args.port), balancer.stop)


def main(argv: list[str] | None = None) -> None:
    """Run standalone until SIGINT/SIGTERM, printing the base URL first."""
    parser = argparse.ArgumentParser(description="round-robin load balancer for webhooks")
    parser.add_argument("upstream", nargs="+", help="base URL of a bot instance")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
