"""What a run observed, gathered by the supervisor after the run, as the input of every verdict.

All times are wall-clock epoch seconds (one host: comparable across processes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from chaosrun.measure.timeline import RequestRecord

__all__ = [
    "RECORDED_ACCOUNT",
    "Arrival",
    "BreakerTransition",
    "DependencySnapshot",
    "FaultWindow",
    "Observation",
    "StoredWrites",
    "Verdict",
    "VerdictStatus",
    "not_judged",
]


VerdictStatus = Literal["passed", "failed", "not-judged"]
RECORDED_ACCOUNT = "/state"  # the lab gateway's own record of its calls, transitions included


@dataclass(frozen=True, slots=True)
class Verdict:
    """One check's result. `expected`/`observed` are short human sentences for the console.

    A verdict that could not be judged (`judged` False: nothing to judge it from) is never a
    pass: `passed` is False and `observed` says what it would need."""

    check: str  # e.g. "circuit_breaker.opens"
    passed: bool
    expected: str
    observed: str
    judged: bool = True
    account: str | None = None  # the service's own account, shown beside (never the evidence)

    @property
    def status(self) -> VerdictStatus:
        if not self.judged:
            return "not-judged"
        return "passed" if self.passed else "failed"

    def to_dict(self) -> dict[str, object]:
        extra = {"account": self.account} if self.account is not None else {}
        return {
            "check": self.check,
            "status": self.status,
            "passed": self.passed and self.judged,
            "expected": self.expected,
            "observed": self.observed,
            **extra,
        }


def not_judged(check: str, expected: str, needs: str) -> Verdict:
    """A verdict that could not be judged; `needs`: what it would need, one sentence."""
    return Verdict(check, False, expected, f"not judged: {needs}", judged=False)


@dataclass(frozen=True, slots=True)
class FaultWindow:
    kind: str  # fault kind, e.g. "latency", "proxy_down", "fail_for"
    target: str  # proxy / dependency name
    injected_at: float  # when the fault took effect
    cleared_at: float | None  # when it was reverted (None: never, within the observation)


@dataclass(frozen=True, slots=True)
class BreakerTransition:
    at: float
    from_state: str  # closed | open | half-open
    to_state: str


@dataclass(frozen=True, slots=True)
class Arrival:
    """A request as it reached the dependency (far side), recorded outside the service."""

    at: float
    path: str
    failed: bool  # answered >= 500, or no answer at all
    request_id: str | None = None  # the X-Chaosrun-Request header (the gateway's or the load's)
    attempt: int | None = None  # the gateway's X-Chaosrun-Attempt header (1 = first try)
    ended: float | None = None  # the answer's last byte left the dependency (None: unknown)


@dataclass(frozen=True, slots=True)
class DependencySnapshot:
    """A dependency seen from both sides at the end of the run.

    The far side (`arrivals`, `far_side_max_in_flight`) is what reached the dependency,
    recorded between Toxiproxy and it (`recorded`). The rest is the service's own account of
    its calls (the lab gateway's ``/state``; `has_account` False when the service gave none):
    shown beside the observed evidence."""

    name: str
    breaker_enabled: bool
    transitions: tuple[BreakerTransition, ...]
    bulkhead_limit: int | None
    bulkhead_rejected: int
    gateway_max_in_flight: int
    far_side_max_in_flight: int  # max concurrency seen at the dependency itself
    arrivals: tuple[Arrival, ...]
    retries: int = 0
    timeouts: int = 0
    has_account: bool = True
    recorded: bool = True
    account_source: str = RECORDED_ACCOUNT  # or the metric its breaker states were sampled from

    @property
    def recorded_account(self) -> bool:
        """The service recorded its breaker's transitions itself (not sampled from outside)."""
        return self.has_account and self.account_source == RECORDED_ACCOUNT


@dataclass(frozen=True, slots=True)
class StoredWrites:
    """What the database held after the run: the request ids of the writes read back from the
    primary a majority of its Sentinels named (`problem` set: it could not be read)."""

    ids: frozenset[str]
    source: str  # e.g. "primary 127.0.0.1:21901 (named by 3 of 3 Sentinels)"
    read_at: float
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class Observation:
    timeline: tuple[RequestRecord, ...]
    faults: tuple[FaultWindow, ...]
    dependencies: Mapping[str, DependencySnapshot] = field(default_factory=dict)
    endpoints_using: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # path -> deps
    stored: StoredWrites | None = None  # the database read back after the run, when asked for
