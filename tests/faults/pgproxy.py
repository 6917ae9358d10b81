"""A TCP proxy in front of the test PostgreSQL that can refuse, stall or cut connections.

The code under test connects through the proxy (`proxied_url`); the test injects real network
faults while it runs: `refuse()` stops listening (connections are refused, as when the server
is down), `cut()` resets every open connection (a restart, a broken network), `stall()` keeps
connections open but forwards nothing (a server that accepts and never answers); `restore()`
lifts them all. `outage()` is `cut()` and `refuse()` together: PostgreSQL stopped.

A module rather than a conftest.py: a second conftest module would shadow the root one that
other test modules import from.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

CHUNK = 64 * 1024


class FaultProxy:
    """Forwards 127.0.0.1:port to the target until told to fail."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.accepted = 0
        self._server: asyncio.Server | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._links: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        """Listen on a free port (then on the same one after each `refuse`)."""
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    def proxied_url(self, url: str) -> str:
        """`url` pointed at the proxy instead of the server."""
        parsed = make_url(url).set(host="127.0.0.1", port=self.port)
        return parsed.render_as_string(hide_password=False)

    async def refuse(self) -> None:
        """Stop listening: new connections are refused."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    def cut(self) -> None:
        """Reset every open connection, both ways."""
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def stall(self) -> None:
        """Keep connections open but forward nothing, and connect new ones to nothing."""
        self._flowing.clear()

    async def outage(self) -> None:
        """The server is gone: open connections reset, new ones refused."""
        await self.refuse()
        self.cut()

    async def restore(self) -> None:
        """Forward again, and listen again if refusing."""
        self._flowing.set()
        if self._server is None:
            await self.start()

    async def stop(self) -> None:
        """Close everything."""
        await self.refuse()
        self.cut()
        for link in list(self._links):
            link.cancel()
        await asyncio.gather(*self._links, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(writer)
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        try:
            await self._flowing.wait()
            try:
                up_reader, up_writer = await asyncio.open_connection(*self.target)
            except OSError:
                writer.transport.abort()
                return
            self._writers.add(up_writer)
            await asyncio.gather(
                self._pump(reader, up_writer, writer), self._pump(up_reader, writer, up_writer)
            )
        finally:
            self._links.discard(task)
            self._writers.discard(writer)

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        other: asyncio.StreamWriter,
    ) -> None:
        try:
            while data := await reader.read(CHUNK):
                await self._flowing.wait()
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # One side closed or failed: close the other, as a real connection would.
            for side in (writer, other):
                self._writers.discard(side)
                with contextlib.suppress(Exception):
                    side.transport.abort()


@pytest.fixture
async def pg_proxy(database_url: str) -> AsyncIterator[FaultProxy]:
    """A fault-injecting proxy in front of the test PostgreSQL (skips on SQLite)."""
    if not database_url.startswith("postgres"):
        pytest.skip("the fault proxy stands in front of PostgreSQL")
    parsed = make_url(database_url)
    proxy = FaultProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()
