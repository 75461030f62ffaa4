"""A connection limit for a lab service, as a worker-per-connection server has (Apache's
MaxRequestWorkers, a database's max_connections): at most `limit` connections are served at
once; each further connection is accepted by the kernel and then waits, unread, in arrival
order, until a served one closes. A client sees its request sent and no answer: it waits, as
behind a full pool.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Callable

from aiohttp import web

__all__ = ["ConnectionSlots", "SlottedSite"]


class ConnectionSlots:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.served = 0
        self.max_served = 0
        self.waiting: deque[_Slotted] = deque()

    def arrive(self, conn: _Slotted) -> None:
        if self.served < self.limit:
            self._serve(conn)
        else:
            conn.transport.pause_reading()
            self.waiting.append(conn)

    def leave(self, conn: _Slotted) -> None:
        if conn.serving:
            self.served -= 1
            while self.waiting and self.served < self.limit:
                self._serve(self.waiting.popleft())
        else:
            with contextlib.suppress(ValueError):  # gone while waiting
                self.waiting.remove(conn)

    def _serve(self, conn: _Slotted) -> None:
        self.served += 1
        self.max_served = max(self.max_served, self.served)
        conn.start()


class _Slotted(asyncio.Protocol):
    """Holds the real protocol back until the connection gets a slot."""

    def __init__(self, inner: asyncio.Protocol, slots: ConnectionSlots) -> None:
        self.inner = inner
        self.slots = slots
        self.serving = False
        self.transport: asyncio.Transport

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.slots.arrive(self)

    def start(self) -> None:
        self.serving = True
        self.transport.resume_reading()  # (first: the protocol may pause it again)
        self.inner.connection_made(self.transport)

    def data_received(self, data: bytes) -> None:
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self.serving else None

    def connection_lost(self, exc: Exception | None) -> None:
        self.slots.leave(self)
        if self.serving:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.serving:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.serving:
            self.inner.resume_writing()


class SlottedSite(web.TCPSite):
    """`web.TCPSite` whose connections go through `slots`."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, slots: ConnectionSlots,
                 backlog: int = 2048) -> None:  # fmt: skip
        super().__init__(runner, host, port, backlog=backlog)
        self.slots = slots

    async def start(self) -> None:
        self._runner._reg_site(self)
        server = self._runner.server
        assert server is not None
        factory: Callable[[], asyncio.Protocol] = lambda: _Slotted(server(), self.slots)  # noqa: E731
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            factory, self._host, self._port, backlog=self._backlog, reuse_address=True
        )
