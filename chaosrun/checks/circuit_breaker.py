"""Circuit-breaker verdicts: the gateway's breaker on one dependency, seen from both sides.

`check_circuit_breaker(observation, expectation)` returns six verdicts, in this order. "E" is the
set of endpoints using the dependency; an *open period* runs from a transition to open until the
next transition out of open (pybreaker's lazy open -> half-open), or the end of the observation.

- ``circuit_breaker.opens``: a closed -> open transition at injected_at <= t <=
  injected_at + opens_within_s (the first fault on the dependency).
- ``circuit_breaker.fails_fast``: requests on E scheduled in [open, half-open - TRIAL_GRACE_S)
  of every open period have p99 <= fail_fast_p99_ms (errors included). The last TRIAL_GRACE_S
  before each half-open are left out: the request that triggers the lazy half-open is the trial,
  scheduled just before the transition, and it is not meant to be fast.
- ``circuit_breaker.stops_traffic``: far-side arrivals at the dependency strictly inside
  (open + IN_FLIGHT_GRACE_S, end of the open period) number <= STRAY_ARRIVALS_ALLOWED (0).
  The grace covers attempts sent before the trip: their arrival is stamped when the dependency's
  event loop gets to them, up to ~50 ms later on a loaded 2-CPU host (measured). After it nothing
  may arrive: the lab gateway sends no retry into an open breaker, and the half-open trial
  arrives after the transition that ends the period. Fails when the far side recorded no arrival
  at all (nothing was observed). A fault that stops requests before they reach the dependency
  (proxy_down) cannot make this verdict fail.
- ``circuit_breaker.half_opens``: every open period that got traffic half-opens
  reset_timeout_s +- tolerance_s after it opened. pybreaker half-opens on the first call after the
  reset timeout, so with due = open + reset_timeout_s and c = the first request on E scheduled at
  or after due, the transition must come in [due - tolerance_s, max(due, c) + tolerance_s].
  A period with no such request within the observation and no half-open is not tested; at
  least one period must be tested.
- ``circuit_breaker.closes``: the fault was cleared, the breaker had opened, it is closed at
  cleared_at + closes_within_s (by a transition to closed at or before then) and it ends closed.
- ``circuit_breaker.sequence``: at least one transition, the first from closed, each from the
  previous one's target, each one of closed -> open, open -> half-open, half-open -> closed,
  half-open -> open (any number of half-open trials; a late re-open is fine).

A disabled breaker, a missing snapshot or no fault on the dependency fail all six verdicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from chaosrun.checks.expectations import (
    BreakerExpectation,
    all_failed,
    fault_subject,
    fmt_ms,
    fmt_s,
    n_of,
    observation_end,
    percentile,
    requests_in,
    using,
)
from chaosrun.checks.observation import BreakerTransition, Observation, Verdict

__all__ = [
    "CHECK_NAMES",
    "IN_FLIGHT_GRACE_S",
    "STRAY_ARRIVALS_ALLOWED",
    "TRIAL_GRACE_S",
    "VALID_TRANSITIONS",
    "check_circuit_breaker",
]

TRIAL_GRACE_S = 0.05
IN_FLIGHT_GRACE_S = 0.1
STRAY_ARRIVALS_ALLOWED = 0
VALID_TRANSITIONS = frozenset(
    {("closed", "open"), ("open", "half-open"), ("half-open", "closed"), ("half-open", "open")}
)
CHECK_NAMES = tuple(
    f"circuit_breaker.{p}"
    for p in ("opens", "fails_fast", "stops_traffic", "half_opens", "closes", "sequence")
)


@dataclass(frozen=True, slots=True)
class _Open:
    start: float
    end: float | None  # the transition out of open; None = still open at the end


def check_circuit_breaker(
    observation: Observation, expectation: BreakerExpectation
) -> list[Verdict]:
    e = expectation
    dep = e.dependency
    expected = (
        f"{dep} breaker opens within {e.opens_within_s:g} s of injection",
        f"while open, p99 of {dep} endpoints <= {e.fail_fast_p99_ms:g} ms",
        f"no arrival at {dep} while open (after {IN_FLIGHT_GRACE_S * 1000:g} ms grace)",
        f"half-open {e.reset_timeout_s:g} s +- {e.tolerance_s:g} s after each open",
        f"closed within {e.closes_within_s:g} s after the fault cleared, and ends closed",
        "only closed->open, open->half-open, half-open->closed, half-open->open",
    )
    subject = fault_subject(observation, dep)
    if isinstance(subject, str):
        return all_failed(CHECK_NAMES, expected, subject)
    snapshot, period = subject
    end = observation_end(observation)
    endpoints = using(observation, dep)
    if not snapshot.breaker_enabled:
        hit = _hit(observation, endpoints, period.injected_at, period.cleared_at or end)
        return all_failed(
            CHECK_NAMES,
            expected,
            f"no breaker on {dep} (disabled at the gateway) while {n_of(hit, 'request')} on "
            f"{_names(endpoints)} were degraded or failed during the fault",
        )
    transitions = snapshot.transitions
    opens = _open_periods(transitions)
    return [
        _opens(observation, e, transitions, period.injected_at, period.cleared_at, end),
        _fails_fast(observation, e, opens, end, endpoints),
        _stops_traffic(observation, e, opens, end),
        _half_opens(observation, e, opens, endpoints, period.injected_at),
        _closes(e, transitions, period.injected_at, period.cleared_at, end),
        _sequence(transitions, period.injected_at),
    ]


def _open_periods(transitions: Sequence[BreakerTransition]) -> list[_Open]:
    periods: list[_Open] = []
    start: float | None = None
    for t in sorted(transitions, key=lambda t: t.at):
        if t.to_state == "open" and start is None:
            start = t.at
        elif t.to_state != "open" and start is not None:
            periods.append(_Open(start, t.at))
            start = None
    if start is not None:
        periods.append(_Open(start, None))
    return periods


def _opens(
    observation: Observation,
    e: BreakerExpectation,
    transitions: Sequence[BreakerTransition],
    injected_at: float,
    cleared_at: float | None,
    end: float,
) -> Verdict:
    name, dep = "circuit_breaker.opens", e.dependency
    expected = f"{dep} breaker opens within {e.opens_within_s:g} s of injection"
    trips = [t.at for t in transitions if (t.from_state, t.to_state) == ("closed", "open")]
    after = [t for t in trips if t >= injected_at]
    if after and after[0] - injected_at <= e.opens_within_s:
        observed = f"opened {fmt_s(after[0] - injected_at)} after injection"
        return Verdict(name, True, expected, observed)
    if after:
        observed = f"first opened {fmt_s(after[0] - injected_at)} after injection"
        return Verdict(name, False, expected, observed)
    endpoints = using(observation, dep)
    hit = _hit(observation, endpoints, injected_at, cleared_at or end)
    during = f"while {n_of(hit, 'request')} on {_names(endpoints)} were degraded or failed"
    if trips:
        observed = (
            f"opened only before the fault ({fmt_s(injected_at - trips[-1])} before injection, "
            f"not caused by it), not again {during} during the fault"
        )
    else:
        observed = (
            f"breaker never opened ({n_of(len(transitions), 'transition')}) {during} "
            "during the fault"
        )
    return Verdict(name, False, expected, observed)


def _fails_fast(
    observation: Observation,
    e: BreakerExpectation,
    opens: Sequence[_Open],
    end: float,
    endpoints: tuple[str, ...],
) -> Verdict:
    name = "circuit_breaker.fails_fast"
    expected = f"while open, p99 of {_names(endpoints)} <= {e.fail_fast_p99_ms:g} ms"
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


def _stops_traffic(
    observation: Observation, e: BreakerExpectation, opens: Sequence[_Open], end: float
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


def _half_opens(
    observation: Observation,
    e: BreakerExpectation,
    opens: Sequence[_Open],
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
                f"the open of {_rel(p.start - injected_at)} injection never half-opened "
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


def _closes(
    e: BreakerExpectation,
    transitions: Sequence[BreakerTransition],
    injected_at: float,
    cleared_at: float | None,
    end: float,
) -> Verdict:
    name = "circuit_breaker.closes"
    expected = f"closed within {e.closes_within_s:g} s after the fault cleared, and ends closed"
    ordered = sorted(transitions, key=lambda t: t.at)
    if cleared_at is None:
        return Verdict(name, False, expected, "the fault was never cleared")
    if not any(t.to_state == "open" for t in ordered):
        return Verdict(name, False, expected, "breaker never opened: nothing to close")
    deadline = cleared_at + e.closes_within_s
    before = [t for t in ordered if t.at <= deadline]
    state_then = before[-1].to_state if before else "closed"
    final = ordered[-1].to_state
    closings = [t.at for t in ordered if t.to_state == "closed"]
    last_close = (
        f"last closed {_rel(closings[-1] - cleared_at)} the fault cleared"
        if closings
        else "never closed"
    )
    passed = state_then == "closed" and final == "closed"
    if passed:
        return Verdict(name, True, expected, f"{last_close}; ends closed")
    observed = f"{state_then} {fmt_s(e.closes_within_s)} after the fault cleared"
    if end < deadline:
        observed = f"{state_then} at the end of the observation, {fmt_s(end - cleared_at)} after "
        observed += "the fault cleared"
    return Verdict(name, False, expected, f"{observed}; {last_close}; ends {final}")


def _sequence(transitions: Sequence[BreakerTransition], injected_at: float) -> Verdict:
    name = "circuit_breaker.sequence"
    expected = "only closed->open, open->half-open, half-open->closed, half-open->open"
    ordered = sorted(transitions, key=lambda t: t.at)
    if not ordered:
        return Verdict(name, False, expected, "no transition: the breaker never left closed")
    previous = "closed"
    for i, t in enumerate(ordered, 1):
        pair = (t.from_state, t.to_state)
        if t.from_state != previous or pair not in VALID_TRANSITIONS:
            observed = (
                f"transition {i} of {len(ordered)} at {_rel(t.at - injected_at)} injection: "
                f"{t.from_state}->{t.to_state}"
            )
            if t.from_state != previous:
                observed += f" (the breaker was {previous})"
            return Verdict(name, False, expected, observed)
        previous = t.to_state
    path = " ".join(_short(t.to_state) for t in ordered[:12])
    more = f" ... ({len(ordered)} in all)" if len(ordered) > 12 else ""
    return Verdict(
        name, True, expected, f"{n_of(len(ordered), 'valid transition')}: closed {path}{more}"
    )


def _hit(observation: Observation, endpoints: Sequence[str], start: float, end: float) -> int:
    """Requests on `endpoints` scheduled in [start, end) that were degraded or failed."""
    found = requests_in(observation.timeline, endpoints, [(start, end)])
    return sum(1 for r in found if r.degraded or not r.ok)


def _short(state: str) -> str:
    return {"closed": "->C", "open": "->O", "half-open": "->H"}.get(state, f"->{state}")


def _rel(delta_s: float) -> str:
    return f"{fmt_s(abs(delta_s))} {'after' if delta_s >= 0 else 'before'}"


def _names(endpoints: Sequence[str]) -> str:
    return ", ".join(endpoints) if endpoints else "(no endpoint uses it)"
