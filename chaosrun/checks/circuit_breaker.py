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
  half-open -> open (any number of half-open trials; a late re-open is fine). Transitions are
  internal to the breaker: this one verdict rests on the service's recorded account (the lab's
  ``/state``); a state sampled from metrics misses short states, so it judges nothing here.

The other five are judged from behaviour (`_breaker_observed`): the open periods are the
silences at the dependency while requests using it kept being answered; what the service says
of its breaker is attached to each verdict as its `account`, never its evidence. Nothing
recorded at the dependency, a fault that blocks every request before it (proxy_down) or no
fault on it judges none of them (each says what it would need).

The verdicts over the open periods (fails_fast, stops_traffic, half_opens) are in
`_breaker_open`, those over the transitions alone (opens, closes, sequence) in
`_breaker_transitions`.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

from chaosrun.checks._breaker_common import OpenPeriod, open_periods, rel
from chaosrun.checks._breaker_observed import observed_periods, transitions_of
from chaosrun.checks._breaker_open import (
    IN_FLIGHT_GRACE_S,
    STRAY_ARRIVALS_ALLOWED,
    TRIAL_GRACE_S,
    fails_fast,
    half_opens,
    stops_traffic,
)
from chaosrun.checks._breaker_transitions import VALID_TRANSITIONS, closes, opens, sequence
from chaosrun.checks.expectations import (
    BreakerExpectation,
    all_not_judged,
    fault_subject,
    n_of,
    observation_end,
    using,
)
from chaosrun.checks.observation import DependencySnapshot, Observation, Verdict, not_judged

__all__ = [
    "BLOCKING_FAULTS",
    "CHECK_NAMES",
    "IN_FLIGHT_GRACE_S",
    "STRAY_ARRIVALS_ALLOWED",
    "TRIAL_GRACE_S",
    "VALID_TRANSITIONS",
    "check_circuit_breaker",
]

# Faults that keep every request from reaching the dependency, breaker or not.
BLOCKING_FAULTS = frozenset({"proxy_down", "enable_proxy"})

CHECK_NAMES = tuple(
    f"circuit_breaker.{p}"
    for p in ("opens", "fails_fast", "stops_traffic", "half_opens", "closes", "sequence")
)


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
        return all_not_judged(CHECK_NAMES, expected, subject)
    snapshot, period = subject
    if not snapshot.recorded:
        needs = f"what reached {dep} (not recorded): an open breaker is a silence there"
        return all_not_judged(CHECK_NAMES, expected, needs)
    blocking = sorted(
        {f.kind for f in observation.faults if f.target == dep and f.kind in BLOCKING_FAULTS}
    )
    if blocking:
        needs = (
            f"a fault that lets requests reach {dep} ({', '.join(blocking)} stops them all: "
            "an open breaker cannot be told from it there)"
        )
        return all_not_judged(CHECK_NAMES, expected, needs)
    end = observation_end(observation)
    endpoints = e.endpoints or using(observation, dep)
    if not endpoints:
        sent = sorted({r.endpoint for r in observation.timeline})
        if len(sent) != 1:
            needs = (
                f"the endpoints that use {dep} (the service does not say): name them in "
                "expect.circuit_breaker.endpoints"
            )
            return all_not_judged(CHECK_NAMES, expected, needs)
        endpoints = (sent[0],)
    wanted = frozenset(endpoints)
    calls = sorted(r.scheduled for r in observation.timeline if r.endpoint in wanted)
    opened = observed_periods(snapshot.arrivals, calls, period.injected_at, end)
    seen = transitions_of(opened)
    account = _account(snapshot, period.injected_at)
    verdicts = [
        opens(observation, e, seen, period.injected_at, period.cleared_at, end, endpoints),
        fails_fast(observation, e, opened, end, endpoints),
        stops_traffic(observation, e, _claimed(snapshot) or opened, end),
        half_opens(observation, e, opened, endpoints, period.injected_at),
        closes(e, seen, period.cleared_at, end),
    ]
    if not opened:
        why = _traffic_kept_reaching(snapshot, calls, period.injected_at, period.cleared_at or end)
        verdicts = [
            v if v.passed else replace(v, observed=f"{v.observed}; {why}") for v in verdicts
        ]
    if snapshot.recorded_account:
        verdicts.append(sequence(snapshot.transitions, period.injected_at))
    elif snapshot.has_account:
        needs = (
            f"the service's recorded transitions ({snapshot.account_source} is sampled: a "
            "state between two samples is missed, so no illegal transition can be told)"
        )
        verdicts.append(not_judged(CHECK_NAMES[5], expected[5], needs))
    else:
        needs = "the service's breaker states (a breaker's transitions are not visible outside it)"
        verdicts.append(not_judged(CHECK_NAMES[5], expected[5], needs))
    return [replace(v, account=account) for v in verdicts]


def _claimed(snapshot: DependencySnapshot) -> list[OpenPeriod]:
    """The open periods the service recorded: nothing may reach the dependency in them either.
    (Sampled states are too coarse for it: a missed half-open would count its trials.)"""
    return open_periods(snapshot.transitions) if snapshot.recorded_account else []


def _traffic_kept_reaching(
    snapshot: DependencySnapshot, calls: list[float], start: float, end: float
) -> str:
    during = [a.at for a in snapshot.arrivals if start <= a.at < end]
    requests = sum(1 for t in calls if start <= t < end)
    edges = [start, *during, end]
    longest = max(b - a for a, b in itertools.pairwise(edges))  # edges: start, ..., end
    return (
        f"traffic kept reaching {snapshot.name} through the fault: "
        f"{n_of(len(during), 'arrival')} for {n_of(requests, 'request')} using it, "
        f"longest silence {longest * 1000:.0f} ms"
    )


def _account(snapshot: DependencySnapshot, injected_at: float) -> str | None:
    if not snapshot.has_account:
        return None
    source = "" if snapshot.recorded_account else f" (per {snapshot.account_source})"
    if not snapshot.breaker_enabled:
        return f"no breaker on {snapshot.name}{source}"
    ts = snapshot.transitions
    if not ts:
        return f"no transition (closed throughout){source}"
    path = ", ".join(f"{t.from_state}->{t.to_state} {rel(t.at - injected_at)}" for t in ts[:3])
    more = f", ... ({len(ts)} in all)" if len(ts) > 3 else ""
    return f"{path} injection{more}{source}"
