"""What the circuit-breaker verdicts share: open periods and the phrases of their sentences."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaosrun.checks.expectations import fmt_s, requests_in
from chaosrun.checks.observation import BreakerTransition, Observation

__all__ = ["OpenPeriod", "hit", "names", "open_periods", "rel"]


@dataclass(frozen=True, slots=True)
class OpenPeriod:
    start: float
    end: float | None  # the transition out of open; None = still open at the end


def open_periods(transitions: Sequence[BreakerTransition]) -> list[OpenPeriod]:
    """From each transition to open until the next transition out of open (or the end)."""
    periods: list[OpenPeriod] = []
    start: float | None = None
    for t in sorted(transitions, key=lambda t: t.at):
        if t.to_state == "open" and start is None:
            start = t.at
        elif t.to_state != "open" and start is not None:
            periods.append(OpenPeriod(start, t.at))
            start = None
    if start is not None:
        periods.append(OpenPeriod(start, None))
    return periods


def hit(observation: Observation, endpoints: Sequence[str], start: float, end: float) -> int:
    """Requests on `endpoints` scheduled in [start, end) that were degraded or failed."""
    found = requests_in(observation.timeline, endpoints, [(start, end)])
    return sum(1 for r in found if r.degraded or not r.ok)


def rel(delta_s: float) -> str:
    return f"{fmt_s(abs(delta_s))} {'after' if delta_s >= 0 else 'before'}"


def names(endpoints: Sequence[str]) -> str:
    return ", ".join(endpoints) if endpoints else "(no endpoint uses it)"
