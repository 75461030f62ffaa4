"""The gateway's call wrapper for one dependency: bulkhead -> circuit breaker -> retries -> timeout.

- Bulkhead: an `asyncio.Semaphore`; when it is full the call fails at once (counted as rejected),
  and the slot is held across all retries of a call, so the dependency never sees more than
  `bulkhead` concurrent requests from this gateway.
- Breaker: pybreaker, used as ``with breaker.calling(): await ...`` around the whole retried call,
  so one failed call (after its retries) is one breaker failure. Every real transition is recorded
  once as ``{"at": epoch_s, "from": ..., "to": ...}`` (same-state notifications are dropped).
  pybreaker moves open -> half-open lazily, on the first call after the reset timeout: until that
  call the state stays "open" (``half_open_due`` in `state()` says the next call will be a trial).
  With many calls in flight, pybreaker settles a late outcome on the state the call was admitted
  under; `_Breaker` applies only transitions valid from the *current* state (see there).
  Every call admitted while half-open is a trial (pybreaker does not limit them to one).
  "Never closes" = an open state that outlives the process.
- Retries: exponential backoff with jitter on idempotent GETs, on timeouts, connection errors and
  HTTP 5xx, capped by `retries` and by the retry budget (see `DependencyPolicy.retry_budget_ms`).
  A call does not retry into an open breaker: once its breaker has opened (tripped by other calls),
  an admitted call stops retrying, so an open breaker stops traffic to the dependency within one
  attempt. Every attempt carries ``X-Chaosrun-Request: <id of the gateway request>`` and
  ``X-Chaosrun-Attempt: <1-based attempt number>``, so the dependency can count attempts per call.
  tenacity (which stamina wraps) is used directly: the budget needs a stop condition that sees the
  upcoming backoff, which tenacity computes before calling `stop`; and stamina installs
  process-global retry hooks (a WARNING per retry, a counter in prometheus' default registry).
- Timeout: `asyncio.timeout` around each attempt.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import aiohttp
import pybreaker
from prometheus_client import CollectorRegistry, Counter, Enum, Gauge, Histogram
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    stop_never,
    wait_exponential_jitter,
)
from tenacity.stop import stop_base

from chaosrun.lab.topology import Dependency

__all__ = [
    "ATTEMPT_HEADER",
    "BREAKER_STATES",
    "REQUEST_HEADER",
    "CallFailed",
    "GatewayMetrics",
    "ResilientDependency",
]

log = logging.getLogger("chaosrun.lab.gateway")

BREAKER_STATES = ("closed", "open", "half-open")
REQUEST_HEADER = "X-Chaosrun-Request"
ATTEMPT_HEADER = "X-Chaosrun-Attempt"
_NEVER_S = 10.0**9  # ~31 years: an open breaker with this reset timeout stays open
_TRANSITIONS_KEPT = 1000
_IN_BULKHEAD = ("in_flight", "max_in_flight", "rejected")  # reported under "bulkhead" in state()
_FALLBACKS: dict[str, Any] = {
    "catalog": {"item": {"id": "title-0", "title": "Featured title", "cached": True}},
    "recommendations": {"items": []},
    "auth": {"token": "guest", "user": "guest", "guest": True},
}
_LATENCY_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2, 5)


class CallFailed(Exception):
    """A dependency call that failed after everything the policy allowed."""

    def __init__(self, dependency: str, reason: str) -> None:
        super().__init__(f"{dependency}: {reason}")
        self.dependency = dependency
        self.reason = reason


class _BreakerOpened(Exception):
    """The breaker opened while this call waited to retry: the retry is not sent."""


class _StatusError(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class GatewayMetrics:
    """Every Prometheus metric of one gateway process, in its own registry."""

    def __init__(self) -> None:
        self.registry = r = CollectorRegistry()
        self.requests = Counter(
            "gateway_requests",
            "Requests by endpoint and status",
            ["endpoint", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "gateway_request_duration_seconds",
            "Request latency by endpoint",
            ["endpoint"],
            buckets=_LATENCY_BUCKETS_S,
            registry=r,
        )
        self.calls = Counter(
            "gateway_dependency_calls",
            "Dependency calls by outcome (ok, timeout, error, rejected, short_circuited)",
            ["dependency", "outcome"],
            registry=r,
        )
        self.breaker = Enum(
            "gateway_breaker_state",
            "Circuit breaker state",
            ["dependency"],
            states=list(BREAKER_STATES),
            registry=r,
        )
        self.in_flight = Gauge(
            "gateway_bulkhead_in_flight",
            "Calls holding a bulkhead slot",
            ["dependency"],
            registry=r,
        )
        self.rejected = Counter(
            "gateway_bulkhead_rejections",
            "Calls rejected by a full bulkhead",
            ["dependency"],
            registry=r,
        )
        self.retries = Counter("gateway_retries", "Retry attempts", ["dependency"], registry=r)
        self.timeouts = Counter(
            "gateway_timeouts", "Attempts that timed out", ["dependency"], registry=r
        )
        self.fallbacks = Counter(
            "gateway_fallbacks", "Fallback answers", ["dependency"], registry=r
        )


@dataclass(slots=True)
class _Stats:
    calls: int = 0
    attempts: int = 0
    retries: int = 0
    timeouts: int = 0
    failures: int = 0
    fallbacks: int = 0
    rejected: int = 0
    short_circuited: int = 0
    in_flight: int = 0
    max_in_flight: int = 0


class _TransitionRecorder(pybreaker.CircuitBreakerListener):
    def __init__(self, owner: ResilientDependency) -> None:
        self._owner = owner

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        if old_state is None:
            return
        self._owner.record_transition(old_state.name, new_state.name)


class _Breaker(pybreaker.CircuitBreaker):
    """pybreaker's breaker, safe with many calls in flight on one event loop.

    pybreaker settles a call's outcome on the state object the call was admitted under, so with
    concurrent calls a late outcome can act on a breaker that has moved on: a failure admitted
    while closed re-opens an open breaker (restarting its reset timeout), a trial that succeeds
    after another trial failed closes an *open* breaker (open -> closed, skipping the trial), a
    trial that fails after another one succeeded re-opens a breaker with no failure streak.
    Here a transition is applied only when it is valid from the current state: open from closed
    (after `fail_max` consecutive failures) or from half-open; close from half-open.
    """

    def open(self) -> bool:
        with self._lock:
            current = self.current_state
            tripped = current == pybreaker.STATE_CLOSED and self.fail_counter >= self.fail_max
            if current != pybreaker.STATE_HALF_OPEN and not tripped:
                return bool(self._throw_new_error_on_trip)
            return bool(super().open())

    def close(self) -> None:
        with self._lock:
            if self.current_state == pybreaker.STATE_HALF_OPEN:
                super().close()


class ResilientDependency:
    """Calls one dependency through its policy; `call` returns its JSON or raises `CallFailed`."""

    def __init__(
        self, dep: Dependency, session: aiohttp.ClientSession, metrics: GatewayMetrics
    ) -> None:
        p = dep.policy
        self.name = dep.name
        self.policy = p
        self.metrics = metrics
        self.transitions: deque[dict[str, Any]] = deque(maxlen=_TRANSITIONS_KEPT)
        self._breaker_state = "closed"
        self._opened_at: float | None = None
        self._stats = _Stats()
        self._session = session
        self._timeout_s = None if p.timeout_ms is None else p.timeout_ms / 1000.0
        self._budget_s = None if p.retry_budget_ms is None else p.retry_budget_ms / 1000.0
        self._bulkhead = None if p.bulkhead is None else asyncio.Semaphore(p.bulkhead)
        self._breaker: _Breaker | None = None
        if p.breaker:
            self._breaker = _Breaker(
                fail_max=p.breaker_fail_max,
                reset_timeout=_NEVER_S if p.breaker_never_closes else p.breaker_reset_s,
                listeners=[_TransitionRecorder(self)],
                name=dep.name,
            )
        self._last_good: dict[str, Any] | None = None
        metrics.breaker.labels(dep.name).state("closed")

    def record_transition(self, old: str, new: str) -> None:
        """Record a breaker transition once; a notification that changes nothing is dropped."""
        if old == new or new == self._breaker_state:
            return
        at = time.time()
        self.transitions.append({"at": at, "from": old, "to": new})
        self._breaker_state = new
        if new == "open":
            self._opened_at = at
        self.metrics.breaker.labels(self.name).state(new)
        log.info("breaker %s: %s -> %s", self.name, old, new)

    async def call(self, path: str, request_id: str) -> Any:
        """One use of the dependency by the gateway request `request_id` (sent as a header)."""
        stats, name = self._stats, self.name
        stats.calls += 1
        if self._bulkhead is not None:
            if self._bulkhead.locked():
                stats.rejected += 1
                stats.failures += 1
                self.metrics.rejected.labels(name).inc()
                self.metrics.calls.labels(name, "rejected").inc()
                raise CallFailed(name, "bulkhead-full")
            await self._bulkhead.acquire()
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        self.metrics.in_flight.labels(name).inc()
        try:
            value = await self._guarded(path, request_id)
        except CallFailed as failed:
            stats.failures += 1
            outcome = failed.reason if failed.reason in ("timeout", "short_circuited") else "error"
            self.metrics.calls.labels(name, outcome).inc()
            raise
        finally:
            stats.in_flight -= 1
            self.metrics.in_flight.labels(name).dec()
            if self._bulkhead is not None:
                self._bulkhead.release()
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
        s = self._stats
        breaker = self._breaker
        state = "closed" if breaker is None else str(breaker.current_state)
        due = (
            breaker is not None
            and state == "open"
            and self._opened_at is not None
            and time.time() >= self._opened_at + breaker.reset_timeout
        )
        return {
            "breaker": {
                "enabled": breaker is not None,
                # pybreaker's own state: "open" until the first call after the reset timeout
                # moves it to half-open (lazily); `half_open_due` says that call is now due.
                "state": state,
                "never_closes": breaker is not None and self.policy.breaker_never_closes,
                "opened_at": self._opened_at,
                "half_open_due": due,
                "transitions": list(self.transitions),
            },
            "bulkhead": {
                "limit": self.policy.bulkhead,
                "in_flight": s.in_flight,
                "max_in_flight": s.max_in_flight,
                "rejected": s.rejected,
            },
            **{k: v for k, v in asdict(s).items() if k not in _IN_BULKHEAD},
        }

    async def _guarded(self, path: str, request_id: str) -> Any:
        if self._breaker is None:
            return await self._retrying(path, request_id)
        entered = False
        try:
            with self._breaker.calling():
                entered = True
                return await self._retrying(path, request_id)
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

    async def _retrying(self, path: str, request_id: str) -> Any:
        p = self.policy
        stop: stop_base = stop_never if p.retries is None else stop_after_attempt(p.retries + 1)
        if self._budget_s is not None:
            stop = stop_any(stop, _StopOverBudget(self._budget_s, self._timeout_s))
        if self._breaker is not None:
            stop = stop_any(stop, _StopWhen(self._breaker_open))
        retrying = AsyncRetrying(
            stop=stop,
            wait=wait_exponential_jitter(
                initial=p.backoff_initial_ms / 1000.0,
                max=p.backoff_max_ms / 1000.0,
                jitter=p.backoff_jitter_ms / 1000.0,
            ),
            retry=retry_if_exception(_retryable),
            before_sleep=self._count_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    number = attempt.retry_state.attempt_number
                    if number > 1 and self._breaker_open():
                        raise _BreakerOpened  # it opened during the backoff: do not send
                    return await self._attempt(path, request_id, number)
        except _BreakerOpened:
            raise CallFailed(self.name, "breaker-open") from None
        except TimeoutError:
            raise CallFailed(self.name, "timeout") from None
        except _StatusError as exc:
            raise CallFailed(self.name, f"http-{exc.status}") from None
        except aiohttp.ClientError as exc:
            raise CallFailed(self.name, f"connection: {type(exc).__name__}") from None
        except ValueError:
            raise CallFailed(self.name, "bad-response") from None
        raise AssertionError("unreachable: tenacity reraises the last failure")

    async def _attempt(self, path: str, request_id: str, number: int) -> Any:
        self._stats.attempts += 1
        headers = {REQUEST_HEADER: request_id, ATTEMPT_HEADER: str(number)}
        try:
            async with asyncio.timeout(self._timeout_s):
                async with self._session.get(path, headers=headers) as resp:
                    body = await resp.read()
                    status = resp.status
        except TimeoutError:
            self._stats.timeouts += 1
            self.metrics.timeouts.labels(self.name).inc()
            raise
        if status >= 400:
            raise _StatusError(status)
        return json.loads(body)

    def _count_retry(self, rs: RetryCallState) -> None:
        self._stats.retries += 1
        self.metrics.retries.labels(self.name).inc()


class _StopWhen(stop_base):
    """Stop retrying as soon as `condition()` holds (checked before each backoff)."""

    def __init__(self, condition: Callable[[], bool]) -> None:
        self._condition = condition

    def __call__(self, retry_state: RetryCallState) -> bool:
        return self._condition()


class _StopOverBudget(stop_base):
    """Stop unless the next attempt, after its backoff, can finish within the retry budget."""

    def __init__(self, budget_s: float, timeout_s: float | None) -> None:
        self._budget_s = budget_s
        self._timeout_s = timeout_s

    def __call__(self, retry_state: RetryCallState) -> bool:
        # tenacity computes the wait (upcoming_sleep) before it asks `stop`.
        starts_at = (retry_state.seconds_since_start or 0.0) + retry_state.upcoming_sleep
        if self._timeout_s is None:
            return starts_at >= self._budget_s
        return starts_at + self._timeout_s > self._budget_s


def _retryable(exc: BaseException) -> bool:
    if isinstance(exc, _StatusError):
        return exc.status >= 500
    return isinstance(exc, TimeoutError | aiohttp.ClientError)
