"""Bulkhead verdicts: one dependency's trouble stays in its own compartment.

`check_bulkhead(observation, expectation)` returns three verdicts, in this order. The window is
the dependency's fault period (see `expectations`); "E" is the set of endpoints using it (as the
service says, or `endpoints` when it does not).

- ``bulkhead.isolation``: requests on `isolated_endpoints` (which must not use the dependency)
  scheduled during the fault keep availability >= slo_availability and p99 <= slo_p99_ms, the
  p99 over the successful ones (as the SLO counts: failures count against availability), and
  are no more often degraded than before the fault: a fallback answer there means their own
  dependency call did not go through (a shared pool or shared slots let the fault leak).
- ``bulkhead.cap``: max(concurrency seen at the dependency itself, calls traced in flight)
  <= max_concurrency. Traced calls (`_traced`: a request whose id reached the dependency held a
  call from its first arrival there until its answer reached the client, less the moment an
  answer takes) count what the far side alone misses: a Toxiproxy latency toxic holds the
  answers in the proxy, so the dependency finishes each request in a few ms while the service
  still waits on it.
- ``bulkhead.rejects_fast``: calls beyond the cap were shed, fast. "Beyond the cap": the
  requests on E during the fault sent while max_concurrency traced calls were in flight.
  (a) at least one, and every one of them answered without reaching the dependency (none let
      through: a bulkhead that queues lets them through late);
  (b) those answers were fast: their p99 <= rejected_p99_ms;
  (c) nothing queued behind the bulkhead: p99 of all requests on E during the fault
      <= slo_p99_ms (an admitted call waits at most its own timeout budget, a rejected one not
      at all).
  Not judged when no request came beyond the cap (e.g. an open breaker shed the load first):
  the bulkhead was not exercised; the sentence gives the peak in flight.

The service's own count (the lab's /state: limit, max in flight, rejected) is the verdicts'
`account`, shown beside. Not judged: `cap` and `rejects_fast` when what reached the dependency
was not recorded or no recorded arrival carries a request's id (the service does not pass
``X-Chaosrun-Request`` on) or E is unknown; all three with a missing snapshot or no fault on the
dependency.
"""

from __future__ import annotations

import math
from dataclasses import replace

from chaosrun.checks._traced import TracedCalls, trace_calls
from chaosrun.checks.expectations import (
    BulkheadExpectation,
    all_not_judged,
    fault_subject,
    fmt_ms,
    n_of,
    percentile,
    period_end,
    requests_in,
    using,
)
from chaosrun.checks.observation import DependencySnapshot, Observation, Verdict, not_judged
from chaosrun.measure.timeline import RequestRecord

__all__ = ["CHECK_NAMES", "check_bulkhead"]

CHECK_NAMES = ("bulkhead.isolation", "bulkhead.cap", "bulkhead.rejects_fast")


def check_bulkhead(observation: Observation, expectation: BulkheadExpectation) -> list[Verdict]:
    e = expectation
    dep = e.dependency
    expected = (
        f"{', '.join(e.isolated_endpoints)} keep availability >= {e.slo_availability:g} and "
        f"p99 <= {e.slo_p99_ms:g} ms during the fault, degraded no more than before",
        f"at most {e.max_concurrency} concurrent calls to {dep}",
        f"calls beyond the cap rejected, p99 <= {e.rejected_p99_ms:g} ms; "
        f"{dep} endpoints p99 <= {e.slo_p99_ms:g} ms",
    )
    subject = fault_subject(observation, dep)
    if isinstance(subject, str):
        return all_not_judged(CHECK_NAMES, expected, subject)
    snapshot, period = subject
    end = period_end(observation, period)
    window = [(period.injected_at, end)]
    endpoints = e.endpoints or using(observation, dep)
    affected = list(requests_in(observation.timeline, endpoints, window))
    isolation = _isolation(observation, e, window, expected[0])
    if not endpoints:
        needs = (
            f"the endpoints that use {dep} (the service does not say): name them in "
            "expect.bulkhead.endpoints"
        )
        return [isolation, *all_not_judged(CHECK_NAMES[1:], expected[1:], needs)]
    traced = _trace(observation, snapshot, endpoints)
    if isinstance(traced, str):
        return [isolation, *all_not_judged(CHECK_NAMES[1:], expected[1:], traced)]
    return [
        isolation,
        _cap(snapshot, traced, e, expected[1]),
        _rejects_fast(snapshot, traced, e, affected, expected[2]),
    ]


def _trace(
    observation: Observation, snapshot: DependencySnapshot, endpoints: tuple[str, ...]
) -> TracedCalls | str:
    """The dependency's calls traced from the requests, or what tracing them would need."""
    dep = snapshot.name
    if not snapshot.recorded:
        return f"what reached {dep} (not recorded): calls are counted there and traced to requests"
    traced = trace_calls(observation.timeline, snapshot.arrivals, endpoints)
    if traced is None:
        return (
            f"requests traced to {dep}: the service must pass X-Chaosrun-Request on (none of "
            f"the {len(snapshot.arrivals)} arrivals there carried a request's id)"
        )
    return traced


def _isolation(
    observation: Observation,
    e: BulkheadExpectation,
    window: list[tuple[float, float]],
    expected: str,
) -> Verdict:
    name = "bulkhead.isolation"
    coupled = [
        p
        for p in e.isolated_endpoints
        if p in e.endpoints or e.dependency in observation.endpoints_using.get(p, ())
    ]
    if coupled:
        observed = f"{', '.join(coupled)} uses {e.dependency}: it cannot be isolated from it"
        return Verdict(name, False, expected, observed)
    records = list(requests_in(observation.timeline, e.isolated_endpoints, window))
    if not records:
        return not_judged(name, expected, "requests on them during the fault (none)")
    ok = [r for r in records if r.ok]
    availability = len(ok) / len(records)
    p99 = percentile((r.latency_ms for r in ok), 99.0)
    before = list(requests_in(observation.timeline, e.isolated_endpoints, [(0.0, window[0][0])]))
    usual = sum(1 for r in before if r.degraded) / len(before) if before else 0.0
    degraded = sum(1 for r in records if r.degraded)
    passed = (
        availability >= e.slo_availability
        and p99 is not None
        and p99 <= e.slo_p99_ms
        and degraded <= math.ceil(usual * len(records))
    )
    observed = (
        f"availability {availability:.4f} ({len(records) - len(ok)} of {len(records)} failed), "
        f"p99 {fmt_ms(p99)}"
    )
    if degraded:
        observed += f"; {degraded} degraded ({usual:.1%} of them before the fault)"
    return Verdict(name, passed, expected, observed)


def _cap(
    snapshot: DependencySnapshot,
    traced: TracedCalls,
    e: BulkheadExpectation,
    expected: str,
) -> Verdict:
    name = "bulkhead.cap"
    far = snapshot.far_side_max_in_flight
    seen = max(far, traced.max_in_flight)
    observed = (
        f"max {n_of(seen, 'concurrent call')} (traced from the requests "
        f"{traced.max_in_flight}, at {e.dependency} {far})"
    )
    return Verdict(name, seen <= e.max_concurrency, expected, observed, account=_account(snapshot))


def _rejects_fast(
    snapshot: DependencySnapshot,
    traced: TracedCalls,
    e: BulkheadExpectation,
    affected: list[RequestRecord],
    expected: str,
) -> Verdict:
    name = "bulkhead.rejects_fast"
    cap = e.max_concurrency
    shed = [
        r.latency_ms
        for r in affected
        if r.request_id not in traced.reached and traced.in_flight(r.sent) >= cap
    ]
    let_through = sum(
        1 for r in affected if r.request_id in traced.reached and traced.in_flight(r.sent) >= cap
    )
    beyond = len(shed) + let_through
    overall = percentile((r.latency_ms for r in affected), 99.0)
    account = _account(snapshot)
    if beyond == 0:
        peak = max((traced.in_flight(r.sent) for r in affected), default=0)
        needs = (
            f"a request that came while {cap} calls to {e.dependency} were in flight "
            f"(at most {peak} when one of the {len(affected)} during the fault came)"
        )
        return replace(not_judged(name, expected, needs), account=account)
    shed_p99 = percentile(shed, 99.0)
    passed = (
        let_through == 0
        and shed_p99 is not None
        and shed_p99 <= e.rejected_p99_ms
        and overall is not None
        and overall <= e.slo_p99_ms
    )
    observed = (
        f"of {n_of(beyond, 'request')} that came with {cap}+ calls in flight, "
        f"{len(shed)} answered without reaching {e.dependency} (p99 {fmt_ms(shed_p99)}), "
        f"{let_through} let through; all {len(affected)} during the fault: p99 {fmt_ms(overall)}"
    )
    return Verdict(name, passed, expected, observed, account=account)


def _account(snapshot: DependencySnapshot) -> str | None:
    if not snapshot.has_account:
        return None
    limit = "none" if snapshot.bulkhead_limit is None else str(snapshot.bulkhead_limit)
    return (
        f"bulkhead limit {limit}, max {snapshot.gateway_max_in_flight} in flight, "
        f"{snapshot.bulkhead_rejected} rejected"
    )
