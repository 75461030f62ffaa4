"""Bulkhead verdicts: one dependency's trouble stays in its own compartment.

`check_bulkhead(observation, expectation)` returns three verdicts, in this order. The window is
the dependency's fault period (see `expectations`); "E" is the set of endpoints using it.

- ``bulkhead.isolation``: requests on `isolated_endpoints` (which must not use the dependency)
  scheduled during the fault keep availability >= slo_availability and p99 <= slo_p99_ms, the
  p99 over the successful ones (as the SLO counts: failures count against availability), and
  are no more often degraded than before the fault: a fallback answer there means their own
  dependency call did not go through (a shared pool or shared slots let the fault leak).
- ``bulkhead.cap``: max(concurrency seen at the dependency itself, concurrency the gateway had in
  flight to it) <= max_concurrency. The far side alone is not enough: a Toxiproxy latency toxic
  holds the answers in the proxy, so the dependency finishes each request in a few ms while the
  gateway still waits on it; the gateway's count (kept whether or not a bulkhead exists) sees it.
- ``bulkhead.rejects_fast``: the bulkhead shed load, and shedding was fast:
  (a) the gateway rejected calls (bulkhead_rejected = R >= 1);
  (b) the rejected answers were fast: among the n requests on E during the fault, the
      ceil(0.99 * min(R, n))-th fastest took <= rejected_p99_ms -- R rejected calls mean R
      requests answered without calling the dependency, so if they were fast at p99 at least
      that many requests were that fast (each endpoint uses a dependency once per request);
  (c) nothing queued behind the bulkhead: p99 of all requests on E during the fault
      <= slo_p99_ms (an admitted call waits at most its own timeout budget, a rejected one not
      at all; a bulkhead that queues instead of rejecting pushes this past the SLO).
  With no bulkhead (R = 0) it fails through (a), and `bulkhead.cap` fails as soon as demand
  exceeded the cap. It also fails when demand never exceeded the cap (nothing rejected because
  nothing had to be, e.g. an open breaker shed the load first): the bulkhead was not exercised;
  the sentence gives the peak in flight so the two cases read apart.

A missing snapshot or no fault on the dependency judges none of the three (each says what it
would need).
"""

from __future__ import annotations

import math

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
    affected = list(requests_in(observation.timeline, using(observation, dep), window))
    return [
        _isolation(observation, e, window, expected[0]),
        _cap(snapshot, e, expected[1]),
        _rejects_fast(snapshot, e, affected, expected[2], using(observation, dep)),
    ]


def _isolation(
    observation: Observation,
    e: BulkheadExpectation,
    window: list[tuple[float, float]],
    expected: str,
) -> Verdict:
    name = "bulkhead.isolation"
    coupled = [
        p for p in e.isolated_endpoints if e.dependency in observation.endpoints_using.get(p, ())
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


def _cap(snapshot: DependencySnapshot, e: BulkheadExpectation, expected: str) -> Verdict:
    seen = max(snapshot.far_side_max_in_flight, snapshot.gateway_max_in_flight)
    limit = "none" if snapshot.bulkhead_limit is None else str(snapshot.bulkhead_limit)
    observed = (
        f"max {n_of(seen, 'concurrent call')} (gateway {snapshot.gateway_max_in_flight}, "
        f"at {e.dependency} {snapshot.far_side_max_in_flight}); gateway bulkhead limit {limit}"
    )
    return Verdict("bulkhead.cap", seen <= e.max_concurrency, expected, observed)


def _rejects_fast(
    snapshot: DependencySnapshot,
    e: BulkheadExpectation,
    affected: list[RequestRecord],
    expected: str,
    endpoints: tuple[str, ...],
) -> Verdict:
    name = "bulkhead.rejects_fast"
    rejected = snapshot.bulkhead_rejected
    latencies = sorted(r.latency_ms for r in affected)
    overall = percentile(latencies, 99.0)
    where = (
        f"{n_of(len(latencies), 'request')} on {', '.join(endpoints) or '(none)'} during the fault"
    )
    if rejected < 1:
        peak = snapshot.gateway_max_in_flight
        observed = (
            f"0 calls rejected (at most {peak} in flight at the gateway, cap {e.max_concurrency})"
            f"; {where}, p99 {fmt_ms(overall)}"
        )
        return Verdict(name, False, expected, observed)
    if overall is None:
        observed = (
            f"{n_of(rejected, 'call')} rejected; no request on {', '.join(endpoints) or '(none)'}"
        )
        return Verdict(name, False, expected, observed + " during the fault")
    covered = min(rejected, len(latencies))
    fast_p99 = latencies[max(1, math.ceil(0.99 * covered - 1e-9)) - 1]
    passed = fast_p99 <= e.rejected_p99_ms and overall <= e.slo_p99_ms
    observed = (
        f"{n_of(rejected, 'call')} rejected; the fastest {covered} of {where}: "
        f"p99 {fmt_ms(fast_p99)}; all: p99 {fmt_ms(overall)}"
    )
    return Verdict(name, passed, expected, observed)
