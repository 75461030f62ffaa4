"""Circuit-breaker verdicts on its open periods: fails fast, stops traffic, half-opens on time.

The grace periods are explained with the verdicts in `chaosrun.checks.circuit_breaker`.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaosrun.checks._breaker_common import OpenPeriod, names, rel
from chaosrun.checks.expectations import (
    BreakerExpectation,
    fmt_ms,
    fmt_s,
    n_of,
    percentile,
    requests_in,
)
from chaosrun.checks.observation import Observation, Verdict

__all__ = [
    "IN_FLIGHT_GRACE_S",
    "STRAY_ARRIVALS_ALLOWED",
    "TRIAL_GRACE_S",
    "fails_fast",
    "half_opens",
    "stops_traffic",
]

TRIAL_GRACE_S = 0.05
IN_FLIGHT_GRACE_S = 0.1
STRAY_ARRIVALS_ALLOWED = 0


def fails_fast(
    observation: Observation,
    e: BreakerExpectation,
    opens: Sequence[OpenPeriod],
    end: float,
    endpoints: tuple[str, ...],
) -> Verdict:
    name = "circuit_breaker.fails_fast"
    expected = f"while open, p99 of {names(endpoints)} <= {e.fail_fast_p99_ms:g} ms"
    if not opens:
        return Verdict(name, False, expected, "breaker never opened: no open period to measure")
    windows = [(p.start, (end if p.end is None else p.end) - TRIAL_GRACE_S) for p in opens]
    latencies = [r.latency_ms for r in requests_in(observation.timeline, endpoints, windows)]
    p99 = percentile(latencies, 99.0)
    if p99 is None:
        return Verdict(
            name, False, expected, f"no request during {n_of(len(opens), 'open period')}"
        )
    observed = (
        f"p99 {fmt_ms(p99)} (max {fmt_ms(max(latencies))}) over {n_of(len(latencies), 'request')} "
        f"in {n_of(len(opens), 'open period')}"
    )
    return Verdict(name, p99 <= e.fail_fast_p99_ms, expected, observed)


def stops_traffic(
    observation: Observation, e: BreakerExpectation, opens: Sequence[OpenPeriod], end: float
) -> Verdict:
    name, dep = "circuit_breaker.stops_traffic", e.dependency
    expected = f"no arrival at {dep} while open (after {IN_FLIGHT_GRACE_S * 1000:g} ms grace)"
    if not opens:
        return Verdict(name, False, expected, "breaker never opened: no open period to measure")
    arrivals = observation.dependencies[dep].arrivals
    if not arrivals:
        return Verdict(name, False, expected, f"no arrival at {dep} recorded at all: not observed")
    spans = [(p.start + IN_FLIGHT_GRACE_S, end if p.end is None else p.end) for p in opens]
    stray = [a for a in arrivals if any(lo < a.at < hi for lo, hi in spans)]
    open_s = sum(max(0.0, hi - lo) for lo, hi in spans)
    observed = (
        f"{n_of(len(stray), 'arrival')} at {dep} inside {n_of(len(opens), 'open period')} "
        f"({open_s:.2f} s after grace); {n_of(len(arrivals), 'arrival')} in all"
    )
    if stray:
        first = min(stray, key=lambda a: a.at)
        owner = max((p for p in opens if p.start < first.at), key=lambda p: p.start)
        observed += f"; first {fmt_ms((first.at - owner.start) * 1000)} after opening"
    return Verdict(name, len(stray) <= STRAY_ARRIVALS_ALLOWED, expected, observed)


def half_opens(
    observation: Observation,
    e: BreakerExpectation,
    opens: Sequence[OpenPeriod],
    endpoints: tuple[str, ...],
    injected_at: float,
) -> Verdict:
    name = "circuit_breaker.half_opens"
    expected = f"half-open {e.reset_timeout_s:g} s +- {e.tolerance_s:g} s after each open"
    if not opens:
        return Verdict(name, False, expected, "breaker never opened: no open period to measure")
    wanted = frozenset(endpoints)
    calls = sorted(r.scheduled for r in observation.timeline if r.endpoint in wanted)
    delays: list[float] = []
    problems: list[str] = []
    for p in opens:
        due = p.start + e.reset_timeout_s
        first = next((t for t in calls if t >= due), None)
        if p.end is not None and p.end < due - e.tolerance_s:
            problems.append(f"half-opened {fmt_s(p.end - p.start)} after opening (early)")
        elif first is None:
            if p.end is not None and p.end <= due + e.tolerance_s:
                delays.append(p.end - p.start)  # triggered by traffic outside the timeline
        elif p.end is None:
            after = sum(1 for t in calls if t >= due)
            problems.append(
                f"the open of {rel(p.start - injected_at)} injection never half-opened "
                f"although {n_of(after, 'request')} came after its reset timeout"
            )
        elif p.end > max(due, first) + e.tolerance_s:
            late = p.end - max(due, first)
            problems.append(
                f"half-opened {fmt_s(p.end - p.start)} after opening, {fmt_s(late)} after "
                "the first call that could trigger it"
            )
        else:
            delays.append(p.end - p.start)
    if problems:
        observed = f"{len(problems)} of {n_of(len(opens), 'open period')} wrong: {problems[0]}"
        return Verdict(name, False, expected, observed)
    if not delays:
        observed = f"{n_of(len(opens), 'open period')}, none with traffic after its reset timeout"
        return Verdict(name, False, expected, observed)
    spread = f"{min(delays):.3f}..{max(delays):.3f} s"
    observed = f"{n_of(len(delays), 'open period')} half-opened after {spread}"
    return Verdict(name, True, expected, observed)
