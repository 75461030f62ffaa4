"""chaosrun.checks.bulkhead on synthetic observations (no processes).

The passing observation models the healthy lab under a 3 s latency fault on catalog: in each
second the first 10 calls hold the bulkhead (330 ms, then a fallback), the rest are rejected or
short-circuited (3 ms); /api/profile (auth only) is untouched. Requests every 10 ms per endpoint.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from chaosrun.checks.bulkhead import CHECK_NAMES, check_bulkhead
from chaosrun.checks.expectations import EXPECTATION_KINDS, BulkheadExpectation
from chaosrun.checks.observation import DependencySnapshot, FaultWindow, Observation, Verdict
from chaosrun.measure.timeline import RequestRecord

T0 = 1_796_017_540.0
FAULT = FaultWindow("latency", "catalog", T0 + 1.0, T0 + 4.0)
USES = {"/api/browse": ("catalog", "recommendations"), "/api/profile": ("auth",)}
GRID = [0.005 + 0.01 * i for i in range(600)]  # 0.005 .. 5.995 s
EXPECT = BulkheadExpectation("catalog", max_concurrency=10, isolated_endpoints=("/api/profile",))


def _healthy_browse(t: float) -> float:
    if not 1.0 <= t < 4.0:
        return 5.0
    return 330.0 if (t % 1.0) < 0.1 else 3.0  # the first 10 of each second held a slot


def observation(
    *,
    browse: Callable[[float], float] = _healthy_browse,
    profile: Callable[[float], tuple[int, float]] = lambda t: (200, 4.0),
    rejected: int = 40,
    limit: int | None = 10,
    gateway_max: int = 10,
    far_side_max: int = 6,
) -> Observation:
    timeline = []
    for t in GRID:
        in_fault = 1.0 <= t < 4.0
        timeline.append(RequestRecord(T0 + t, T0 + t, browse(t), 200, "", "/api/browse", in_fault))
        status, latency = profile(t)
        error = "" if status else "timeout"
        timeline.append(RequestRecord(T0 + t, T0 + t, latency, status, error, "/api/profile"))
    snapshot = DependencySnapshot(
        name="catalog",
        breaker_enabled=True,
        transitions=(),
        bulkhead_limit=limit,
        bulkhead_rejected=rejected,
        gateway_max_in_flight=gateway_max,
        far_side_max_in_flight=far_side_max,
        arrivals=(),
    )
    return Observation(tuple(timeline), (FAULT,), {"catalog": snapshot}, USES)


def verdicts(obs: Observation, expectation: BulkheadExpectation = EXPECT) -> dict[str, Verdict]:
    result = check_bulkhead(obs, expectation)
    assert tuple(v.check for v in result) == CHECK_NAMES
    return {v.check.split(".", 1)[1]: v for v in result}


def test_check_names_and_expectation_fields() -> None:
    assert CHECK_NAMES == ("bulkhead.isolation", "bulkhead.cap", "bulkhead.rejects_fast")
    assert EXPECTATION_KINDS["bulkhead"] is BulkheadExpectation
    assert [(f.name, f.default) for f in dataclasses.fields(BulkheadExpectation)][3:] == [
        ("rejected_p99_ms", 50.0),
        ("slo_availability", 0.99),
        ("slo_p99_ms", 500.0),
    ]
    assert [f.name for f in dataclasses.fields(BulkheadExpectation)][:3] == [
        "dependency",
        "max_concurrency",
        "isolated_endpoints",
    ]


def test_healthy_bulkhead_passes_every_property() -> None:
    v = verdicts(observation())
    assert v["isolation"] == Verdict(
        "bulkhead.isolation",
        True,
        "/api/profile keep availability >= 0.99 and p99 <= 500 ms during the fault, degraded "
        "no more than before",
        "availability 1.0000 (0 of 300 failed), p99 4.0 ms",
    )
    assert v["cap"] == Verdict(
        "bulkhead.cap",
        True,
        "at most 10 concurrent calls to catalog",
        "max 10 concurrent calls (gateway 10, at catalog 6); gateway bulkhead limit 10",
    )
    assert v["rejects_fast"] == Verdict(
        "bulkhead.rejects_fast",
        True,
        "calls beyond the cap rejected, p99 <= 50 ms; catalog endpoints p99 <= 500 ms",
        "40 calls rejected; the fastest 40 of 300 requests on /api/browse during the fault: "
        "p99 3.0 ms; all: p99 330.0 ms",
    )


def test_no_bulkhead_fails_cap_and_rejects_fast() -> None:
    # Models the no-bulkhead variant: nothing rejected, 35 calls in flight at the gateway (the
    # far side saw 4: the latency toxic holds the answers in the proxy, not in catalog).
    v = verdicts(
        observation(
            browse=lambda t: 330.0 if 1.0 <= t < 4.0 else 5.0,
            rejected=0,
            limit=None,
            gateway_max=35,
            far_side_max=4,
        )
    )
    assert v["isolation"].passed
    assert (v["cap"].passed, v["cap"].observed) == (
        False,
        "max 35 concurrent calls (gateway 35, at catalog 4); gateway bulkhead limit none",
    )
    assert (v["rejects_fast"].passed, v["rejects_fast"].observed) == (
        False,
        "0 calls rejected (at most 35 in flight at the gateway, cap 10); 300 requests on "
        "/api/browse during the fault, p99 330.0 ms",
    )


def test_far_side_over_the_cap_fails_cap() -> None:
    # The gateway kept its own count under the cap, but catalog saw 14 at once (e.g. a pool that
    # leaks abandoned attempts): the far side is the independent witness.
    v = verdicts(observation(far_side_max=14))
    assert (v["cap"].passed, v["cap"].observed) == (
        False,
        "max 14 concurrent calls (gateway 10, at catalog 14); gateway bulkhead limit 10",
    )


def test_slow_isolated_endpoint_fails_isolation() -> None:
    # Models a gateway without compartments whose shared pool or event loop starves the other
    # endpoints (no lab variant: the single-process lab gateway kept /api/profile at p99 79 ms
    # with no bulkhead): 5 % of /api/profile fail, the rest take 800 ms during the fault.
    def starved(t: float) -> tuple[int, float]:
        if not 1.0 <= t < 4.0:
            return 200, 4.0
        return (0, 3000.0) if round(t * 1000) % 200 == 5 else (200, 800.0)

    v = verdicts(observation(profile=starved))
    assert (v["isolation"].passed, v["isolation"].observed) == (
        False,
        "availability 0.9500 (15 of 300 failed), p99 800.0 ms",
    )
    assert v["cap"].passed and v["rejects_fast"].passed


def test_no_request_on_the_isolated_endpoints_judges_no_isolation() -> None:
    obs = observation()
    others = tuple(r for r in obs.timeline if r.endpoint != "/api/profile")
    v = verdicts(dataclasses.replace(obs, timeline=others))
    assert (v["isolation"].status, v["isolation"].observed) == (
        "not-judged",
        "not judged: requests on them during the fault (none)",
    )


def test_queueing_bulkhead_fails_rejects_fast() -> None:
    # A bulkhead that makes extra calls wait for a slot (then rejects some after 200+ ms) instead
    # of rejecting at once: the rejections are slow and the queue pushes the p99 past the SLO.
    def queued(t: float) -> float:
        return 200.0 + 700.0 * (t % 1.0) if 1.0 <= t < 4.0 else 5.0

    v = verdicts(observation(browse=queued))
    assert not v["rejects_fast"].passed
    assert v["rejects_fast"].observed == (
        "40 calls rejected; the fastest 40 of 300 requests on /api/browse during the fault: "
        "p99 294.5 ms; all: p99 889.5 ms"
    )


def test_admitted_calls_over_the_slo_fail_rejects_fast_even_when_rejections_are_fast() -> None:
    # Half the calls held a slot for 900 ms (no timeout behind the bulkhead).
    v = verdicts(observation(browse=lambda t: 900.0 if (t % 1.0) < 0.5 else 3.0))
    assert not v["rejects_fast"].passed
    assert v["rejects_fast"].observed.endswith("p99 3.0 ms; all: p99 900.0 ms")


def test_isolated_endpoint_that_uses_the_dependency_fails_isolation() -> None:
    wrong = dataclasses.replace(EXPECT, isolated_endpoints=("/api/browse",))
    v = verdicts(observation(), wrong)
    assert (v["isolation"].passed, v["isolation"].observed) == (
        False,
        "/api/browse uses catalog: it cannot be isolated from it",
    )


def test_no_fault_or_no_state_judges_no_property() -> None:
    v = verdicts(dataclasses.replace(observation(), faults=()))
    assert {(x.status, x.observed) for x in v.values()} == {
        ("not-judged", "not judged: a fault on catalog during the run (none took effect)")
    }
    v = verdicts(dataclasses.replace(observation(), dependencies={}))
    assert {(x.status, x.observed) for x in v.values()} == {
        (
            "not-judged",
            "not judged: what reached catalog and the service's account of it (the lab's "
            "/state); this target gives neither",
        )
    }


# Isolation fails on either half of the SLO alone (a fixture failing both would leave either
# clause untested).


def test_isolation_fails_on_availability_alone_just_below_the_slo() -> None:
    def failing(first: float) -> Callable[[float], tuple[int, float]]:
        return lambda t: (503, 4.0) if 1.0 <= t < first else (200, 4.0)

    held = verdicts(observation(profile=failing(1.03)))["isolation"]  # 3 of 300: 0.99
    assert (held.status, held.observed) == (
        "passed",
        "availability 0.9900 (3 of 300 failed), p99 4.0 ms",
    )
    isolation = verdicts(observation(profile=failing(1.04)))["isolation"]  # 4 of 300
    assert (isolation.status, isolation.observed) == (
        "failed",
        "availability 0.9867 (4 of 300 failed), p99 4.0 ms",
    )


def test_isolation_fails_on_latency_alone() -> None:
    def slow(t: float) -> tuple[int, float]:
        return (200, 501.0) if 1.0 <= t < 4.0 else (200, 4.0)

    isolation = verdicts(observation(profile=slow))["isolation"]
    assert (isolation.status, isolation.observed) == (
        "failed",
        "availability 1.0000 (0 of 300 failed), p99 501.0 ms",
    )


def _degrade_profile(obs: Observation, during: tuple[float, float]) -> Observation:
    lo, hi = during
    timeline = tuple(
        dataclasses.replace(r, degraded=True)
        if r.endpoint == "/api/profile" and T0 + lo <= r.scheduled < T0 + hi
        else r
        for r in obs.timeline
    )
    return dataclasses.replace(obs, timeline=timeline)


def test_an_isolated_endpoint_answered_by_its_fallback_during_the_fault_fails_isolation() -> None:
    # Models the shared-pool variant: catalog's calls hold the slots auth needs too, so for the
    # first half second /api/profile is served by auth's fallback -- fast and 200, yet the fault
    # leaked into it. Availability and p99 alone would pass it.
    v = verdicts(_degrade_profile(observation(), (1.0, 1.5)))
    assert (v["isolation"].passed, v["isolation"].observed) == (
        False,
        "availability 1.0000 (0 of 300 failed), p99 4.0 ms; 50 degraded (0.0% of them before "
        "the fault)",
    )


def test_an_isolated_endpoint_as_degraded_as_before_the_fault_keeps_isolation() -> None:
    # Degraded 10% of the time before the fault (0.0 .. 0.1 s of 1 s) and as often during it.
    obs = observation()
    for start in (0.0, 1.0, 2.0, 3.0):
        obs = _degrade_profile(obs, (start, start + 0.1))
    v = verdicts(obs)
    assert v["isolation"].passed, v["isolation"].observed
    assert v["isolation"].observed.endswith("; 30 degraded (10.0% of them before the fault)")
    # One more degraded answer during the fault than the usual share allows fails it.
    v = verdicts(_degrade_profile(obs, (1.1, 1.11)))
    assert not v["isolation"].passed, v["isolation"].observed


def test_with_nothing_before_the_fault_any_degraded_isolated_answer_fails_isolation() -> None:
    obs = _degrade_profile(observation(), (1.0, 1.01))
    during = tuple(r for r in obs.timeline if r.scheduled >= T0 + 1.0)
    v = verdicts(dataclasses.replace(obs, timeline=during))
    assert (v["isolation"].passed, v["isolation"].observed) == (
        False,
        "availability 1.0000 (0 of 300 failed), p99 4.0 ms; 1 degraded (0.0% of them before "
        "the fault)",
    )
