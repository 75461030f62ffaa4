"""A circuit breaker's open periods as seen from outside the service (pure).

A breaker is *observed open* while requests that use the dependency keep being answered and none
of them reaches the dependency: a *silence* at the dependency. Concretely, between two
consecutive arrivals at the dependency (or after the last one), the requests on its endpoints
scheduled after the earlier arrival and more than `GRACE_S` before the later one would have
reached it in between (a request reaches it after it is scheduled, and within `GRACE_S` on a
loaded host); when at least `MIN_SKIPPED` of them did not and the silence lasts at least
`min_silence_s` (from the first skipped request, when the breaker is known to be open, to the
next arrival, the trial), it is an open period. `MIN_SILENCE_S` is shorter than any reset
timeout worth declaring and longer than a full bulkhead or pool leaves requests out (only until
a slot frees, in a fraction of a call timeout): an open period shorter than it is not seen.

Transitions follow from the periods: the first opens from closed; each silence ends with a
trial (open -> half-open at the next arrival); a silence after a trial re-opens from half-open;
after the last silence, traffic flows again: half-open -> closed at its trial.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaosrun.checks._breaker_common import OpenPeriod
from chaosrun.checks.observation import Arrival, BreakerTransition

__all__ = ["GRACE_S", "MIN_SILENCE_S", "MIN_SKIPPED", "observed_periods", "transitions_of"]

GRACE_S = 0.1  # a request reaches the dependency within this of being scheduled (loaded host)
MIN_SKIPPED = 3
MIN_SILENCE_S = 0.25


def observed_periods(
    arrivals: Sequence[Arrival],
    calls: Sequence[float],
    start: float,
    end: float,
    min_silence_s: float = MIN_SILENCE_S,
) -> list[OpenPeriod]:
    """Silences at the dependency from `start` to `end`; `calls`: the scheduled times of the
    requests on the endpoints that use it, sorted."""
    times = sorted(a.at for a in arrivals if a.at <= end)
    before = [t for t in times if t < start]
    edges = ([before[-1]] if before else [start]) + [t for t in times if t >= start]
    periods: list[OpenPeriod] = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        limit = (end if high is None else high) - (0.0 if high is None else GRACE_S)
        skipped = [t for t in calls if low < t < limit]  # a silence may begin before `start`
        if len(skipped) < MIN_SKIPPED:
            continue
        length = (end if high is None else high) - skipped[0]
        if length >= min_silence_s:
            periods.append(OpenPeriod(skipped[0], high))
    return periods


def transitions_of(periods: Sequence[OpenPeriod]) -> tuple[BreakerTransition, ...]:
    """The transitions the observed periods imply (see the module doc)."""
    found: list[BreakerTransition] = []
    for i, p in enumerate(periods):
        found.append(BreakerTransition(p.start, "closed" if i == 0 else "half-open", "open"))
        if p.end is None:
            break
        found.append(BreakerTransition(p.end, "open", "half-open"))
        if i == len(periods) - 1:
            found.append(BreakerTransition(p.end, "half-open", "closed"))
    return tuple(found)
