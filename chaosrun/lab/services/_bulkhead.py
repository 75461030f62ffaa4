"""The gateway's bulkhead on one dependency: at most `limit` calls at once, and no queue.

An `asyncio.Semaphore`; when it is full a call fails at once (the caller counts it as rejected)
instead of waiting for a slot. The caller holds its slot across all retries of a call, so the
dependency never sees more than `limit` concurrent requests from this gateway. With no limit the
calls in flight are still counted.
"""

from __future__ import annotations

import asyncio
from typing import Any

__all__ = ["Bulkhead"]


class Bulkhead:
    """Slots for the calls to one dependency; `limit` None = unlimited (only counted)."""

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self.in_flight = 0
        self.max_in_flight = 0
        self.rejected = 0
        self._slots = None if limit is None else asyncio.Semaphore(limit)

    def full(self) -> bool:
        """No slot is free: the call is to be rejected (`reject`), not queued."""
        return self._slots is not None and self._slots.locked()

    def reject(self) -> None:
        self.rejected += 1

    async def enter(self) -> None:
        """Take a slot; the caller has checked that one is free (`full`)."""
        if self._slots is not None:
            await self._slots.acquire()
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def leave(self) -> None:
        self.in_flight -= 1
        if self._slots is not None:
            self._slots.release()

    def state(self) -> dict[str, Any]:
        """The "bulkhead" part of the gateway's /state for one dependency."""
        return {
            "limit": self.limit,
            "in_flight": self.in_flight,
            "max_in_flight": self.max_in_flight,
            "rejected": self.rejected,
        }
