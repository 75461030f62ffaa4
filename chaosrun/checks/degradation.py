"""Verdicts on graceful degradation under an exhausted resource, from the client's timeline.

The fault period is the span of every window of the expectation's fault kind (first injection to
last clearing). During it:

- ``degradation.degrades``: requests on the degraded endpoints were answered (not 5xx, not a
  transport error) and marked degraded; failures within the SLO's allowance (1 - availability)
  are tolerated, none marked degraded means the fault never reached the service (not judged);
- ``degradation.keeps_slo``: requests on the SLO endpoints kept the SLO (availability and p99);
- ``degradation.recovers`` (with ``recovers_within_s``): after the fault was cleared, no request
  on the degraded endpoints scheduled later than ``recovers_within_s`` was still degraded or
  failed.
"""

from __future__ import annotations

from collections.abc import Sequence

from chaosrun.checks.expectations import (
    DegradationExpectation,
    FaultPeriod,
    fmt_ms,
    n_of,
    percentile,
    period_end,
    period_of,
    requests_in,
)
from chaosrun.checks.observation import Observation, Verdict, not_judged
from chaosrun.measure.timeline import RequestRecord

__all__ = ["check_degradation"]


def check_degradation(
    observation: Observation, expectation: DegradationExpectation
) -> list[Verdict]:
    e = expectation
    period = period_of([f for f in observation.faults if f.kind == e.fault])
    verdicts: list[Verdict] = []
    degraded_on = ", ".join(e.degraded_endpoints)
    slo_on = ", ".join(e.slo_endpoints)
    expected_degrades = f"{degraded_on} answered during the {e.fault} fault, marked degraded"
    expected_slo = (
        f"{slo_on} keep availability >= {e.slo_availability:g} and p99 <= {e.slo_p99_ms:g} ms "
        f"during the {e.fault} fault"
    )
    expected_recovers = (
        f"{degraded_on} answered in full again within {e.recovers_within_s or 0:g} s of the "
        "fault's end"
    )
    if period is None:
        needs = f"a {e.fault} fault during the run (none took effect)"
        if e.degraded_endpoints:
            verdicts.append(not_judged("degradation.degrades", expected_degrades, needs))
        if e.slo_endpoints:
            verdicts.append(not_judged("degradation.keeps_slo", expected_slo, needs))
        if e.degraded_endpoints and e.recovers_within_s is not None:
            verdicts.append(not_judged("degradation.recovers", expected_recovers, needs))
        return verdicts
    window = [(period.injected_at, period_end(observation, period))]
    if e.degraded_endpoints:
        during = list(requests_in(observation.timeline, e.degraded_endpoints, window))
        verdicts.append(_degrades(e, during, expected_degrades))
    if e.slo_endpoints:
        during = list(requests_in(observation.timeline, e.slo_endpoints, window))
        verdicts.append(_keeps_slo(e, during, expected_slo))
    if e.degraded_endpoints and e.recovers_within_s is not None:
        verdicts.append(_recovers(e, observation, period, expected_recovers))
    return verdicts


def _failures(records: Sequence[RequestRecord]) -> str:
    kinds = sorted({r.error or str(r.status) for r in records})
    return f"{len(records)} failed ({', '.join(kinds)})"


def _degrades(e: DegradationExpectation, during: Sequence[RequestRecord], expected: str) -> Verdict:
    name = "degradation.degrades"
    if not during:
        return not_judged(name, expected, "requests on those endpoints during the fault (none)")
    failed = [r for r in during if not r.ok]
    degraded = sum(1 for r in during if r.ok and r.degraded)
    observed = f"{degraded} of {n_of(len(during), 'request')} degraded"
    if failed:
        observed += f", {_failures(failed)}"
    allowed = round((1.0 - e.slo_availability) * len(during), 9)  # 0.01 * 200 is 2, not 2.0..2
    if not failed and degraded == 0:
        needs = f"a degraded answer ({observed}: the fault had no effect)"
        return not_judged(name, expected, needs)
    return Verdict(name, len(failed) <= allowed and degraded > 0, expected, observed)


def _keeps_slo(
    e: DegradationExpectation, during: Sequence[RequestRecord], expected: str
) -> Verdict:
    name = "degradation.keeps_slo"
    if not during:
        return not_judged(name, expected, "requests on those endpoints during the fault (none)")
    failed = [r for r in during if not r.ok]
    availability = 1.0 - len(failed) / len(during)
    p99 = percentile((r.latency_ms for r in during), 99.0)
    observed = f"availability {availability:.4f}, p99 {fmt_ms(p99)} over {len(during)} requests"
    if failed:
        observed += f"; {_failures(failed)}"
    passed = availability >= e.slo_availability and p99 is not None and p99 <= e.slo_p99_ms
    return Verdict(name, passed, expected, observed)


def _recovers(
    e: DegradationExpectation, observation: Observation, period: FaultPeriod, expected: str
) -> Verdict:
    name = "degradation.recovers"
    if period.cleared_at is None:
        return not_judged(name, expected, "the fault to be cleared during the run (it was not)")
    assert e.recovers_within_s is not None
    due = period.cleared_at + e.recovers_within_s
    after = [
        r for r in observation.timeline if r.endpoint in e.degraded_endpoints and r.scheduled >= due
    ]
    if not after:
        return not_judged(name, expected, f"requests later than {e.recovers_within_s:g} s (none)")
    still = [r for r in after if not r.ok or r.degraded]
    observed = f"{len(still)} of {n_of(len(after), 'later request')} still degraded or failed"
    touched = [
        r.scheduled - period.injected_at
        for r in observation.timeline
        if r.endpoint in e.degraded_endpoints
        and r.scheduled >= period.injected_at
        and (not r.ok or r.degraded)
    ]
    if touched:
        observed += f" (degraded from +{min(touched):.3f} s to +{max(touched):.3f} s)"
    return Verdict(name, not still, expected, observed)
