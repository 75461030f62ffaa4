"""The gateway's call policy inside the breaker: retries within a budget, a timeout per attempt.

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
from collections.abc import Callable
from typing import Any

import aiohttp
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

from chaosrun.lab.services._metrics import GatewayMetrics
from chaosrun.lab.topology import DependencyPolicy

__all__ = ["ATTEMPT_HEADER", "REQUEST_HEADER", "CallFailed", "RetryingGet"]

REQUEST_HEADER = "X-Chaosrun-Request"
ATTEMPT_HEADER = "X-Chaosrun-Attempt"


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


class RetryingGet:
    """GETs one dependency with retries and timeouts; `get` returns its JSON or raises `CallFailed`.

    `breaker_open` (None: no breaker) says whether the dependency's breaker is open now. Counts
    the attempts sent, the retries and the attempts that timed out.
    """

    def __init__(
        self,
        name: str,
        policy: DependencyPolicy,
        session: aiohttp.ClientSession,
        metrics: GatewayMetrics,
        breaker_open: Callable[[], bool] | None,
    ) -> None:
        self.name = name
        self.policy = policy
        self.attempts = 0
        self.retries = 0
        self.timeouts = 0
        self._session = session
        self._metrics = metrics
        self._breaker_open = breaker_open
        p = policy
        self._timeout_s = None if p.timeout_ms is None else p.timeout_ms / 1000.0
        self._budget_s = None if p.retry_budget_ms is None else p.retry_budget_ms / 1000.0

    async def get(self, path: str, request_id: str) -> Any:
        p = self.policy
        stop: stop_base = stop_never if p.retries is None else stop_after_attempt(p.retries + 1)
        if self._budget_s is not None:
            stop = stop_any(stop, _StopOverBudget(self._budget_s, self._timeout_s))
        if self._breaker_open is not None:
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
                    if number > 1 and self._breaker_open is not None and self._breaker_open():
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
        self.attempts += 1
        headers = {REQUEST_HEADER: request_id, ATTEMPT_HEADER: str(number)}
        try:
            async with asyncio.timeout(self._timeout_s):
                async with self._session.get(path, headers=headers) as resp:
                    body = await resp.read()
                    status = resp.status
        except TimeoutError:
            self.timeouts += 1
            self._metrics.timeouts.labels(self.name).inc()
            raise
        if status >= 400:
            raise _StatusError(status)
        return json.loads(body)

    def _count_retry(self, rs: RetryCallState) -> None:
        self.retries += 1
        self._metrics.retries.labels(self.name).inc()


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
