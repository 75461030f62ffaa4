"""chaosrun.checks.circuit_breaker on synthetic observations (no processes).

The passing observation models the healthy lab under a 3 s fault on catalog: the breaker opens
0.3 s in, each half-open trial fails until the fault clears, and it closes after. Every failing
observation changes one thing and names the lab variant (or bug) it models. Times are relative to
T0; requests are on a 20 ms grid (offset 5 ms so nothing sits on a window edge).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import pytest

from chaosrun.checks.circuit_breaker import CHECK_NAMES, check_circuit_breaker
from chaosrun.checks.expectations import EXPECTATION_KINDS, BreakerExpectation
from chaosrun.checks.gather import build_observation
from chaosrun.checks.observation import (
    Arrival,
    BreakerTransition,
    DependencySnapshot,
    FaultWindow,
    Observation,
    Verdict,
)
from chaosrun.measure.timeline import RequestRecord

T0 = 1_796_017_540.0
FAULT = FaultWindow("latency", "catalog", T0 + 1.0, T0 + 4.0)
USES = {"/api/browse": ("catalog", "recommendations"), "/api/profile": ("auth",)}
GRID = [0.005 + 0.02 * i for i in range(500)]  # 0.005 .. 9.985 s
EXPECT = BreakerExpectation("catalog")

# closed -> open 0.3 s after injection, trials at +1 s fail until the fault clears at 4.0.
HEALTHY = (
    (1.3, "closed", "open"),
    (2.3, "open", "half-open"),
    (2.6, "half-open", "open"),
    (3.6, "open", "half-open"),
    (3.9, "half-open", "open"),
    (4.9, "open", "half-open"),
    (4.92, "half-open", "closed"),
)
Transitions = Sequence[tuple[float, str, str]]


def _open_periods(transitions: Transitions) -> list[tuple[float, float]]:
    periods, start = [], None
    for at, _frm, to in transitions:
        if to == "open":
            start = at
        elif start is not None:
            periods.append((start, at))
            start = None
    if start is not None:
        periods.append((start, 99.0))
    return periods


def _browse_latency(t: float, opens: list[tuple[float, float]], slow_when_open: bool) -> float:
    if any(a <= t < b for a, b in opens):
        return 330.0 if slow_when_open else 3.0
    return 330.0 if 1.0 <= t < 4.0 else 5.0


def observation(
    transitions: Transitions = HEALTHY,
    *,
    enabled: bool = True,
    slow_when_open: bool = False,
    arrival_times: Callable[[list[tuple[float, float]]], list[float]] | None = None,
    faults: Sequence[FaultWindow] = (FAULT,),
) -> Observation:
    opens = _open_periods(transitions)
    timeline = []
    for t in GRID:
        lat = _browse_latency(t, opens, slow_when_open)
        degraded = 1.0 <= t < 4.0 or any(a <= t < b for a, b in opens)
        timeline.append(RequestRecord(T0 + t, T0 + t, lat, 200, "", "/api/browse", degraded))
        timeline.append(RequestRecord(T0 + t, T0 + t, 4.0, 200, "", "/api/profile"))
    if arrival_times is None:
        # The far side: one arrival per request while calls go through, plus one attempt that
        # was on the wire at each trip (20 ms after it, inside the grace).
        times = [t for t in GRID if not any(a < t < b for a, b in opens)]
        times += [a + 0.02 for a, _ in opens]
    else:
        times = arrival_times(opens)
    arrivals = tuple(Arrival(T0 + t, "/catalog", 1.0 <= t < 4.0) for t in sorted(times))
    snapshot = DependencySnapshot(
        name="catalog",
        breaker_enabled=enabled,
        transitions=tuple(BreakerTransition(T0 + at, f, to) for at, f, to in transitions),
        bulkhead_limit=10,
        bulkhead_rejected=0,
        gateway_max_in_flight=10,
        far_side_max_in_flight=3,
        arrivals=arrivals,
    )
    return Observation(tuple(timeline), tuple(faults), {"catalog": snapshot}, USES)


def verdicts(obs: Observation, expectation: BreakerExpectation = EXPECT) -> dict[str, Verdict]:
    result = check_circuit_breaker(obs, expectation)
    assert tuple(v.check for v in result) == CHECK_NAMES
    return {v.check.split(".", 1)[1]: v for v in result}


def test_check_names_and_expectation_fields() -> None:
    assert CHECK_NAMES == (
        "circuit_breaker.opens",
        "circuit_breaker.fails_fast",
        "circuit_breaker.stops_traffic",
        "circuit_breaker.half_opens",
        "circuit_breaker.closes",
        "circuit_breaker.sequence",
    )
    assert EXPECTATION_KINDS["circuit_breaker"] is BreakerExpectation
    assert [(f.name, f.default) for f in dataclasses.fields(BreakerExpectation)][1:] == [
        ("opens_within_s", 2.0),
        ("fail_fast_p99_ms", 50.0),
        ("reset_timeout_s", 1.0),
        ("tolerance_s", 0.5),
        ("closes_within_s", 5.0),
        ("state_metric", None),
        ("metrics_url", None),
        ("endpoints", ()),
    ]


def test_healthy_breaker_passes_every_property() -> None:
    v = verdicts(observation())
    assert {name: x.passed for name, x in v.items()} == dict.fromkeys(v, True)
    assert v["opens"] == Verdict(
        "circuit_breaker.opens",
        True,
        "catalog breaker opens within 2 s of injection",
        "opened 0.325 s after injection",
        account="closed->open 0.300 s after, open->half-open 1.300 s after, "
        "half-open->open 1.600 s after injection, ... (7 in all)",
    )
    assert v["fails_fast"].observed == (
        "p99 3.0 ms (max 3.0 ms) over 141 requests in 3 open periods"
    )
    assert v["stops_traffic"].observed == (
        "0 arrivals at catalog inside 3 open periods (2.70 s after grace); 353 arrivals in all"
    )
    assert v["half_opens"].observed == "3 open periods half-opened after 0.980..0.980 s"
    assert v["closes"].observed == "last closed 0.905 s after the fault cleared; ends closed"
    assert v["sequence"].observed == "7 valid transitions: closed ->O ->H ->O ->H ->O ->H ->C"


def test_no_breaker_fails_every_property() -> None:
    # Models the no-breaker variant: every request reaches catalog through the fault. The
    # gateway's own account (breaker disabled) is shown beside, never the reason.
    v = verdicts(observation((), enabled=False))
    assert not any(x.passed for x in v.values())
    kept = (
        "traffic kept reaching catalog through the fault: 150 arrivals for 150 requests using "
        "it, longest silence 20 ms"
    )
    assert [x.observed for x in v.values()] == [
        "breaker never opened (0 transitions) while 150 requests on /api/browse were degraded "
        f"or failed during the fault; {kept}",
        f"breaker never opened: no open period to measure; {kept}",
        f"breaker never opened: no open period to measure; {kept}",
        f"breaker never opened: no open period to measure; {kept}",
        f"breaker never opened: nothing to close; {kept}",
        "no transition: the breaker never left closed",
    ]
    assert {x.account for x in v.values()} == {"no breaker on catalog"}


def test_breaker_that_never_trips_fails_opens_and_everything_after() -> None:
    # Models a breaker whose calls never fail (no-retry-cap retries until success) or whose
    # threshold is never reached: enabled, 0 transitions while requests degrade.
    v = verdicts(observation(()))
    assert not v["opens"].passed
    assert v["opens"].observed == (
        "breaker never opened (0 transitions) while 150 requests on /api/browse were degraded "
        "or failed during the fault; traffic kept reaching catalog through the fault: 150 "
        "arrivals for 150 requests using it, longest silence 20 ms"
    )
    assert v["fails_fast"].observed.startswith("breaker never opened: no open period to measure;")
    assert v["closes"].observed.startswith("breaker never opened: nothing to close;")
    assert v["sequence"].observed == "no transition: the breaker never left closed"
    assert not any(x.passed for x in v.values())


def test_breaker_opening_late_fails_opens() -> None:
    late = ((3.6, "closed", "open"), (4.6, "open", "half-open"), (4.62, "half-open", "closed"))
    v = verdicts(observation(late))
    assert (v["opens"].passed, v["opens"].observed) == (
        False,
        "first opened 2.625 s after injection",
    )
    assert v["sequence"].passed and v["half_opens"].passed


def test_breaker_tripped_before_the_fault_fails_opens() -> None:
    # A breaker already open when the fault came (tripped 0.8 s before it, e.g. by timeouts on a
    # starved host; never closes): the fault did not open it.
    v = verdicts(observation(((0.2, "closed", "open"),)))
    assert (v["opens"].passed, v["opens"].observed) == (
        False,
        "opened only before the fault (0.775 s before injection, not caused by it), not again "
        "while 150 requests on /api/browse were degraded or failed during the fault",
    )


def test_open_breaker_that_still_waits_fails_fails_fast() -> None:
    # Models a breaker that records "open" but still calls through (every request pays the
    # timeout). No lab variant does this; no-breaker fails fails_fast through "no breaker".
    v = verdicts(observation(slow_when_open=True))
    assert not v["fails_fast"].passed
    assert v["fails_fast"].observed == (
        "p99 330.0 ms (max 330.0 ms) over 141 requests in 3 open periods"
    )
    assert v["opens"].passed and v["stops_traffic"].passed


def test_traffic_reaching_the_dependency_while_open_fails_stops_traffic() -> None:
    # Models the gateway before it stopped retrying into an open breaker: calls admitted before
    # the trip keep sending retries 150 and 200 ms after it.
    def retries_after_trip(opens: list[tuple[float, float]]) -> list[float]:
        closed = [t for t in GRID if not any(a < t < b for a, b in opens)]
        return closed + [a + d for a, _ in opens for d in (0.15, 0.2)]

    v = verdicts(observation(arrival_times=retries_after_trip))
    assert not v["stops_traffic"].passed
    assert v["stops_traffic"].observed == (
        "6 arrivals at catalog inside 3 open periods (2.70 s after grace); 356 arrivals in all; "
        "first 150.0 ms after opening"
    )


def test_no_far_side_data_fails_stops_traffic() -> None:
    v = verdicts(observation(arrival_times=lambda opens: []))
    assert not v["stops_traffic"].passed
    assert v["stops_traffic"].observed == "no arrival at catalog recorded at all: not observed"


def test_breaker_that_never_closes_fails_half_opens_and_closes() -> None:
    # Models the breaker-never-closes variant: one open at +0.3 s, then nothing.
    v = verdicts(observation(((1.3, "closed", "open"),)))
    assert v["opens"].passed and v["fails_fast"].passed and v["stops_traffic"].passed
    assert v["sequence"].passed
    assert not v["half_opens"].passed
    assert v["half_opens"].observed == (
        "1 of 1 open period wrong: the open of 0.325 s after injection never half-opened "
        "although 384 requests came after its reset timeout"
    )
    assert not v["closes"].passed
    assert v["closes"].observed == ("open 5.000 s after the fault cleared; never closed; ends open")


def test_half_open_too_early_or_too_late_fails_half_opens() -> None:
    # A reset timeout of 0.4 s where 1 s was declared ...
    early = ((1.3, "closed", "open"), (1.7, "open", "half-open"), (4.5, "half-open", "closed"))
    v = verdicts(observation(early))
    assert (v["half_opens"].passed, v["half_opens"].observed) == (
        False,
        "1 of 1 open period wrong: half-opened 0.380 s after opening (early)",
    )
    # ... and 3.1 s, although a request came right after the 1 s reset timeout.
    late = ((1.3, "closed", "open"), (4.4, "open", "half-open"), (4.42, "half-open", "closed"))
    v = verdicts(observation(late))
    assert (v["half_opens"].passed, v["half_opens"].observed) == (
        False,
        "1 of 1 open period wrong: half-opened 3.080 s after opening, 2.080 s after the first "
        "call that could trigger it",
    )


def test_lazy_half_open_after_a_quiet_spell_passes() -> None:
    # pybreaker half-opens on the first call after the reset timeout: no request on catalog's
    # endpoints from 2.0 to 2.8 s, so the trial comes at 2.805 (1.505 s after opening).
    obs = observation(((1.3, "closed", "open"), (2.805, "open", "half-open")))
    quiet = tuple(
        r
        for r in obs.timeline
        if not (r.endpoint == "/api/browse" and T0 + 2.0 <= r.scheduled < T0 + 2.8)
    )
    closing = (
        *obs.dependencies["catalog"].transitions,
        BreakerTransition(T0 + 4.5, "half-open", "closed"),
    )
    snapshot = dataclasses.replace(obs.dependencies["catalog"], transitions=closing)
    v = verdicts(dataclasses.replace(obs, timeline=quiet, dependencies={"catalog": snapshot}))
    assert (v["half_opens"].passed, v["half_opens"].observed) == (
        True,
        "1 open period half-opened after 1.480..1.480 s",
    )


def test_closing_too_late_fails_closes() -> None:
    late = ((1.3, "closed", "open"), (9.5, "open", "half-open"), (9.52, "half-open", "closed"))
    v = verdicts(observation(late))
    assert (v["closes"].passed, v["closes"].observed) == (
        False,
        "open 5.000 s after the fault cleared; last closed 5.505 s after the fault cleared; "
        "ends closed",
    )


def test_an_invalid_transition_fails_sequence() -> None:
    # Models plain pybreaker under concurrency: a trial that succeeds after another trial
    # re-opened the breaker closes it straight from open.
    bad = (
        (1.3, "closed", "open"),
        (2.3, "open", "half-open"),
        (2.6, "half-open", "open"),
        (2.65, "open", "closed"),
    )
    v = verdicts(observation(bad))
    assert (v["sequence"].passed, v["sequence"].observed) == (
        False,
        "transition 4 of 4 at 1.650 s after injection: open->closed",
    )
    # A transition that does not start where the previous one ended is caught too.
    skipped = ((1.3, "closed", "open"), (2.3, "half-open", "closed"))
    v = verdicts(observation(skipped))
    assert v["sequence"].observed == (
        "transition 2 of 2 at 1.300 s after injection: half-open->closed (the breaker was open)"
    )


NO_STATE = (
    "not judged: what reached catalog and the service's account of it (the lab's /state); "
    "this target gives neither"
)
NO_FAULT = "not judged: a fault on catalog during the run (none took effect)"


@pytest.mark.parametrize(
    ("obs", "observed"),
    [
        (Observation((), (FAULT,), {}, USES), NO_STATE),
        (dataclasses.replace(observation(), faults=()), NO_FAULT),
    ],
)
def test_nothing_to_judge_judges_no_property(obs: Observation, observed: str) -> None:
    v = verdicts(obs)
    assert [(x.status, x.passed, x.observed) for x in v.values()] == [
        ("not-judged", False, observed)
    ] * 6


def test_the_fault_never_cleared_fails_closes() -> None:
    v = verdicts(observation(faults=(dataclasses.replace(FAULT, cleared_at=None),)))
    assert (v["closes"].passed, v["closes"].observed) == (False, "the fault was never cleared")


# build_observation: the supervisor's JSON documents -> Observation.


def test_build_observation_reads_state_and_stats_and_skips_malformed_entries() -> None:
    state = {
        "endpoints": {"/api/browse": ["catalog", "recommendations"], "/bad": "catalog"},
        "dependencies": {
            "catalog": {
                "breaker": {
                    "enabled": True,
                    "transitions": [
                        {"at": T0 + 2.0, "from": "open", "to": "half-open"},
                        {"at": T0 + 1.0, "from": "closed", "to": "open"},
                        {"at": "soon", "from": "closed", "to": "open"},
                    ],
                },
                "bulkhead": {"limit": 10, "max_in_flight": 7, "rejected": 3},
                "retries": 12,
                "timeouts": 4,
            },
            "auth": {"breaker": {"enabled": False}, "bulkhead": {"limit": None}},
            "broken": "not an object",
        },
    }
    stats = {
        "catalog": {
            "max_in_flight": 5,
            "arrivals": [
                {
                    "wall": T0 + 1.5,
                    "path": "/catalog",
                    "failed": True,
                    "request_id": "a-1",
                    "attempt": 2,
                },
                {
                    "wall": T0 + 1.4,
                    "path": "/catalog",
                    "failed": False,
                    "request_id": None,
                    "attempt": None,
                },
                {"mono": 3.0, "path": "/catalog"},
                {"wall": T0 + 1.6, "path": "/catalog", "attempt": True, "request_id": 7},
            ],
        }
    }
    obs = build_observation([], [FAULT], state, stats)
    catalog, auth = obs.dependencies["catalog"], obs.dependencies["auth"]
    assert set(obs.dependencies) == {"catalog", "auth"}
    assert obs.endpoints_using == {"/api/browse": ("catalog", "recommendations")}
    assert [(t.at - T0, t.from_state, t.to_state) for t in catalog.transitions] == [
        (1.0, "closed", "open"),
        (2.0, "open", "half-open"),
    ]
    assert (catalog.bulkhead_limit, catalog.bulkhead_rejected, catalog.gateway_max_in_flight) == (
        10,
        3,
        7,
    )
    assert (catalog.far_side_max_in_flight, catalog.retries, catalog.timeouts) == (5, 12, 4)
    assert catalog.arrivals == (
        Arrival(T0 + 1.4, "/catalog", False, None, None),
        Arrival(T0 + 1.5, "/catalog", True, "a-1", 2),
        Arrival(T0 + 1.6, "/catalog", False, None, None),
    )
    assert (auth.breaker_enabled, auth.bulkhead_limit, auth.arrivals) == (False, None, ())
    explicit = build_observation([], [], state, {}, {"/x": ("auth",)})
    assert explicit.endpoints_using == {"/x": ("auth",)}
    assert build_observation([], [], {}, stats).dependencies == {}


def test_build_observation_keeps_only_what_happened_during_the_run() -> None:
    # a long-lived lab: two earlier open periods, counters carried from earlier runs
    def state(retries: int, timeouts: int, rejected: int, *extra: dict[str, Any]) -> dict[str, Any]:
        earlier = [
            {"at": T0 - 60.0, "from": "closed", "to": "open"},
            {"at": T0 - 59.0, "from": "open", "to": "half-open"},
            {"at": T0 - 58.9, "from": "half-open", "to": "closed"},
        ]
        return {
            "dependencies": {
                "catalog": {
                    "breaker": {"enabled": True, "transitions": earlier + list(extra)},
                    "bulkhead": {"limit": 4, "max_in_flight": 4, "rejected": rejected},
                    "retries": retries,
                    "timeouts": timeouts,
                }
            }
        }

    during = {"at": T0 + 1.3, "from": "closed", "to": "open"}
    stats = {
        "catalog": {
            "arrivals": [
                {"wall": T0 - 30.0, "path": "/item", "failed": False},
                {"wall": T0 + 0.5, "path": "/item", "failed": False},
            ]
        }
    }
    obs = build_observation(
        [], [FAULT], state(15, 6, 9, during), stats, since=T0, baseline_state=state(10, 2, 9)
    )
    catalog = obs.dependencies["catalog"]
    assert catalog.transitions == (BreakerTransition(T0 + 1.3, "closed", "open"),)
    assert [a.at for a in catalog.arrivals] == [T0 + 0.5]
    assert (catalog.retries, catalog.timeouts, catalog.bulkhead_rejected) == (5, 4, 0)
    # without a run start, everything the service reports is taken (the old, wrong behaviour)
    everything = build_observation([], [FAULT], state(15, 6, 9, during), stats)
    assert len(everything.dependencies["catalog"].transitions) == 4
    # a counter that went down (the service restarted) never turns negative
    restarted = build_observation([], [FAULT], state(1, 0, 0), {}, baseline_state=state(10, 2, 9))
    assert restarted.dependencies["catalog"].retries == 0


def test_build_observation_takes_a_sampled_account_and_what_was_recorded() -> None:
    from chaosrun.record.read import RouteRecord

    arrivals = (Arrival(T0 + 0.5, "/catalog", False, "r-1", None, T0 + 0.51),)
    sampled = (BreakerTransition(T0 + 1.2, "closed", "open"),)
    obs = build_observation(
        timeline=(),
        faults=(FAULT,),
        gateway_state={},
        dependency_stats={},
        endpoints_using=USES,
        recorded={"catalog": RouteRecord(arrivals, 1, 1), "auth": RouteRecord((), 0, 0)},
        breaker_accounts={"catalog": (sampled, "m"), "search": ((), "n")},
    )
    catalog, auth, search = (obs.dependencies[n] for n in ("catalog", "auth", "search"))
    assert (catalog.arrivals, catalog.far_side_max_in_flight, catalog.recorded) == (
        arrivals,
        1,
        True,
    )
    assert (catalog.has_account, catalog.breaker_enabled, catalog.account_source) == (
        True,
        True,
        "m",
    )
    assert catalog.transitions == sampled
    assert (auth.has_account, auth.recorded, auth.arrivals) == (False, True, ())
    assert (search.has_account, search.recorded) == (True, False)


def test_a_breaker_expectation_checks_its_metric_selector_and_metrics_url() -> None:
    assert BreakerExpectation("catalog").invalid_fields() == []
    good = BreakerExpectation(
        "catalog",
        state_metric='resilience4j_circuitbreaker_state{name="catalog"}',
        metrics_url="https://svc.example/metrics",
    )
    assert good.invalid_fields() == []
    assert BreakerExpectation("c", metrics_url="http://127.0.0.1:9/m").invalid_fields() == []
    bad = BreakerExpectation("c", state_metric="{", metrics_url="ftp://x/metrics")
    assert bad.invalid_fields() == [
        ("state_metric", "expected a metric selector such as name{label=\"value\"}, got '{'"),
        ("metrics_url", "expected an http:// or https:// URL, got 'ftp://x/metrics'"),
    ]
