"""The gateway's call wrapper for one dependency: bulkhead -> circuit breaker -> retries -> timeout.

`ResilientDependency` puts the patterns together; each one is explained in its own module.

- Bulkhead (`_bulkhead`): an `asyncio.Semaphore`; when it is full the call fails at once (counted
  as rejected), and the slot is held across all retries of a call, so the dependency never sees
  more than `bulkhead` concurrent requests from this gateway.
- Breaker (`_breaker`): pybreaker, used as ``with breaker.calling(): await ...`` around the whole
  retried call, so one failed call (after its retries) is one breaker failure. Every real
  transition is recorded once as ``{"at": epoch_s, "from": ..., "to": ...}``. pybreaker moves
  open -> half-open lazily, on the first call after the reset timeout: until that call the state
  stays "open" (``half_open_due`` in `state()` says the next call will be a trial). Late outcomes
  of concurrent calls apply only transitions valid from the current state.
- Retries and timeout (`_retry`): exponential backoff with jitter on timeouts, connection errors
  and HTTP 5xx, within `retries` and the retry budget, never into an open breaker; every attempt
  carries the gateway request's id and its attempt number; `asyncio.timeout` around each attempt.
- Fallback (here): the degraded answer when a call fails and the policy allows it (catalog: the
  last good item, if any; otherwise a fixed answer per dependency).
- Metrics (`_metrics`): the process's Prometheus registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp
import pybreaker

from chaosrun.lab.services._breaker import (
    BREAKER_STATES,
    NEVER_S,
    Breaker,
    TransitionLog,
    breaker_state,
)
from chaosrun.lab.services._bulkhead import Bulkhead
from chaosrun.lab.services._metrics import GatewayMetrics
from chaosrun.lab.services._retry import ATTEMPT_HEADER, REQUEST_HEADER, CallFailed, RetryingGet
from chaosrun.lab.topology import Dependency

__all__ = [
    "ATTEMPT_HEADER",
    "BREAKER_STATES",
    "REQUEST_HEADER",
    "CallFailed",
    "GatewayMetrics",
    "ResilientDependency",
]

_FALLBACKS: dict[str, Any] = {
    "catalog": {"item": {"id": "title-0", "title": "Featured title", "cached": True}},
    "recommendations": {"items": []},
    "auth": {"token": "guest", "user": "guest", "guest": True},
}


@dataclass(slots=True)
class _Stats:
    """Counts kept here; the bulkhead and the retrying GET keep their own."""

    calls: int = 0
    failures: int = 0
    fallbacks: int = 0
    short_circuited: int = 0


class ResilientDependency:
    """Calls one dependency through its policy; `call` returns its JSON or raises `CallFailed`."""

    def __init__(
        self,
        dep: Dependency,
        session: aiohttp.ClientSession,
        metrics: GatewayMetrics,
        shared_bulkhead: Bulkhead | None = None,
    ) -> None:
        p = dep.policy
        self.name = dep.name
        self.policy = p
        self.metrics = metrics
        self._stats = _Stats()
        self._bulkhead = shared_bulkhead or Bulkhead(p.bulkhead)
        self._transitions = TransitionLog(dep.name, metrics.breaker.labels(dep.name))
        self._breaker: Breaker | None = None
        if p.breaker:
            self._breaker = Breaker(
                fail_max=p.breaker_fail_max,
                reset_timeout=NEVER_S if p.breaker_never_closes else p.breaker_reset_s,
                listeners=[self._transitions],
                name=dep.name,
                skips_half_open=p.breaker_skips_half_open,
            )
        breaker_open = None if self._breaker is None else self._breaker_open
        self._get = RetryingGet(dep.name, p, session, metrics, breaker_open)
        self._last_good: dict[str, Any] | None = None

    async def call(self, path: str, request_id: str) -> Any:
        """One use of the dependency by the gateway request `request_id` (sent as a header)."""
        stats, name, bulkhead = self._stats, self.name, self._bulkhead
        stats.calls += 1
        if bulkhead.full():
            bulkhead.reject()
            stats.failures += 1
            self.metrics.rejected.labels(name).inc()
            self.metrics.calls.labels(name, "rejected").inc()
            raise CallFailed(name, "bulkhead-full")
        await bulkhead.enter()
        self.metrics.in_flight.labels(name).inc()
        try:
            value = await self._guarded(path, request_id)
        except CallFailed as failed:
            stats.failures += 1
            outcome = failed.reason if failed.reason in ("timeout", "short_circuited") else "error"
            self.metrics.calls.labels(name, outcome).inc()
            raise
        finally:
            bulkhead.leave()
            self.metrics.in_flight.labels(name).dec()
        self.metrics.calls.labels(name, "ok").inc()
        if name == "catalog" and isinstance(value, dict) and isinstance(value.get("item"), dict):
            self._last_good = value["item"]
        return value

    def fallback(self) -> Any:
        """The degraded answer for this dependency (catalog: the last good item, if any)."""
        self._stats.fallbacks += 1
        self.metrics.fallbacks.labels(self.name).inc()
        if self._last_good is not None:
            return {"item": {**self._last_good, "cached": True}}
        return _FALLBACKS.get(self.name)

    def state(self) -> dict[str, Any]:
        s, get = self._stats, self._get
        return {
            "breaker": breaker_state(
                self._breaker, self._transitions, self.policy.breaker_never_closes
            ),
            "bulkhead": self._bulkhead.state(),
            "calls": s.calls,
            "attempts": get.attempts,
            "retries": get.retries,
            "timeouts": get.timeouts,
            "failures": s.failures,
            "fallbacks": s.fallbacks,
            "short_circuited": s.short_circuited,
        }

    async def _guarded(self, path: str, request_id: str) -> Any:
        if self._breaker is None:
            return await self._get.get(path, request_id)
        entered = False
        try:
            with self._breaker.calling():
                entered = True
                return await self._get.get(path, request_id)
        except pybreaker.CircuitBreakerError as exc:
            if not entered:
                self._stats.short_circuited += 1
                raise CallFailed(self.name, "short_circuited") from None
            # This failure tripped the breaker: pybreaker replaced it; report the real cause.
            cause = exc.__context__
            reason = cause.reason if isinstance(cause, CallFailed) else "error"
            raise CallFailed(self.name, reason) from None

    def _breaker_open(self) -> bool:
        return self._breaker is not None and self._breaker.current_state == pybreaker.STATE_OPEN
