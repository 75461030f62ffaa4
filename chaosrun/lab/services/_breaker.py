"""The gateway's circuit breaker on one dependency: pybreaker, safe with concurrent asyncio calls.

- Every real transition is recorded once by `TransitionLog` as
  ``{"at": epoch_s, "from": ..., "to": ...}`` (same-state notifications are dropped).
- pybreaker moves open -> half-open lazily, on the first call after the reset timeout: until that
  call the state stays "open" (``half_open_due`` in `breaker_state` says the next call will be a
  trial).
- With many calls in flight, pybreaker settles a late outcome on the state the call was admitted
  under; `Breaker` applies only transitions valid from the *current* state (see there).
- Every call admitted while half-open is a trial (pybreaker does not limit them to one).
- "Never closes" = an open state that outlives the process (a reset timeout of `NEVER_S`).
"""

from __future__ import annotations

import logging
import time
from collections import deque
from typing import Any

import pybreaker
from prometheus_client import Enum

__all__ = ["BREAKER_STATES", "NEVER_S", "Breaker", "TransitionLog", "breaker_state"]

log = logging.getLogger("chaosrun.lab.gateway")

BREAKER_STATES = ("closed", "open", "half-open")
NEVER_S = 10.0**9  # ~31 years: an open breaker with this reset timeout stays open
_TRANSITIONS_KEPT = 1000


class Breaker(pybreaker.CircuitBreaker):
    """pybreaker's breaker, safe with many calls in flight on one event loop.

    pybreaker settles a call's outcome on the state object the call was admitted under, so with
    concurrent calls a late outcome can act on a breaker that has moved on: a failure admitted
    while closed re-opens an open breaker (restarting its reset timeout), a trial that succeeds
    after another trial failed closes an *open* breaker (open -> closed, skipping the trial), a
    trial that fails after another one succeeded re-opens a breaker with no failure streak.
    Here a transition is applied only when it is valid from the current state: open from closed
    (after `fail_max` consecutive failures) or from half-open; close from half-open.
    """

    def __init__(self, *args: Any, skips_half_open: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.skips_half_open = skips_half_open

    def half_open(self) -> None:
        """The reset timeout passed; the breaker-skips-half-open variant closes instead: an
        illegal open -> closed transition, and the next failures need `fail_max` to re-open."""
        if not self.skips_half_open:
            super().half_open()
            return
        with self._lock:
            pybreaker.CircuitBreaker.close(self)

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


class TransitionLog(pybreaker.CircuitBreakerListener):
    """The last transitions of one dependency's breaker, also shown by its `gauge` and logged.

    Exists (and reports "closed", no transition) whether or not the dependency has a breaker.
    """

    def __init__(self, name: str, gauge: Enum) -> None:
        self.name = name
        self.transitions: deque[dict[str, Any]] = deque(maxlen=_TRANSITIONS_KEPT)
        self.opened_at: float | None = None
        self._state = "closed"
        self._gauge = gauge
        gauge.state("closed")

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        if old_state is None:
            return
        self.record(old_state.name, new_state.name)

    def record(self, old: str, new: str) -> None:
        """Record a breaker transition once; a notification that changes nothing is dropped."""
        if old == new or new == self._state:
            return
        at = time.time()
        self.transitions.append({"at": at, "from": old, "to": new})
        self._state = new
        if new == "open":
            self.opened_at = at
        self._gauge.state(new)
        log.info("breaker %s: %s -> %s", self.name, old, new)


def breaker_state(
    breaker: Breaker | None, transitions: TransitionLog, never_closes: bool
) -> dict[str, Any]:
    """The "breaker" part of the gateway's /state for one dependency (`breaker` None: disabled)."""
    state = "closed" if breaker is None else str(breaker.current_state)
    opened_at = transitions.opened_at
    due = (
        breaker is not None
        and state == "open"
        and opened_at is not None
        and time.time() >= opened_at + breaker.reset_timeout
    )
    return {
        "enabled": breaker is not None,
        # pybreaker's own state: "open" until the first call after the reset timeout
        # moves it to half-open (lazily); `half_open_due` says that call is now due.
        "state": state,
        "never_closes": breaker is not None and never_closes,
        "opened_at": opened_at,
        "half_open_due": due,
        "transitions": list(transitions.transitions),
    }
