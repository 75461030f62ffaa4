"""Open periods of a breaker seen from outside the service (chaosrun.checks._breaker_observed),
and the breaker verdicts on a target that gives no account of itself."""

from __future__ import annotations

import dataclasses

from chaosrun.checks._breaker_common import OpenPeriod
from chaosrun.checks._breaker_observed import (
    GRACE_S,
    MIN_SILENCE_S,
    MIN_SKIPPED,
    observed_periods,
    transitions_of,
)
from chaosrun.checks.circuit_breaker import check_circuit_breaker
from chaosrun.checks.expectations import BreakerExpectation
from chaosrun.checks.observation import Arrival, BreakerTransition, FaultWindow
from tests.unit.test_check_breaker import T0, observation

CALLS = [0.01 * i for i in range(1, 400)]  # a request every 10 ms, 0.01 .. 3.99 s


def _arrivals(times: list[float]) -> list[Arrival]:
    return [Arrival(t, "/d", False) for t in times]


def test_constants_are_what_the_module_documents() -> None:
    assert (GRACE_S, MIN_SKIPPED, MIN_SILENCE_S) == (0.1, 3, 0.25)


def test_a_silence_while_requests_keep_coming_is_an_open_period() -> None:
    # Every request reaches the dependency 2 ms later, except from 1.0 to 2.0 s (the trial).
    times = [t + 0.002 for t in CALLS if not 1.0 <= t < 2.0]
    periods = observed_periods(_arrivals(times), CALLS, start=0.5, end=4.0)
    # Opens at the first request after the last arrival (0.992), the trial at 2.002.
    assert periods == [OpenPeriod(CALLS[99], 2.002)]
    assert transitions_of(periods) == (
        BreakerTransition(CALLS[99], "closed", "open"),
        BreakerTransition(2.002, "open", "half-open"),
        BreakerTransition(2.002, "half-open", "closed"),
    )


def test_a_short_gap_or_too_few_skipped_requests_is_no_open_period() -> None:
    # A 240 ms gap (a full bulkhead until a slot frees) is shorter than MIN_SILENCE_S.
    times = [t + 0.002 for t in CALLS if not 1.0 <= t < 1.24]
    assert observed_periods(_arrivals(times), CALLS, start=0.5, end=4.0) == []
    # A long gap with only two requests in it: the traffic paused, not the breaker.
    sparse = [0.5, 1.0, 1.5, 3.0]
    assert observed_periods(_arrivals([0.5, 3.0]), sparse, start=0.4, end=4.0) == []
    # Three are enough.
    periods = observed_periods(_arrivals([0.5, 3.0]), [*sparse, 2.0], start=0.4, end=4.0)
    assert periods == [OpenPeriod(1.0, 3.0)]


def test_requests_scheduled_within_the_grace_before_the_next_arrival_are_not_skipped() -> None:
    # The next arrival at 2.0 may be the request scheduled at 1.95: it is the trial, not skipped.
    calls = [1.0, 1.1, 1.95]
    assert observed_periods(_arrivals([0.9, 2.0]), calls, start=0.5, end=3.0) == []
    assert observed_periods(_arrivals([0.9, 2.0]), [*calls, 1.2], start=0.5, end=3.0) == [
        OpenPeriod(1.0, 2.0)
    ]


def test_still_silent_at_the_end_is_open_to_the_end_and_repeated_silences_reopen() -> None:
    times = [t + 0.002 for t in CALLS if not (1.0 <= t < 2.0 or t >= 2.2)]
    periods = observed_periods(_arrivals(times), CALLS, start=0.5, end=4.0)
    assert [p.end for p in periods] == [2.002, None]
    assert [(t.from_state, t.to_state) for t in transitions_of(periods)] == [
        ("closed", "open"),
        ("open", "half-open"),
        ("half-open", "open"),
    ]


def test_a_silence_that_began_before_the_fault_is_seen_to_begin_there() -> None:
    times = [t + 0.002 for t in CALLS if t < 0.3]
    (period,) = observed_periods(_arrivals(times), CALLS, start=1.0, end=4.0)
    assert period.start < 1.0 and period.end is None


EXPECT = BreakerExpectation("catalog")


def test_without_the_services_account_five_verdicts_are_judged_from_behaviour() -> None:
    # An external target: what reached catalog was recorded; the service says nothing.
    healthy = observation()
    silent = dataclasses.replace(
        healthy.dependencies["catalog"],
        has_account=False,
        breaker_enabled=False,
        transitions=(),
    )
    verdicts = check_circuit_breaker(
        dataclasses.replace(healthy, dependencies={"catalog": silent}), EXPECT
    )
    assert [(v.check, v.status) for v in verdicts] == [
        ("circuit_breaker.opens", "passed"),
        ("circuit_breaker.fails_fast", "passed"),
        ("circuit_breaker.stops_traffic", "passed"),
        ("circuit_breaker.half_opens", "passed"),
        ("circuit_breaker.closes", "passed"),
        ("circuit_breaker.sequence", "not-judged"),
    ]
    assert verdicts[5].observed == (
        "not judged: the service's breaker states (a breaker's transitions are not visible "
        "outside it)"
    )
    assert {v.account for v in verdicts} == {None}


def test_an_account_that_claims_open_while_traffic_arrives_fails_stops_traffic() -> None:
    # The service reports a breaker open from 1.3 s on, but every request kept reaching catalog.
    obs = observation(
        ((1.3, "closed", "open"),),
        arrival_times=lambda opens: [0.005 + 0.02 * i for i in range(500)],
    )
    verdicts = {v.check: v for v in check_circuit_breaker(obs, EXPECT)}
    stops = verdicts["circuit_breaker.stops_traffic"]
    assert stops.status == "failed"
    assert stops.observed.startswith("430 arrivals at catalog inside 1 open period")
    assert verdicts["circuit_breaker.opens"].status == "failed"  # nothing was seen to open


def test_not_recorded_or_a_blocking_fault_judges_no_breaker_verdict() -> None:
    healthy = observation()
    blind = dataclasses.replace(healthy.dependencies["catalog"], recorded=False)
    verdicts = check_circuit_breaker(
        dataclasses.replace(healthy, dependencies={"catalog": blind}), EXPECT
    )
    assert {(v.status, v.observed) for v in verdicts} == {
        (
            "not-judged",
            "not judged: what reached catalog (not recorded): an open breaker is a silence there",
        )
    }
    down = FaultWindow("proxy_down", "catalog", T0 + 1.0, T0 + 4.0)
    verdicts = check_circuit_breaker(dataclasses.replace(healthy, faults=(down,)), EXPECT)
    assert {(v.status, v.observed) for v in verdicts} == {
        (
            "not-judged",
            "not judged: a fault that lets requests reach catalog (proxy_down stops them all: "
            "an open breaker cannot be told from it there)",
        )
    }


def test_a_sampled_account_is_shown_but_judges_neither_stops_traffic_nor_sequence() -> None:
    # The service's breaker state read from its metrics every 100 ms: the half-open trials fall
    # between samples, so its "open" spans them. stops_traffic then rests on the observed
    # silences (it would count the trials), and sequence is not judged.
    healthy = observation()
    sampled = (
        BreakerTransition(T0 + 1.4, "closed", "open"),
        BreakerTransition(T0 + 5.0, "open", "closed"),
    )
    snapshot = dataclasses.replace(
        healthy.dependencies["catalog"], transitions=sampled, account_source='m{d="catalog"}'
    )
    verdicts = check_circuit_breaker(
        dataclasses.replace(healthy, dependencies={"catalog": snapshot}), EXPECT
    )
    assert [v.status for v in verdicts] == ["passed"] * 5 + ["not-judged"]
    assert verdicts[2].observed.startswith("0 arrivals at catalog inside 3 open periods")
    assert verdicts[5].observed == (
        'not judged: the service\'s recorded transitions (m{d="catalog"} is sampled: a state '
        "between two samples is missed, so no illegal transition can be told)"
    )
    assert {v.account for v in verdicts} == {
        'closed->open 0.400 s after, open->closed 4.000 s after injection (per m{d="catalog"})'
    }


def test_the_edges_of_a_silence_are_exact() -> None:
    # A silence of exactly MIN_SILENCE_S is one (1.0 -> the trial at 1.25).
    assert observed_periods(_arrivals([0.9, 1.25]), [1.0, 1.05, 1.1], 0.5, 3.0) == [
        OpenPeriod(1.0, 1.25)
    ]
    # Its length runs from the first skipped request: 0.28 from 1.0, though 0.23 from 1.05.
    assert observed_periods(_arrivals([0.9, 1.28]), [1.0, 1.05, 1.1], 0.5, 3.0) == [
        OpenPeriod(1.0, 1.28)
    ]
    # A request exactly GRACE_S before the next arrival may be that arrival: not skipped.
    assert observed_periods(_arrivals([0.9, 2.0]), [1.0, 1.1, 2.0 - GRACE_S], 0.5, 3.0) == []
    # A trial arriving exactly at the end of the observation still ends the silence.
    assert observed_periods(_arrivals([0.9, 2.0]), [1.0, 1.1, 1.2], 0.5, 2.0) == [
        OpenPeriod(1.0, 2.0)
    ]
    # After the last arrival, requests up to the very end count (no trial can follow them).
    assert observed_periods(_arrivals([0.9]), [1.0, 1.1, 1.95], 0.5, 2.0) == [OpenPeriod(1.0, None)]


def test_what_each_breaker_verdict_expects_is_stated_in_full() -> None:
    assert [v.expected for v in check_circuit_breaker(observation(), EXPECT)] == [
        "catalog breaker opens within 2 s of injection",
        "while open, p99 of /api/browse <= 50 ms",
        "no arrival at catalog while open (after 100 ms grace)",
        "half-open 1 s +- 0.5 s after each open",
        "closed within 5 s after the fault cleared, and ends closed",
        "only closed->open, open->half-open, half-open->closed, half-open->open",
    ]


def test_silences_count_only_the_requests_that_use_the_dependency() -> None:
    # /api/profile (auth only) sends nothing: the silences at catalog are still seen from the
    # requests on /api/browse, and only from them.
    healthy = observation()
    browse_only = tuple(r for r in healthy.timeline if r.endpoint == "/api/browse")
    verdicts = check_circuit_breaker(dataclasses.replace(healthy, timeline=browse_only), EXPECT)
    assert [v.status for v in verdicts] == ["passed"] * 6


def test_every_blocking_fault_is_named() -> None:
    faults = (
        FaultWindow("proxy_down", "catalog", T0 + 1.0, T0 + 2.0),
        FaultWindow("enable_proxy", "catalog", T0 + 2.0, T0 + 3.0),
        FaultWindow("latency", "catalog", T0 + 3.0, T0 + 4.0),
    )
    verdicts = check_circuit_breaker(dataclasses.replace(observation(), faults=faults), EXPECT)
    assert verdicts[0].observed == (
        "not judged: a fault that lets requests reach catalog (enable_proxy, proxy_down stops "
        "them all: an open breaker cannot be told from it there)"
    )


def test_an_account_of_three_transitions_is_shown_whole() -> None:
    three = ((1.3, "closed", "open"), (2.3, "open", "half-open"), (2.32, "half-open", "closed"))
    (first, *_) = check_circuit_breaker(observation(three), EXPECT)
    assert first.account == (
        "closed->open 0.300 s after, open->half-open 1.300 s after, half-open->closed "
        "1.320 s after injection"
    )
