"""The breaker verdicts' parts called directly, at the edges the whole check seldom reaches:
open periods without requests, percentile and tolerance boundaries, the shared phrases."""

from __future__ import annotations

from chaosrun.checks._breaker_common import OpenPeriod, hit, names, open_periods, rel
from chaosrun.checks._breaker_open import IN_FLIGHT_GRACE_S, fails_fast, half_opens, stops_traffic
from chaosrun.checks._breaker_transitions import closes, opens, sequence
from chaosrun.checks.expectations import BreakerExpectation
from chaosrun.checks.observation import (
    Arrival,
    BreakerTransition,
    DependencySnapshot,
    Observation,
    Verdict,
)
from chaosrun.measure.timeline import RequestRecord

T0 = 1_796_017_540.0
EXPECT = BreakerExpectation("catalog", fail_fast_p99_ms=50.0, reset_timeout_s=1.0, tolerance_s=0.5)
E = ("/api/browse",)


def _obs(records: list[tuple[float, float, int, str, bool]]) -> Observation:
    timeline = tuple(
        RequestRecord(T0 + t, T0 + t, latency, status, error, "/api/browse", degraded)
        for t, latency, status, error, degraded in records
    )
    return Observation(timeline, (), {}, {"/api/browse": ("catalog",)})


def test_fails_fast_with_no_request_in_its_open_periods_fails_and_says_so() -> None:
    verdict = fails_fast(
        _obs([(5.0, 1.0, 200, "", False)]), EXPECT, [OpenPeriod(T0 + 1, T0 + 2)], T0 + 9, E
    )
    assert (verdict.check, verdict.passed, verdict.observed) == (
        "circuit_breaker.fails_fast",
        False,
        "no request during 1 open period",
    )
    assert verdict.expected == "while open, p99 of /api/browse <= 50 ms"
    never = fails_fast(_obs([]), EXPECT, [], T0 + 9, E)
    assert (never.passed, never.expected, never.observed) == (
        False,
        "while open, p99 of /api/browse <= 50 ms",
        "breaker never opened: no open period to measure",
    )


def test_fails_fast_is_the_p99_not_the_maximum_and_the_limit_itself_passes() -> None:
    # 100 requests in the open period: 99 at exactly the limit, one slow outlier.
    records = [(1.0 + i / 200, 50.0, 200, "", True) for i in range(99)]
    records.append((1.6, 900.0, 200, "", True))
    verdict = fails_fast(_obs(records), EXPECT, [OpenPeriod(T0 + 1, T0 + 2)], T0 + 9, E)
    assert (verdict.passed, verdict.observed) == (
        True,
        "p99 50.0 ms (max 900.0 ms) over 100 requests in 1 open period",
    )


def test_half_opens_with_no_traffic_after_the_reset_timeout_judges_no_period() -> None:
    # Half-open 2 s after opening, past due + tolerance, and no request came after due.
    records = [(1.0 + i / 10, 2.0, 200, "", True) for i in range(5)]
    verdict = half_opens(_obs(records), EXPECT, [OpenPeriod(T0 + 1, T0 + 3)], E, T0 + 0.5)
    assert (verdict.check, verdict.passed, verdict.expected, verdict.observed) == (
        "circuit_breaker.half_opens",
        False,
        "half-open 1 s +- 0.5 s after each open",
        "1 open period, none with traffic after its reset timeout",
    )


def test_half_opens_tolerance_edges_are_inclusive() -> None:
    records = [(1.0 + i / 10, 2.0, 200, "", True) for i in range(5)]
    obs = _obs(records)
    # Exactly due - tolerance (0.5 s after opening): not early.
    early_edge = half_opens(obs, EXPECT, [OpenPeriod(T0 + 1, T0 + 1.5)], E, T0)
    assert early_edge.passed, early_edge.observed
    # No request after due, half-open exactly at due + tolerance: counted (outside traffic).
    late_edge = half_opens(obs, EXPECT, [OpenPeriod(T0 + 1, T0 + 2.5)], E, T0)
    assert (late_edge.passed, late_edge.observed) == (
        True,
        "1 open period half-opened after 1.500..1.500 s",
    )
    # Only requests on the endpoints that use the dependency can trigger it.
    other = Observation(
        tuple(RequestRecord(T0 + 2.1, T0 + 2.1, 2.0, 200, "", "/api/profile") for _ in range(1)),
        (),
        {},
        {},
    )
    verdict = half_opens(other, EXPECT, [OpenPeriod(T0 + 1, None)], E, T0)
    assert verdict.observed == "1 open period, none with traffic after its reset timeout"


def test_hit_counts_degraded_and_failed_requests_only() -> None:
    records = [
        (1.0, 2.0, 200, "", False),  # fine
        (1.1, 2.0, 200, "", True),  # degraded
        (1.2, 2.0, 0, "timeout", False),  # failed
        (1.3, 2.0, 500, "", False),  # failed
        (3.0, 2.0, 500, "", False),  # outside the window
    ]
    assert hit(_obs(records), E, T0 + 1.0, T0 + 2.0) == 3


def test_phrases() -> None:
    assert names(()) == "(no endpoint uses it)"
    assert names(("/a", "/b")) == "/a, /b"
    assert rel(0.0) == "0.000 s after"
    assert rel(-0.25) == "0.250 s before"
    assert rel(1.5) == "1.500 s after"


def test_open_periods_end_at_any_transition_out_of_open() -> None:
    ts = [
        BreakerTransition(1.0, "closed", "open"),
        BreakerTransition(2.0, "open", "half-open"),
        BreakerTransition(2.1, "half-open", "open"),
        BreakerTransition(3.0, "open", "closed"),
        BreakerTransition(4.0, "closed", "open"),
    ]
    assert open_periods(ts) == [
        OpenPeriod(1.0, 2.0),
        OpenPeriod(2.1, 3.0),
        OpenPeriod(4.0, None),
    ]


def _t(*steps: tuple[float, str, str]) -> list[BreakerTransition]:
    return [BreakerTransition(T0 + at, frm, to) for at, frm, to in steps]


def test_opens_edges_a_trip_at_injection_and_exactly_at_the_limit_count() -> None:
    obs = _obs([(1.5, 300.0, 200, "", True)])
    expected = "catalog breaker opens within 2 s of injection"
    at_injection = opens(obs, EXPECT, _t((1.0, "closed", "open")), T0 + 1, T0 + 4, T0 + 9, E)
    assert (at_injection.passed, at_injection.expected, at_injection.observed) == (
        True,
        expected,
        "opened 0.000 s after injection",
    )
    limit = opens(obs, EXPECT, _t((3.0, "closed", "open")), T0 + 1, T0 + 4, T0 + 9, E)
    assert (limit.passed, limit.observed) == (True, "opened 2.000 s after injection")
    late = opens(obs, EXPECT, _t((3.5, "closed", "open")), T0 + 1, T0 + 4, T0 + 9, E)
    assert (late.passed, late.expected, late.observed) == (
        False,
        expected,
        "first opened 2.500 s after injection",
    )
    never = opens(obs, EXPECT, [], T0 + 1, T0 + 4, T0 + 9, E)
    assert (never.expected, never.observed) == (
        expected,
        "breaker never opened (0 transitions) while 1 request on /api/browse were degraded or "
        "failed during the fault",
    )


def test_closes_edges() -> None:
    expected = "closed within 5 s after the fault cleared, and ends closed"
    never_cleared = closes(EXPECT, _t((1.0, "closed", "open")), None, T0 + 9)
    assert (never_cleared.expected, never_cleared.observed) == (
        expected,
        "the fault was never cleared",
    )
    never_opened = closes(EXPECT, [], T0 + 1, T0 + 9)
    assert (never_opened.passed, never_opened.expected, never_opened.observed) == (
        False,
        expected,
        "breaker never opened: nothing to close",
    )
    # Closed exactly at the deadline (cleared + 5 s): in time.
    edge = _t((1.0, "closed", "open"), (2.0, "open", "half-open"), (7.0, "half-open", "closed"))
    assert closes(EXPECT, edge, T0 + 2.0, T0 + 9).passed
    # Still half-open when the observation ended, before the deadline: said so, with the time.
    short = _t((1.0, "closed", "open"), (2.0, "open", "half-open"))
    verdict = closes(EXPECT, short, T0 + 2.0, T0 + 4.0)
    assert (verdict.passed, verdict.expected, verdict.observed) == (
        False,
        expected,
        "half-open at the end of the observation, 2.000 s after the fault cleared; never "
        "closed; ends half-open",
    )
    # The observation ends exactly at the deadline: the ordinary sentence.
    verdict = closes(EXPECT, short, T0 + 2.0, T0 + 7.0)
    assert (
        verdict.observed
        == "half-open 5.000 s after the fault cleared; never closed; ends half-open"
    )
    # First opened after the deadline: closed at the deadline, open at the end.
    late = _t((8.0, "closed", "open"))
    verdict = closes(EXPECT, late, T0 + 2.0, T0 + 9.0)
    assert (verdict.passed, verdict.observed) == (
        False,
        "closed 5.000 s after the fault cleared; never closed; ends open",
    )


def test_sequence_sentences() -> None:
    expected = "only closed->open, open->half-open, half-open->closed, half-open->open"
    none = sequence([], T0)
    assert (none.passed, none.expected, none.observed) == (
        False,
        expected,
        "no transition: the breaker never left closed",
    )
    bad = sequence(_t((1.0, "closed", "open"), (2.0, "open", "closed")), T0)
    assert (bad.passed, bad.expected) == (False, expected)

    def step(i: int) -> tuple[str, str]:
        if i == 0:
            return ("closed", "open")
        return ("open", "half-open") if i % 2 else ("half-open", "open")

    twelve = [(1.0 + i, *step(i)) for i in range(12)]
    flips = _t(*twelve)
    assert sequence(flips, T0).observed == (
        "12 valid transitions: closed ->O ->H ->O ->H ->O ->H ->O ->H ->O ->H ->O ->H"
    )
    thirteen = sequence(_t(*twelve, (13.0, "half-open", "weird")), T0)
    assert thirteen.observed.startswith("transition 13 of 13 at 13.000 s after injection")
    more = _t(*twelve, (13.0, "half-open", "open"))
    assert sequence(more, T0).observed.endswith("->O ->H ... (13 in all)")


def test_half_opens_late_edge_counts_from_the_first_call_that_could_trigger_it() -> None:
    # A call exactly at due (1 s after opening); half-open exactly tolerance after it: in time.
    obs = _obs([(2.0, 2.0, 200, "", True), (2.25, 2.0, 200, "", True)])
    assert half_opens(obs, EXPECT, [OpenPeriod(T0 + 1, T0 + 2.5)], E, T0).passed
    late = half_opens(obs, EXPECT, [OpenPeriod(T0 + 1, T0 + 2.5 + 2**-20)], E, T0)
    assert not late.passed


def test_open_part_verdicts_without_an_open_period_or_an_arrival() -> None:
    obs = _obs([(1.0, 2.0, 200, "", True)])
    never = "breaker never opened: no open period to measure"
    assert half_opens(obs, EXPECT, [], E, T0) == Verdict(
        "circuit_breaker.half_opens", False, "half-open 1 s +- 0.5 s after each open", never
    )
    stops = "no arrival at catalog while open (after 100 ms grace)"
    assert stops_traffic(obs, EXPECT, [], T0 + 9) == Verdict(
        "circuit_breaker.stops_traffic", False, stops, never
    )
    silent = Observation(obs.timeline, (), {"catalog": _snapshot(())}, obs.endpoints_using)
    assert stops_traffic(silent, EXPECT, [OpenPeriod(T0 + 1, T0 + 2)], T0 + 9) == Verdict(
        "circuit_breaker.stops_traffic",
        False,
        stops,
        "no arrival at catalog recorded at all: not observed",
    )
    early = half_opens(obs, EXPECT, [OpenPeriod(T0 + 1, T0 + 1.25)], E, T0)
    assert early == Verdict(
        "circuit_breaker.half_opens",
        False,
        "half-open 1 s +- 0.5 s after each open",
        "1 of 1 open period wrong: half-opened 0.250 s after opening (early)",
    )


def _snapshot(at: tuple[float, ...]) -> DependencySnapshot:
    return DependencySnapshot(
        name="catalog",
        breaker_enabled=True,
        transitions=(),
        bulkhead_limit=None,
        bulkhead_rejected=0,
        gateway_max_in_flight=0,
        far_side_max_in_flight=1,
        arrivals=tuple(Arrival(t, "/catalog", False) for t in at),
    )


def test_stops_traffic_grace_edge_and_the_period_a_stray_arrival_belongs_to() -> None:
    periods = [OpenPeriod(T0 + 1, T0 + 2), OpenPeriod(T0 + 3, T0 + 5)]
    # Exactly at the end of the first period's grace: still in flight, not stray.
    edge = _snapshot((T0 + 1 + IN_FLIGHT_GRACE_S, T0 + 6))
    obs = Observation((), (), {"catalog": edge}, {})
    assert stops_traffic(obs, EXPECT, periods, T0 + 9).observed.startswith("0 arrivals")
    # Two strays in the second period: the first is dated from that period's opening.
    stray = _snapshot((T0 + 4.0, T0 + 4.5, T0 + 6))
    obs = Observation((), (), {"catalog": stray}, {})
    assert stops_traffic(obs, EXPECT, periods, T0 + 9).observed == (
        "2 arrivals at catalog inside 2 open periods (2.80 s after grace); 3 arrivals in all; "
        "first 1000.0 ms after opening"
    )
