"""chaosrun.checks.timeout on synthetic observations (no processes).

The passing observation models the healthy lab (150 ms timeout, 2 retries, 350 ms budget) under
a 3 s fault on catalog: the first calls pay ~330 ms and fall back, then the breaker answers with
the fallback at once. At the far side: 10 calls that failed fast with 3 attempts (backoff ~20 and
~40 ms plus jitter), 10 that timed out twice, 50 that needed one attempt.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable

from chaosrun.checks.expectations import EXPECTATION_KINDS, TimeoutExpectation
from chaosrun.checks.observation import (
    Arrival,
    DependencySnapshot,
    FaultWindow,
    Observation,
    Verdict,
)
from chaosrun.checks.timeout import (
    CHECK_NAMES,
    GROWTH_SHARE,
    MIN_RETRIED,
    bound_ms,
    check_timeout,
)
from chaosrun.measure.timeline import RequestRecord

T0 = 1_796_017_540.0
FAULT = FaultWindow("latency", "catalog", T0 + 1.0, T0 + 4.0)
USES = {"/api/browse": ("catalog", "recommendations"), "/api/profile": ("auth",)}
GRID = [0.005 + 0.01 * i for i in range(600)]
EXPECT = TimeoutExpectation(
    "catalog", timeout_ms=150.0, max_retries=2, endpoint="/api/browse", budget_ms=350.0
)

Answer = tuple[int, float, bool]  # status, latency ms, degraded


def _healthy(t: float) -> Answer:
    if not 1.0 <= t < 4.0:
        return 200, 5.0, False
    return (200, 330.0, True) if t < 1.35 else (200, 3.0, True)


def _request(rid: str, start: float, gaps_ms: Iterable[float]) -> list[Arrival]:
    times = [start]
    for gap in gaps_ms:
        times.append(times[-1] + gap / 1000.0)
    return [Arrival(T0 + t, "/catalog", True, rid, n) for n, t in enumerate(times, 1)]


def healthy_arrivals() -> list[Arrival]:
    arrivals = []
    for i in range(10):  # fast failures: first gaps 22..31 ms, second gaps longer
        arrivals += _request(f"f-{i}", 1.0 + 0.1 * i, [22.0 + i, 44.0 + (9 - i)])
    for i in range(10):  # timeouts: one retry, 175 ms (+ jitter) after the first attempt
        arrivals += _request(f"t-{i}", 2.0 + 0.1 * i, [175.0 + 0.5 * i])
    for i in range(50):
        arrivals += _request(f"s-{i}", 0.01 * i, [])
    return arrivals


def observation(
    answer: Callable[[float], Answer] = _healthy,
    arrivals: Iterable[Arrival] | None = None,
) -> Observation:
    timeline = []
    for t in GRID:
        status, latency, degraded = answer(t)
        record = RequestRecord(T0 + t, T0 + t, latency, status, "", "/api/browse", degraded)
        timeline.append(record)
    snapshot = DependencySnapshot(
        name="catalog",
        breaker_enabled=True,
        transitions=(),
        bulkhead_limit=10,
        bulkhead_rejected=0,
        gateway_max_in_flight=10,
        far_side_max_in_flight=3,
        arrivals=tuple(healthy_arrivals() if arrivals is None else arrivals),
    )
    return Observation(tuple(timeline), (FAULT,), {"catalog": snapshot}, USES)


def verdicts(obs: Observation, expectation: TimeoutExpectation = EXPECT) -> dict[str, Verdict]:
    result = check_timeout(obs, expectation)
    assert tuple(v.check for v in result) == CHECK_NAMES
    return {v.check: v for v in result}


def test_check_names_expectation_fields_and_bound() -> None:
    assert CHECK_NAMES == ("timeout.bounded", "timeout.fallback", "retry.capped", "retry.backoff")
    assert EXPECTATION_KINDS["timeout"] is TimeoutExpectation
    assert [(f.name, f.default) for f in dataclasses.fields(TimeoutExpectation)][4:] == [
        ("epsilon_ms", 100.0),
        ("budget_ms", None),
    ]
    assert bound_ms(EXPECT) == 350.0
    assert bound_ms(dataclasses.replace(EXPECT, budget_ms=None)) == 450.0  # 3 x 150 ms


def test_healthy_timeouts_and_retries_pass_every_property() -> None:
    v = verdicts(observation())
    assert v["timeout.bounded"] == Verdict(
        "timeout.bounded",
        True,
        "/api/browse answers within 450 ms (budget + 100 ms)",
        "max 330.0 ms (p99 330.0 ms) over 300 responses during the fault",
    )
    assert v["timeout.fallback"] == Verdict(
        "timeout.fallback",
        True,
        "/api/browse answers 200 with a fallback instead of waiting (> 250 ms) for catalog",
        "300 of 300 answered 200, 300 degraded",
    )
    assert v["retry.capped"] == Verdict(
        "retry.capped",
        True,
        "at most 3 attempts per request at catalog",
        "max 3 attempts per request over 70 requests at catalog (20 retried)",
    )
    assert v["retry.backoff"] == Verdict(
        "retry.backoff",
        True,
        "backoff grows between attempts and has jitter",
        "second gap longer in 10 of 10 requests with 3+ attempts; first gaps after a fast "
        "failure: range without the extremes 7.0 ms over 10 requests (min 1 ms)",
    )


def test_without_a_budget_the_bound_is_every_attempt_timing_out() -> None:
    v = verdicts(observation(), dataclasses.replace(EXPECT, budget_ms=None))
    assert v["timeout.bounded"].expected == (
        "/api/browse answers within 550 ms (3 x 150 ms + 100 ms)"
    )
    assert v["timeout.bounded"].passed


def test_no_timeout_fails_bounded_and_fallback() -> None:
    # Models no-timeout (and timeout-too-long under a 1 s latency fault, as in the live test):
    # every call waits the slow dependency out and answers 200 without a fallback.
    v = verdicts(
        observation(lambda t: (200, 1000.0, False) if 1.0 <= t < 4.0 else (200, 5.0, False))
    )
    assert (v["timeout.bounded"].passed, v["timeout.bounded"].observed) == (
        False,
        "max 1000.0 ms (p99 1000.0 ms) over 300 responses during the fault",
    )
    assert (v["timeout.fallback"].passed, v["timeout.fallback"].observed) == (
        False,
        "300 of 300 answered 200, 0 degraded; 300 waited without fallback (up to 1000.0 ms)",
    )


def test_timeout_too_long_falls_back_too_late_and_fails_bounded() -> None:
    # Models timeout-too-long (2 s) under a 3 s latency fault: each call times out after 2 s and
    # falls back -- degraded 200s, but far past the bound.
    v = verdicts(
        observation(lambda t: (200, 2030.0, True) if 1.0 <= t < 4.0 else (200, 5.0, False))
    )
    assert (v["timeout.bounded"].passed, v["timeout.bounded"].observed) == (
        False,
        "max 2030.0 ms (p99 2030.0 ms) over 300 responses during the fault",
    )
    assert v["timeout.fallback"].passed


def test_no_fallback_fails_fallback() -> None:
    # Models no-fallback: the timed-out calls become 502s.
    v = verdicts(
        observation(lambda t: (502, 330.0, False) if 1.0 <= t < 4.0 else (200, 5.0, False))
    )
    assert v["timeout.bounded"].passed
    assert (v["timeout.fallback"].passed, v["timeout.fallback"].observed) == (
        False,
        "0 of 300 answered 200, 0 degraded; 300 not 200 (502)",
    )


def test_a_fault_that_never_triggers_the_fallback_fails_fallback() -> None:
    # Nothing degraded: the timeout never fired, so the fallback was not shown to work.
    v = verdicts(observation(lambda t: (200, 5.0, False)))
    assert (v["timeout.fallback"].passed, v["timeout.fallback"].observed) == (
        False,
        "300 of 300 answered 200, 0 degraded",
    )


def test_unbounded_retries_fail_capped() -> None:
    # Models no-retry-cap: one call kept retrying (8 attempts, backoff growing to its cap).
    arrivals = healthy_arrivals() + _request("r-long", 1.0, [22, 44, 84, 164, 204, 205, 203])
    v = verdicts(observation(arrivals=arrivals))
    assert (v["retry.capped"].passed, v["retry.capped"].observed) == (
        False,
        "max 8 attempts per request over 71 requests at catalog (21 retried); "
        "1 request over 3, e.g. r-long",
    )
    assert v["retry.backoff"].passed  # the plateau at the backoff cap is not a failure


def test_attempts_are_counted_even_without_attempt_numbers() -> None:
    unnumbered = [dataclasses.replace(a, attempt=None) for a in _request("x", 1.0, [20] * 4)]
    v = verdicts(observation(arrivals=healthy_arrivals() + unnumbered))
    assert not v["retry.capped"].passed
    assert v["retry.capped"].observed.startswith("max 5 attempts per request")


def test_arrivals_without_request_ids_judge_no_retry_property() -> None:
    # Models a gateway that does not send X-Chaosrun-Request: nothing can be counted.
    anonymous = [dataclasses.replace(a, request_id=None, attempt=None) for a in healthy_arrivals()]
    v = verdicts(observation(arrivals=anonymous))
    assert (v["retry.capped"].status, v["retry.capped"].observed) == (
        "not-judged",
        "not judged: arrivals at catalog that carry a request id (none did): to count attempts",
    )
    assert (v["retry.backoff"].status, v["retry.backoff"].observed) == (
        "not-judged",
        "not judged: at least 3 retried requests at catalog to see backoff (saw 0)",
    )
    assert v["timeout.bounded"].status == "passed"  # the response side is still judged


def test_without_what_reached_the_dependency_the_response_side_is_still_judged() -> None:
    # An explicit target: no /state, no arrivals; the timeline and the fault windows remain.
    v = verdicts(dataclasses.replace(observation(), dependencies={}))
    assert [x.status for x in v.values()] == ["passed", "passed", "not-judged", "not-judged"]
    slow = dataclasses.replace(
        observation(),
        dependencies={},
        timeline=tuple(
            dataclasses.replace(r, latency_ms=r.latency_ms + 5000.0) for r in observation().timeline
        ),
    )
    w = verdicts(slow)
    assert (w["timeout.bounded"].status, w["retry.capped"].status) == ("failed", "not-judged")


def test_constant_backoff_fails_backoff() -> None:
    # A fixed delay between attempts (with jitter): the second gap is not longer than the first.
    arrivals = [
        a for i in range(10) for a in _request(f"c-{i}", 1.0 + 0.1 * i, [22.0 + i, 21.0 + i])
    ]
    v = verdicts(observation(arrivals=arrivals))
    assert (v["retry.backoff"].passed, v["retry.backoff"].observed) == (
        False,
        "second gap longer in 0 of 10 requests with 3+ attempts; first gaps after a fast "
        "failure: range without the extremes 7.0 ms over 10 requests (min 1 ms)",
    )


def test_backoff_without_jitter_fails_backoff() -> None:
    # Exponential but identical for every request: synchronized retry storms.
    arrivals = [a for i in range(10) for a in _request(f"n-{i}", 1.0 + 0.1 * i, [22.0, 44.0])]
    v = verdicts(observation(arrivals=arrivals))
    assert (v["retry.backoff"].passed, v["retry.backoff"].observed) == (
        False,
        "second gap longer in 10 of 10 requests with 3+ attempts; first gaps after a fast "
        "failure: range without the extremes 0.0 ms over 10 requests (min 1 ms)",
    )


def test_backoff_seen_only_after_timeouts_is_not_observable() -> None:
    # A latency fault under a retry budget: 2 attempts per call, all after a timeout, whose own
    # spread hides jitter. The verdict fails and says why.
    arrivals = [a for i in range(10) for a in _request(f"t-{i}", 1.0 + 0.1 * i, [175.0 + i])]
    v = verdicts(observation(arrivals=arrivals))
    assert (v["retry.backoff"].passed, v["retry.backoff"].observed) == (
        False,
        "growth not observable (0 requests made 3+ attempts); jitter not observable "
        "(0 requests retried after a fast failure)",
    )


def test_endpoint_not_using_the_dependency_fails_bounded_and_fallback() -> None:
    v = verdicts(observation(), dataclasses.replace(EXPECT, endpoint="/api/profile"))
    assert [(x.passed, x.observed) for x in list(v.values())[:2]] == [
        (False, "/api/profile does not use catalog")
    ] * 2
    assert v["retry.capped"].passed


def test_no_request_during_the_fault_judges_neither_bounded_nor_fallback() -> None:
    obs = observation()
    early = tuple(r for r in obs.timeline if r.scheduled < T0 + 1.0)
    v = verdicts(dataclasses.replace(obs, timeline=early))
    assert [(x.status, x.observed) for x in list(v.values())[:2]] == [
        ("not-judged", "not judged: requests on /api/browse during the fault (none)")
    ] * 2


def test_no_fault_judges_no_property() -> None:
    v = verdicts(dataclasses.replace(observation(), faults=()))
    assert {(x.status, x.observed) for x in v.values()} == {
        ("not-judged", "not judged: a fault on catalog during the run (none took effect)")
    }


# One condition at a time, at its edge: each test fails a single clause (mutation testing
# showed fixtures that failed two at once left either clause untested).


def test_bounded_holds_up_to_bound_plus_epsilon_and_fails_just_past_it() -> None:
    limit = 350.0 + 100.0  # budget + the default epsilon

    def at(latency: float) -> Callable[[float], Answer]:
        return lambda t: (200, latency, True) if 1.0 <= t < 1.05 else _healthy(t)

    assert verdicts(observation(at(limit)))["timeout.bounded"].status == "passed"
    assert verdicts(observation(at(limit + 0.5)))["timeout.bounded"].status == "failed"


def test_fallback_allows_a_slow_plain_answer_up_to_timeout_plus_epsilon_only() -> None:
    limit = 150.0 + 100.0  # timeout + the default epsilon

    def plain(latency: float) -> Callable[[float], Answer]:
        return lambda t: (200, latency, False) if 1.0 <= t < 1.05 else _healthy(t)

    assert verdicts(observation(plain(limit)))["timeout.fallback"].status == "passed"
    late = verdicts(observation(plain(limit + 0.5)))["timeout.fallback"]
    assert (late.status, late.observed) == (
        "failed",
        "300 of 300 answered 200, 295 degraded; 5 waited without fallback (up to 250.5 ms)",
    )


def test_attempt_numbers_count_even_when_earlier_attempts_were_not_seen() -> None:
    # One arrival per request id, but numbered 4: three attempts happened before it.
    arrivals = [*healthy_arrivals(), Arrival(T0 + 2.5, "/catalog", True, "late", 4)]
    capped = verdicts(observation(arrivals=arrivals))["retry.capped"]
    assert capped.status == "failed"
    assert capped.observed.endswith("; 1 request over 3, e.g. late")


def _backoff(arrivals: list[Arrival]) -> Verdict:
    return verdicts(observation(arrivals=arrivals))["retry.backoff"]


def _grown(n: int, first: float = 20.0) -> list[Arrival]:
    """n requests that failed fast 3 times: first gaps first..first+n-1 ms, second gaps double."""
    return [
        a for i in range(n) for a in _request(f"g-{i}", 1.0 + 0.1 * i, [first + i, 2 * (first + i)])
    ]


def test_backoff_is_judged_from_exactly_the_minimum_of_retried_requests() -> None:
    exactly = _backoff(_grown(MIN_RETRIED))
    assert (exactly.status, exactly.observed) == (
        "passed",
        "second gap longer in 3 of 3 requests with 3+ attempts; first gaps after a fast "
        "failure: IQR 2.0 ms over 3 requests (min 1 ms)",
    )
    fewer = _backoff(_grown(MIN_RETRIED - 1))
    assert fewer.status == "not-judged"


def test_equal_gaps_are_no_growth_and_growth_needs_its_share() -> None:
    # Exactly equal gaps (multiples of 1/128 s are exact at this epoch), first gaps spread.
    flat = [
        Arrival(T0 + 1.0 + i / 8 + k * (2 + i) / 128, "/catalog", True, f"e-{i}", k + 1)
        for i in range(4)
        for k in range(3)
    ]
    assert _backoff(flat).observed.startswith("second gap longer in 0 of 4 requests")
    assert _backoff(flat).status == "failed"
    # exactly GROWTH_SHARE (3 of 4) grew: enough
    share = _grown(3) + [
        Arrival(T0 + 1.875 + k / 64, "/catalog", True, "e", k + 1) for k in range(3)
    ]
    assert (_backoff(share).status, GROWTH_SHARE) == ("passed", 0.75)
    flat_two = [
        Arrival(T0 + 1.75 + i / 8 + k * (3 + i) / 128, "/catalog", True, f"f-{i}", k + 1)
        for i in range(2)
        for k in range(3)
    ]
    two_of_four = _grown(2) + flat_two
    assert _backoff(two_of_four).status == "failed"


def test_growth_not_observable_fails_even_with_jitter() -> None:
    # Many fast failures retried once (jitter visible), only two requests made 3 attempts.
    once = [a for i in range(6) for a in _request(f"o-{i}", 1.0 + 0.1 * i, [20.0 + 3 * i])]
    verdict = _backoff(once + _grown(2))
    assert verdict.status == "failed"
    assert verdict.observed.startswith("growth not observable (2 requests made 3+ attempts)")


def test_jitter_is_read_from_the_first_gaps_only() -> None:
    # First gaps spread by 3 ms; second gaps all equal to the same 100 ms: jitter is seen.
    spread = [a for i in range(4) for a in _request(f"j-{i}", 1.0 + 0.1 * i, [20.0 + 3 * i, 100.0])]
    assert _backoff(spread).status == "passed"
    same_first = [
        a for i in range(4) for a in _request(f"k-{i}", 1.0 + 0.1 * i, [20.0, 40.0 + 5 * i])
    ]
    assert _backoff(same_first).observed.endswith("IQR 0.0 ms over 4 requests (min 1 ms)")
    assert _backoff(same_first).status == "failed"


def test_attempt_numbers_order_the_attempts_not_arrival_times() -> None:
    # Attempt 3 logged before attempt 2 (two far-side workers): the numbers give the order.
    # By number the gaps are 62.5 then -46.875 ms (no growth); by arrival time 15.625 then
    # 46.875 ms (growth). Times are multiples of 1/64 s: exact at this epoch.
    reordered = [
        Arrival(T0 + 1.0 + i / 4 + dt, "/catalog", True, f"r-{i}", n)
        for i in range(3)
        for n, dt in ((1, 0.0), (2, 0.0625), (3, 0.015625))
    ]
    assert _backoff(reordered).observed.startswith("second gap longer in 0 of 3 requests")


def test_from_trimmed_from_gaps_on_the_spread_is_the_range_without_the_extremes() -> None:
    from chaosrun.checks.timeout import TRIMMED_FROM

    assert TRIMMED_FROM == 8
    # Eight first gaps: seven equal and one far outlier -- no jitter, one stray retry.
    stray = [20.0] * 7 + [35.0]
    gaps = [a for i, g in enumerate(stray) for a in _request(f"s-{i}", 1.0 + 0.1 * i, [g, 2 * g])]
    verdict = _backoff(gaps)
    assert verdict.observed.endswith(
        "range without the extremes 0.0 ms over 8 requests (min 1 ms)"
    ), verdict.observed
    assert verdict.status == "failed"
    # Seven: still the IQR, which leaves the outlier out too.
    verdict = _backoff(gaps[: 7 * 3 - 3] + gaps[-3:])
    assert verdict.observed.endswith("IQR 0.0 ms over 7 requests (min 1 ms)"), verdict.observed
    # Eight gaps spread evenly by 1 ms: 5 ms without the extremes, jitter seen.
    assert _backoff(_grown(8)).observed.endswith(
        "range without the extremes 5.0 ms over 8 requests (min 1 ms)"
    )
    assert _backoff(_grown(8)).status == "passed"


def test_growth_needs_the_second_gap_longer_by_growth_min_ms() -> None:
    from chaosrun.checks.timeout import GROWTH_MIN_MS

    assert GROWTH_MIN_MS == 1.0
    # Retries at once: gaps of noise, the second 0.5 ms longer than the first. Not growth.
    at_once = [
        a
        for i in range(4)
        for a in _request(f"z-{i}", 1.0 + 0.1 * i, [1.0 + 0.1 * i, 1.5 + 0.1 * i])
    ]
    verdict = _backoff(at_once)
    assert verdict.observed.startswith("second gap longer in 0 of 4 requests"), verdict.observed

    # Longer by 1/1024 s (0.98 ms: multiples of 1/1024 s are exact at this epoch): not growth;
    # by 2/1024 s (1.95 ms): growth.
    def steps(extra: int) -> list[Arrival]:
        return [
            Arrival(T0 + 1.0 + i / 8 + t / 1024, "/catalog", True, f"x-{i}", k + 1)
            for i in range(4)
            for k, t in enumerate((0, 20 + i, 40 + 2 * i + extra))
        ]

    assert _backoff(steps(1)).observed.startswith("second gap longer in 0 of 4 requests")
    assert _backoff(steps(2)).observed.startswith("second gap longer in 4 of 4 requests")
