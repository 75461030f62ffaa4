"""Timeout and retry verdicts: a slow dependency costs a bounded wait, then a fallback.

`check_timeout(observation, expectation)` returns four verdicts, in this order. The window is the
dependency's fault period (see `expectations`); "responses" are the requests on `endpoint`
scheduled in it, latency from the scheduled time.

- ``timeout.bounded``: the slowest response took <= bound_ms + epsilon_ms, where bound_ms is
  `budget_ms` when declared, else timeout_ms * (max_retries + 1) (every attempt timing out).
  The maximum, not a percentile: a timeout is a hard bound. epsilon_ms absorbs the backoff sleeps
  (declare `budget_ms` when they are long), scheduling and building the fallback answer.
- ``timeout.fallback``: every response is a 200, at least one is degraded (a fallback answered),
  and no response that was *not* degraded took longer than timeout_ms + epsilon_ms -- such an
  answer waited the slow dependency out instead of timing out and falling back. (Answers that
  never met the fault -- partial toxicity, a retry after clearing -- may be fast and not degraded.)
- ``retry.capped``: at the dependency, no request id (the gateway's ``X-Chaosrun-Request``) has
  more than 1 + max_retries attempts (the highest ``X-Chaosrun-Attempt`` or the number of its
  arrivals, whichever is larger), over every arrival the far side recorded. Not judged when no
  arrival carried a request id.
- ``retry.backoff``: gaps between consecutive arrivals of one request's attempts at the far side.
  Growth: at least MIN_RETRIED requests made >= 3 attempts, and in >= GROWTH_SHARE of them the
  second gap is longer than the first by >= GROWTH_MIN_MS (exponential backoff doubles before
  any cap; later gaps may plateau at the cap, and noise or jitter larger than the base step may
  invert a few; retries sent at once differ by noise alone).
  Jitter: at least MIN_RETRIED requests retried after a *fast* failure (first gap < timeout_ms),
  and those first gaps spread by >= JITTER_MIN_IQR_MS: their interquartile range, or from
  TRIMMED_FROM gaps on their range without the lowest and the highest. Only fast failures
  show jitter: after a timeout the gap also holds the timeout's own firing and a new connection,
  which on the lab spread the gaps by an IQR of ~4 ms with jitter off -- as much as 10 ms of
  jitter does -- while after an HTTP 500 the gaps spread by ~0.5 ms with jitter off and ~6 ms
  with 10 ms of jitter. Both measures leave out the outlier a loaded host adds on each side.
  When either part cannot be observed (a latency fault under a retry budget allows 2 attempts,
  all after timeouts) the verdict fails and says so: use a fault with fast failures (fail_for,
  reset_peer) to see it.

No fault on the dependency: none of the four is judged. `timeout.bounded` and
`timeout.fallback` need only the timeline and the fault windows, so they are judged on any
target; the retry verdicts need what reached the dependency (not judged without it), and so do
they when no request is seen to judge them by.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence

from chaosrun.checks.expectations import (
    TimeoutExpectation,
    all_failed,
    all_not_judged,
    fault_period,
    fmt_ms,
    n_of,
    no_fault,
    no_snapshot,
    percentile,
    period_end,
    requests_in,
)
from chaosrun.checks.observation import Arrival, Observation, Verdict, not_judged
from chaosrun.measure.timeline import RequestRecord

__all__ = [
    "CHECK_NAMES",
    "GROWTH_MIN_MS",
    "GROWTH_SHARE",
    "JITTER_MIN_IQR_MS",
    "MIN_RETRIED",
    "TRIMMED_FROM",
    "bound_ms",
    "check_timeout",
]

CHECK_NAMES = ("timeout.bounded", "timeout.fallback", "retry.capped", "retry.backoff")
GROWTH_SHARE = 0.75
GROWTH_MIN_MS = 1.0  # retries at once differ by noise (~0.5 ms); a doubled backoff by its base
JITTER_MIN_IQR_MS = 1.0
MIN_RETRIED = 3
TRIMMED_FROM = 8


def bound_ms(expectation: TimeoutExpectation) -> float:
    """The declared worst case of one call: the budget, else every attempt timing out."""
    e = expectation
    return e.budget_ms if e.budget_ms is not None else e.timeout_ms * (e.max_retries + 1)


def check_timeout(observation: Observation, expectation: TimeoutExpectation) -> list[Verdict]:
    e = expectation
    dep = e.dependency
    bound = bound_ms(e)
    how = "budget" if e.budget_ms is not None else f"{e.max_retries + 1} x {e.timeout_ms:g} ms"
    expected = (
        f"{e.endpoint} answers within {bound + e.epsilon_ms:g} ms ({how} + {e.epsilon_ms:g} ms)",
        f"{e.endpoint} answers 200 with a fallback instead of waiting (> "
        f"{e.timeout_ms + e.epsilon_ms:g} ms) for {dep}",
        f"at most {n_of(1 + e.max_retries, 'attempt')} per request at {dep}",
        "backoff grows between attempts and has jitter",
    )
    period = fault_period(observation, dep)
    if period is None:
        return all_not_judged(CHECK_NAMES, expected, no_fault(dep))
    end = period_end(observation, period)
    responses = list(requests_in(observation.timeline, [e.endpoint], [(period.injected_at, end)]))
    uses = observation.endpoints_using.get(e.endpoint)
    if uses is not None and dep not in uses:
        reason = f"{e.endpoint} does not use {dep}"
        verdicts = all_failed(CHECK_NAMES[:2], expected[:2], reason)
    else:
        verdicts = [
            _bounded(e, responses, bound, expected[0]),
            _fallback(e, responses, expected[1]),
        ]
    snapshot = observation.dependencies.get(dep)
    if snapshot is None:  # the response side is judged from the timeline alone
        return [*verdicts, *all_not_judged(CHECK_NAMES[2:], expected[2:], no_snapshot(dep))]
    retried = _attempts(snapshot.arrivals)
    return [*verdicts, _capped(e, retried, expected[2]), _backoff(e, retried, expected[3])]


def _bounded(
    e: TimeoutExpectation, responses: Sequence[RequestRecord], bound: float, expected: str
) -> Verdict:
    name = "timeout.bounded"
    if not responses:
        return not_judged(name, expected, f"requests on {e.endpoint} during the fault (none)")
    latencies = [r.latency_ms for r in responses]
    worst = max(latencies)
    observed = (
        f"max {fmt_ms(worst)} (p99 {fmt_ms(percentile(latencies, 99.0))}) over "
        f"{n_of(len(responses), 'response')} during the fault"
    )
    return Verdict(name, worst <= bound + e.epsilon_ms, expected, observed)


def _fallback(e: TimeoutExpectation, responses: Sequence[RequestRecord], expected: str) -> Verdict:
    name = "timeout.fallback"
    if not responses:
        return not_judged(name, expected, f"requests on {e.endpoint} during the fault (none)")
    limit = e.timeout_ms + e.epsilon_ms
    not_200 = [r for r in responses if r.status != 200 or r.error]
    degraded = sum(1 for r in responses if r.degraded and r.status == 200)
    waited = [r for r in responses if r.status == 200 and not r.degraded and r.latency_ms > limit]
    observed = (
        f"{len(responses) - len(not_200)} of {len(responses)} answered 200, {degraded} degraded"
    )
    if not_200:
        kinds = sorted({r.error or str(r.status) for r in not_200})
        observed += f"; {len(not_200)} not 200 ({', '.join(kinds)})"
    if waited:
        slowest = max(r.latency_ms for r in waited)
        observed += f"; {len(waited)} waited without fallback (up to {fmt_ms(slowest)})"
    passed = not not_200 and not waited and degraded > 0
    return Verdict(name, passed, expected, observed)


def _attempts(arrivals: Sequence[Arrival]) -> dict[str, list[Arrival]]:
    """Arrivals per request id, in attempt order (arrival time when the number is missing)."""
    by_id: dict[str, list[Arrival]] = defaultdict(list)
    for a in arrivals:
        if a.request_id is not None:
            by_id[a.request_id].append(a)
    for attempts in by_id.values():
        attempts.sort(key=lambda a: (a.attempt if a.attempt is not None else 0, a.at))
    return dict(by_id)


def _count(attempts: Sequence[Arrival]) -> int:
    numbered = [a.attempt for a in attempts if a.attempt is not None]
    return max(len(attempts), max(numbered, default=0))


def _capped(e: TimeoutExpectation, by_id: dict[str, list[Arrival]], expected: str) -> Verdict:
    name, dep = "retry.capped", e.dependency
    if not by_id:
        needs = f"arrivals at {dep} that carry a request id (none did): to count attempts"
        return not_judged(name, expected, needs)
    counts = {rid: _count(attempts) for rid, attempts in by_id.items()}
    cap = 1 + e.max_retries
    worst_id = max(counts, key=lambda rid: counts[rid])
    over = sum(1 for n in counts.values() if n > cap)
    retried = sum(1 for n in counts.values() if n > 1)
    observed = (
        f"max {n_of(counts[worst_id], 'attempt')} per request over "
        f"{n_of(len(counts), 'request')} at {dep} ({retried} retried)"
    )
    if over:
        observed += f"; {n_of(over, 'request')} over {cap}, e.g. {worst_id}"
    return Verdict(name, over == 0, expected, observed)


def _spread(gaps: Sequence[float]) -> tuple[float, str]:
    """How far apart the gaps are, and what that figure is: the interquartile range, or from
    TRIMMED_FROM gaps on the range without the lowest and the highest (one outlier each side is
    left out either way). The IQR of nine first gaps of the healthy lab, 10 ms of jitter, fell
    to 0.9 ms in two CI runs; the trimmed range of nine draws spans six of them."""
    ordered = sorted(gaps)
    if len(ordered) >= TRIMMED_FROM:
        return ordered[-2] - ordered[1], "range without the extremes"
    q75, q25 = percentile(ordered, 75.0), percentile(ordered, 25.0)
    assert q75 is not None and q25 is not None
    return q75 - q25, "IQR"


def _backoff(e: TimeoutExpectation, by_id: dict[str, list[Arrival]], expected: str) -> Verdict:
    name = "retry.backoff"
    gaps = [
        [(b.at - a.at) * 1000.0 for a, b in itertools.pairwise(attempts)]
        for attempts in by_id.values()
        if len(attempts) >= 2
    ]
    if len(gaps) < MIN_RETRIED:
        needs = (
            f"at least {MIN_RETRIED} retried requests at {e.dependency} to see backoff "
            f"(saw {len(gaps)})"
        )
        return not_judged(name, expected, needs)
    three = [g for g in gaps if len(g) >= 2]
    grew = sum(1 for g in three if g[1] >= g[0] + GROWTH_MIN_MS)
    if len(three) < MIN_RETRIED:
        growth_ok = False
        growth = f"growth not observable ({n_of(len(three), 'request')} made 3+ attempts)"
    else:
        growth_ok = grew >= GROWTH_SHARE * len(three)
        growth = f"second gap longer in {grew} of {n_of(len(three), 'request')} with 3+ attempts"
    fast = [g[0] for g in gaps if g[0] < e.timeout_ms]
    if len(fast) < MIN_RETRIED:
        jitter_ok = False
        jitter = (
            f"jitter not observable ({n_of(len(fast), 'request')} retried after a fast failure)"
        )
    else:
        spread, measure = _spread(fast)
        jitter_ok = spread >= JITTER_MIN_IQR_MS
        jitter = (
            f"first gaps after a fast failure: {measure} {fmt_ms(spread)} over "
            f"{n_of(len(fast), 'request')} (min {JITTER_MIN_IQR_MS:g} ms)"
        )
    return Verdict(name, growth_ok and jitter_ok, expected, f"{growth}; {jitter}")
