"""The gateway's play history in the lab's database: one key per answered play, written to the
primary that Redis Sentinel names, through a Sentinel-aware client (redis-py).

- ``SET play:<request id> <epoch>``; with `wait_replicas` > 0, then ``WAIT wait_replicas
  wait_ms``: a play is acknowledged only once that many replicas have it (fewer: `NotStored`,
  although the primary holds it -- it may or may not survive a failover).
- A write whose ``WAIT`` falls short drops the client's connections, so the next one asks the
  Sentinels which primary to use: a primary cut off from its replicas may have been replaced.
- Every call is bounded: connect and read timeouts on the Sentinels and the primary, and one
  overall deadline per write (`deadline_s`). A partitioned primary or Sentinel costs at most
  that, never a hung request (Toxiproxy's issue #558: a slowed link can stall for long).
- `nat` maps an address Sentinel announces to the one this gateway reaches it at (as ioredis'
  natMap and Lettuce's MappingSocketAddressResolver do): a gateway reaches its own region's
  Redis through its region-local path, the others through their announced address.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from redis.asyncio.sentinel import Sentinel
from redis.exceptions import RedisError

__all__ = ["KEY_PREFIX", "NotStored", "PlayStore", "parse_address"]

KEY_PREFIX = "play:"
CONNECT_TIMEOUT_S = 0.2
READ_TIMEOUT_S = 0.3
DEADLINE_S = 0.6

Address = tuple[str, int]


class NotStored(Exception):
    """The play was not acknowledged by the database (the reason is the message)."""


def parse_address(text: str) -> Address:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


class _MappedSentinel(Sentinel):  # type: ignore[misc]
    """A Sentinel client that connects to the primary at the address `nat` maps it to."""

    def __init__(self, sentinels: Sequence[Address], nat: Mapping[Address, Address]) -> None:
        timeouts = {"socket_timeout": READ_TIMEOUT_S, "socket_connect_timeout": CONNECT_TIMEOUT_S}
        super().__init__(list(sentinels), sentinel_kwargs=dict(timeouts), **timeouts)  # type: ignore[no-untyped-call]
        self._nat = dict(nat)

    async def discover_master(self, service_name: str) -> Address:
        host, port = await super().discover_master(service_name)
        return self._nat.get((host, int(port)), (host, int(port)))


@dataclass(slots=True)
class PlayStore:
    sentinels: tuple[Address, ...]
    master: str
    nat: Mapping[Address, Address] = field(default_factory=dict)
    wait_replicas: int = 0
    wait_ms: int = 200
    deadline_s: float = DEADLINE_S
    written: int = 0
    dropped: int = 0
    last_error: str | None = None
    _client: Any = field(init=False, default=None)

    def __post_init__(self) -> None:
        sentinel = _MappedSentinel(self.sentinels, self.nat)
        self._client = sentinel.master_for(self.master)

    async def append(self, endpoint: str, request_id: str) -> None:
        """Store one play; `NotStored` when the database did not acknowledge it in time."""
        try:
            await asyncio.wait_for(self._write(request_id), self.deadline_s)
        except (RedisError, OSError, TimeoutError, NotStored) as exc:
            self.dropped += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            raise NotStored(self.last_error) from None
        self.written += 1

    async def _write(self, request_id: str) -> None:
        await self._client.set(f"{KEY_PREFIX}{request_id}", f"{time.time():.6f}")
        if self.wait_replicas > 0:
            wait = ("WAIT", self.wait_replicas, self.wait_ms)
            acked = int(await self._client.execute_command(*wait))
            if acked < self.wait_replicas:
                # A primary no replica follows may be one Sentinel has replaced: the next
                # write asks the Sentinels again rather than reuse these connections.
                await self._client.connection_pool.disconnect()
                raise NotStored(
                    f"written on the primary, acknowledged by {acked} of "
                    f"{self.wait_replicas} replica(s) within {self.wait_ms} ms"
                )

    async def close(self) -> None:
        await self._client.aclose()

    def state(self) -> dict[str, Any]:
        return {
            "database": {"master": self.master, "wait_replicas": self.wait_replicas},
            "written": self.written,
            "dropped": self.dropped,
            "last_error": self.last_error,
        }
