"""chaosrun.checks.bulkhead on synthetic observations (no processes).

The passing observation models the healthy lab under a 3 s latency fault on catalog: in each
second the first 10 calls hold the bulkhead (330 ms, then a fallback), the rest are answered
without reaching catalog (3 ms: rejected while the slots are held, short-circuited after);
/api/profile (auth only) is untouched. Requests every 10 ms per endpoint; each /api/browse
request that reaches catalog arrives there 1 ms after it was sent, with its id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from chaosrun.checks._traced import ANSWER_S
from chaosrun.checks.bulkhead import CHECK_NAMES, check_bulkhead
from chaosrun.checks.expectations import EXPECTATION_KINDS, BulkheadExpectation
from chaosrun.checks.observation import (
    Arrival,
    DependencySnapshot,
    FaultWindow,
    Observation,
    Verdict,
)
from chaosrun.measure.timeline import RequestRecord

T0 = 1_796_017_540.0
FAULT = FaultWindow("latency", "catalog", T0 + 1.0, T0 + 4.0)
USES = {"/api/browse": ("catalog", "recommendations"), "/api/profile": ("auth",)}
GRID = [0.005 + 0.01 * i for i in range(600)]  # 0.005 .. 5.995 s
EXPECT = BulkheadExpectation("catalog", max_concurrency=10, isolated_endpoints=("/api/profile",))
REACHED = 0.001  # a request that reaches catalog arrives there this long after it was sent

# browse(t) -> (latency in ms, seconds after sending at which it reached catalog, or None)
Browse = Callable[[float], tuple[float, float | None]]


def _in_fault(t: float) -> bool:
    return 1.0 <= t < 4.0


def _healthy_browse(t: float) -> tuple[float, float | None]:
    if not _in_fault(t):
        return 5.0, REACHED
    return (330.0, REACHED) if (t % 1.0) < 0.1 else (3.0, None)  # the first 10 hold a slot


def observation(
    *,
    browse: Browse = _healthy_browse,
    profile: Callable[[float], tuple[int, float]] = lambda t: (200, 4.0),
    far_side_max: int = 6,
    ids_passed_on: bool = True,
    account: tuple[int | None, int, int] | None = (10, 10, 69),  # limit, max in flight, rejected
) -> Observation:
    timeline, arrivals = [], []
    for i, t in enumerate(GRID):
        latency, reached_after = browse(t)
        request_id = f"5f3a09c1-{i}"
        timeline.append(
            RequestRecord(T0 + t, T0 + t, latency, 200, "", "/api/browse", _in_fault(t), request_id)
        )
        if reached_after is not None:
            passed_on = request_id if ids_passed_on else None
            arrivals.append(Arrival(T0 + t + reached_after, "/catalog", False, passed_on))
        status, latency = profile(t)
        error = "" if status else "timeout"
        timeline.append(RequestRecord(T0 + t, T0 + t, latency, status, error, "/api/profile"))
    limit, gateway_max, rejected = account or (None, 0, 0)
    snapshot = DependencySnapshot(
        name="catalog",
        breaker_enabled=True,
        transitions=(),
        bulkhead_limit=limit,
        bulkhead_rejected=rejected,
        gateway_max_in_flight=gateway_max,
        far_side_max_in_flight=far_side_max,
        arrivals=tuple(sorted(arrivals, key=lambda a: a.at)),
        has_account=account is not None,
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
        ("endpoints", ()),
    ]
    assert [f.name for f in dataclasses.fields(BulkheadExpectation)][:3] == [
        "dependency",
        "max_concurrency",
        "isolated_endpoints",
    ]


ACCOUNT = "bulkhead limit 10, max 10 in flight, 69 rejected"


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
        "max 10 concurrent calls (traced from the requests 10, at catalog 6)",
        account=ACCOUNT,
    )
    # In each second 18 requests came while the 10 slots were held (0.105 .. 0.275 s: spans end
    # ANSWER_S, 50 ms, before the client's answer): all shed.
    assert v["rejects_fast"] == Verdict(
        "bulkhead.rejects_fast",
        True,
        "calls beyond the cap rejected, p99 <= 50 ms; catalog endpoints p99 <= 500 ms",
        "of 54 requests that came with 10+ calls in flight, 54 answered without reaching "
        "catalog (p99 3.0 ms), 0 let through; all 300 during the fault: p99 330.0 ms",
        account=ACCOUNT,
    )


def _no_bulkhead(t: float) -> tuple[float, float | None]:
    return (330.0, REACHED) if _in_fault(t) else (5.0, REACHED)


def test_no_bulkhead_fails_cap_and_rejects_fast_from_behaviour_not_the_account() -> None:
    # Models the no-bulkhead variant: every request reaches catalog and holds 330 ms: 28 at once
    # (spans end ANSWER_S early; the far side saw 4: the latency toxic holds the answers in the
    # proxy, not in catalog). The account claims a bulkhead that held: it is shown, not believed.
    v = verdicts(observation(browse=_no_bulkhead, far_side_max=4))
    assert v["isolation"].passed
    assert (v["cap"].status, v["cap"].observed, v["cap"].account) == (
        "failed",
        "max 28 concurrent calls (traced from the requests 28, at catalog 4)",
        ACCOUNT,
    )
    honest = verdicts(observation(browse=_no_bulkhead, account=(None, 28, 0)))
    assert honest["cap"].account == "bulkhead limit none, max 28 in flight, 0 rejected"
    assert (v["rejects_fast"].status, v["rejects_fast"].observed) == (
        "failed",
        "of 290 requests that came with 10+ calls in flight, 0 answered without reaching "
        "catalog (p99 n/a), 290 let through; all 300 during the fault: p99 330.0 ms",
    )


def test_far_side_over_the_cap_fails_cap() -> None:
    # The traced calls stay under the cap, but catalog saw 14 at once (e.g. a pool that leaks
    # abandoned attempts, whose requests were already answered by a fallback).
    v = verdicts(observation(far_side_max=14))
    assert (v["cap"].passed, v["cap"].observed) == (
        False,
        "max 14 concurrent calls (traced from the requests 10, at catalog 14)",
    )
    assert verdicts(observation(far_side_max=10))["cap"].passed


def test_one_call_let_through_beyond_the_cap_fails_both() -> None:
    # An 11th call, in the first second only: sent while 10 were held, it reached catalog.
    def eleven(t: float) -> tuple[float, float | None]:
        if _in_fault(t) and (t % 1.0) < 0.11 and t < 2.0:
            return 330.0, REACHED
        return _healthy_browse(t)

    v = verdicts(observation(browse=eleven))
    assert (v["cap"].status, v["cap"].observed) == (
        "failed",
        "max 11 concurrent calls (traced from the requests 11, at catalog 6)",
    )
    assert (v["rejects_fast"].status, v["rejects_fast"].observed) == (
        "failed",
        "of 55 requests that came with 10+ calls in flight, 54 answered without reaching "
        "catalog (p99 3.0 ms), 1 let through; all 300 during the fault: p99 330.0 ms",
    )


def test_calls_the_service_does_not_trace_judge_neither_cap_nor_rejects_fast() -> None:
    v = verdicts(observation(ids_passed_on=False))
    assert v["isolation"].status == "passed"
    needs = (
        "not judged: requests traced to catalog: the service must pass X-Chaosrun-Request on "
        "(none of the 330 arrivals there carried a request's id)"
    )
    assert [(v[k].status, v[k].observed) for k in ("cap", "rejects_fast")] == [
        ("not-judged", needs)
    ] * 2


def test_nothing_recorded_at_the_dependency_judges_neither_cap_nor_rejects_fast() -> None:
    obs = observation()
    snapshot = dataclasses.replace(obs.dependencies["catalog"], recorded=False, arrivals=())
    v = verdicts(dataclasses.replace(obs, dependencies={"catalog": snapshot}))
    needs = (
        "not judged: what reached catalog (not recorded): calls are counted there and traced "
        "to requests"
    )
    assert [(v[k].status, v[k].observed) for k in ("cap", "rejects_fast")] == [
        ("not-judged", needs)
    ] * 2


def test_no_arrival_at_all_is_traceable_and_nothing_in_flight() -> None:
    # Every request answered without reaching catalog (e.g. an open breaker the whole time):
    # nothing was in flight, so no request came beyond the cap: the bulkhead was not exercised.
    v = verdicts(observation(browse=lambda t: (3.0, None), far_side_max=0))
    assert (v["cap"].status, v["cap"].observed) == (
        "passed",
        "max 0 concurrent calls (traced from the requests 0, at catalog 0)",
    )
    assert (v["rejects_fast"].status, v["rejects_fast"].observed) == (
        "not-judged",
        "not judged: a request that came while 10 calls to catalog were in flight (at most 0 "
        "when one of the 300 during the fault came)",
    )


def test_a_breaker_that_sheds_before_the_cap_leaves_rejects_fast_not_judged() -> None:
    # Five calls fail and the breaker opens: at most 9 in flight when a request came (the 10th
    # call of each second is the last one admitted), no request came beyond the cap.
    def breaker_first(t: float) -> tuple[float, float | None]:
        if _in_fault(t) and (t % 1.0) >= 0.1:
            return 3.0, None
        return _healthy_browse(t)

    assert verdicts(observation(browse=breaker_first))["rejects_fast"].status == "passed"

    def five(t: float) -> tuple[float, float | None]:
        if _in_fault(t):
            return (330.0, REACHED) if (t % 1.0) < 0.05 else (3.0, None)
        return 5.0, REACHED

    v = verdicts(observation(browse=five))
    assert (v["rejects_fast"].status, v["rejects_fast"].observed) == (
        "not-judged",
        "not judged: a request that came while 10 calls to catalog were in flight (at most 5 "
        "when one of the 300 during the fault came)",
    )
    assert v["rejects_fast"].account == ACCOUNT


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
    assert v["isolation"] == Verdict(
        "bulkhead.isolation",
        False,
        "/api/profile keep availability >= 0.99 and p99 <= 500 ms during the fault, degraded "
        "no more than before",
        "not judged: requests on them during the fault (none)",
        judged=False,
    )


def test_isolation_is_judged_at_p99_and_at_the_slo_itself() -> None:
    # One /api/profile request of 300 takes 900 ms: p99 is still the others' 500 ms, at the SLO.
    def one_slow(t: float) -> tuple[int, float]:
        if not _in_fault(t):
            return 200, 4.0
        return (200, 900.0) if abs(t - 2.005) < 1e-6 else (200, 500.0)

    isolation = verdicts(observation(profile=one_slow))["isolation"]
    assert (isolation.status, isolation.observed) == (
        "passed",
        "availability 1.0000 (0 of 300 failed), p99 500.0 ms",
    )


def _queueing(t: float) -> tuple[float, float | None]:
    # A bulkhead that makes up to 10 extra calls wait for a slot: the k-th request of
    # 0.1 .. 0.2 s takes the k-th slot when it frees (0.33 s after it was taken) and holds it
    # 100 ms; later ones are rejected. Never more than 10 at once: the cap holds.
    if not _in_fault(t) or (t % 1.0) < 0.1 or (t % 1.0) >= 0.2:
        return _healthy_browse(t)
    waited = 0.33 - 0.1 + REACHED + 0.0005
    return (waited + 0.1) * 1000.0, waited


def test_a_queueing_bulkhead_fails_rejects_fast_alone_by_letting_calls_through() -> None:
    v = verdicts(observation(browse=_queueing))
    assert v["cap"].status == "passed", v["cap"].observed
    assert (v["rejects_fast"].status, v["rejects_fast"].observed) == (
        "failed",
        "of 54 requests that came with 10+ calls in flight, 24 answered without reaching "
        "catalog (p99 3.0 ms), 30 let through; all 300 during the fault: p99 331.5 ms",
    )


def test_slow_rejections_fail_rejects_fast_alone() -> None:
    # Rejected after waiting 200 ms for a slot (a bulkhead with a wait timeout): not fast.
    def slow(t: float) -> tuple[float, float | None]:
        latency, reached = _healthy_browse(t)
        if reached is None and (t % 1.0) < 0.33:
            return 200.0, None
        return latency, reached

    v = verdicts(observation(browse=slow))
    assert (v["rejects_fast"].status, v["rejects_fast"].observed) == (
        "failed",
        "of 54 requests that came with 10+ calls in flight, 54 answered without reaching "
        "catalog (p99 200.0 ms), 0 let through; all 300 during the fault: p99 330.0 ms",
    )
    fast_enough = lambda t: (50.0, None) if slow(t) == (200.0, None) else slow(t)  # noqa: E731
    assert verdicts(observation(browse=fast_enough))["rejects_fast"].status == "passed"


def test_admitted_calls_over_the_slo_fail_rejects_fast_alone() -> None:
    # The 10 admitted calls of each second held their slot 501 ms (a timeout past the SLO); every
    # request beyond the cap was still rejected at once.
    def held(t: float) -> tuple[float, float | None]:
        latency, reached = _healthy_browse(t)
        return (501.0, reached) if latency == 330.0 else (latency, reached)

    v = verdicts(observation(browse=held))
    assert (v["rejects_fast"].status, v["rejects_fast"].observed) == (
        "failed",
        "of 108 requests that came with 10+ calls in flight, 108 answered without reaching "
        "catalog (p99 3.0 ms), 0 let through; all 300 during the fault: p99 501.0 ms",
    )
    at_the_slo = lambda t: (500.0, held(t)[1]) if held(t)[0] == 501.0 else held(t)  # noqa: E731
    assert verdicts(observation(browse=at_the_slo))["rejects_fast"].status == "passed"


def test_isolated_endpoint_that_uses_the_dependency_fails_isolation() -> None:
    wrong = dataclasses.replace(
        EXPECT, isolated_endpoints=("/api/browse", "/api/profile", "/api/search")
    )
    uses = {**USES, "/api/search": ("catalog",)}
    v = verdicts(dataclasses.replace(observation(), endpoints_using=uses), wrong)
    assert v["isolation"] == Verdict(
        "bulkhead.isolation",
        False,
        "/api/browse, /api/profile, /api/search keep availability >= 0.99 and p99 <= 500 ms "
        "during the fault, degraded no more than before",
        "/api/browse, /api/search uses catalog: it cannot be isolated from it",
    )


def test_an_isolated_endpoint_the_service_does_not_declare_is_not_coupled() -> None:
    quiet = dataclasses.replace(EXPECT, isolated_endpoints=("/api/profile", "/api/unknown"))
    assert verdicts(observation(), quiet)["isolation"].status == "passed"


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


def _one_sent_as_a_slot_frees(gap_s: float) -> Browse:
    # Each second's first 10 calls hold their slots until 0.33 s (their clients read the answers
    # ANSWER_S later), except the first: its client reads its answer `gap_s` after a request
    # sent at 0.325 s, which reaches catalog 20 ms after it was sent.
    def browse(t: float) -> tuple[float, float | None]:
        if not _in_fault(t):
            return _healthy_browse(t)
        offset = t % 1.0
        if offset < 0.01:
            return (0.325 - offset + gap_s) * 1000.0, REACHED
        if offset < 0.1:
            return (0.33 - offset + ANSWER_S) * 1000.0, REACHED
        if abs(offset - 0.325) < 1e-6:
            return 330.0, 0.02
        return 3.0, None

    return browse


def test_a_request_sent_as_the_client_gets_a_freed_slots_answer_was_not_let_through() -> None:
    # Within ANSWER_S of its client reading the answer, the service may have freed that slot.
    passed = verdicts(observation(browse=_one_sent_as_a_slot_frees(ANSWER_S - 0.001)))
    assert passed["rejects_fast"].status == "passed", passed["rejects_fast"].observed
    assert ", 0 let through; " in passed["rejects_fast"].observed
    # Read later than that: all 10 slots were still held when the request came: let through.
    failed = verdicts(observation(browse=_one_sent_as_a_slot_frees(ANSWER_S + 0.001)))
    assert failed["rejects_fast"].status == "failed", failed["rejects_fast"].observed
    assert ", 3 let through; " in failed["rejects_fast"].observed


def test_rejects_fast_reads_p99_not_the_slowest() -> None:
    # 10 calls of each second hold their slot 500 ms (at the SLO): 109 requests shed, one of
    # them after 60 ms, and one admitted request took 900 ms: both p99s pass the one outlier.
    def outliers(t: float) -> tuple[float, float | None]:
        latency, reached = _healthy_browse(t)
        if abs(t - 2.205) < 1e-6:
            return 60.0, None
        if abs(t - 3.005) < 1e-6:
            return 900.0, REACHED
        return (500.0, reached) if latency == 330.0 else (latency, reached)

    v = verdicts(observation(browse=outliers))
    assert (v["rejects_fast"].status, v["rejects_fast"].observed) == (
        "passed",
        "of 109 requests that came with 10+ calls in flight, 109 answered without reaching "
        "catalog (p99 3.0 ms), 0 let through; all 300 during the fault: p99 500.0 ms",
    )


def test_no_request_during_the_fault_judges_no_rejection() -> None:
    obs = observation()
    fault_free = tuple(
        r for r in obs.timeline if r.endpoint != "/api/browse" or not _in_fault(r.scheduled - T0)
    )
    v = verdicts(dataclasses.replace(obs, timeline=fault_free))
    assert v["rejects_fast"] == Verdict(
        "bulkhead.rejects_fast",
        False,
        "calls beyond the cap rejected, p99 <= 50 ms; catalog endpoints p99 <= 500 ms",
        "not judged: a request that came while 10 calls to catalog were in flight (at most 0 "
        "when one of the 0 during the fault came)",
        judged=False,
        account=ACCOUNT,
    )


def test_a_fault_never_cleared_lasts_to_the_end_of_the_observation() -> None:
    # Not reverted within the observation: every request from the injection on is judged.
    endless = dataclasses.replace(FAULT, cleared_at=None)
    v = verdicts(dataclasses.replace(observation(), faults=(endless,)))
    assert v["isolation"].observed == "availability 1.0000 (0 of 500 failed), p99 4.0 ms"


def test_a_service_that_does_not_say_which_endpoints_use_it_needs_them_named() -> None:
    silent = dataclasses.replace(observation(), endpoints_using={})
    v = verdicts(silent)
    needs = (
        "not judged: the endpoints that use catalog (the service does not say): name them in "
        "expect.bulkhead.endpoints"
    )
    assert v["isolation"].status == "passed"
    assert [(v[k].status, v[k].observed) for k in ("cap", "rejects_fast")] == [
        ("not-judged", needs)
    ] * 2
    named = verdicts(silent, dataclasses.replace(EXPECT, endpoints=("/api/browse",)))
    assert named == verdicts(observation())


def test_a_named_endpoint_cannot_be_isolated_from_its_dependency() -> None:
    both = dataclasses.replace(
        EXPECT, endpoints=("/api/browse", "/api/profile"), isolated_endpoints=("/api/profile",)
    )
    silent = dataclasses.replace(observation(), endpoints_using={})
    isolation = verdicts(silent, both)["isolation"]
    assert (isolation.status, isolation.observed) == (
        "failed",
        "/api/profile uses catalog: it cannot be isolated from it",
    )
