"""chaosrun.measure.sli on synthetic timelines: window stats, trailing-window SLO, impact window."""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaosrun.measure.sli import (
    Impact,
    LatencyObjective,
    SloSpec,
    WindowStats,
    impact_window,
    slo_series,
    window_stats,
)
from chaosrun.measure.timeline import RequestRecord
from chaosrun.model import Slo
from tests.unit.timelines import T0, failed, ok, synthetic

# --- window_stats -------------------------------------------------------------------------------


def test_window_stats_percentiles_of_a_known_distribution() -> None:
    latencies = list(range(1, 1001))  # 1 .. 1000 ms, each once
    random.Random(7).shuffle(latencies)
    records = [ok(T0 + i * 0.01, float(ms)) for i, ms in enumerate(latencies)]
    stats = window_stats(records, T0, T0 + 10.0)
    assert (stats.count, stats.ok, stats.errors, stats.availability) == (1000, 1000, 0, 1.0)
    assert stats.rate_per_s == pytest.approx(100.0)
    # nearest rank, reported as the upper end of a 3-significant-digit bucket
    for got, exact in [
        (stats.p50_ms, 500),
        (stats.p90_ms, 900),
        (stats.p95_ms, 950),
        (stats.p99_ms, 990),
        (stats.p999_ms, 999),
        (stats.max_ms, 1000),
    ]:
        assert got is not None
        assert exact <= got <= exact * 1.001
    assert stats.max_lag_ms == pytest.approx(0.1, abs=1e-3)


def test_window_stats_is_half_open_and_counts_failures_outside_latency() -> None:
    records = [
        ok(T0, 10.0),
        ok(T0 + 0.5, 20.0, degraded=True),
        failed(T0 + 0.7, 2000.0),
        ok(T0 + 1.0, 999.0),  # at `end`: excluded
    ]
    stats = window_stats(records, T0, T0 + 1.0)
    assert (stats.count, stats.ok, stats.errors, stats.degraded) == (3, 2, 1, 1)
    assert stats.availability == pytest.approx(2 / 3)
    assert stats.max_ms == pytest.approx(20.0, rel=1e-3)  # the failure's 2 s is not a latency
    assert stats.rate_per_s == pytest.approx(3.0)


def test_window_stats_of_an_empty_window() -> None:
    stats = window_stats([ok(T0)], T0 + 1, T0 + 2)
    assert (stats.count, stats.availability, stats.p99_ms, stats.max_lag_ms) == (
        0,
        None,
        None,
        None,
    )
    assert stats.rate_per_s == 0.0
    json.dumps(stats.to_dict())


def test_window_stats_clamps_latencies_beyond_the_histogram() -> None:
    stats = window_stats([ok(T0, 120_000.0)], T0, T0 + 1)
    assert stats.max_ms == pytest.approx(60_000.0, rel=1e-3)


# --- SloSpec ------------------------------------------------------------------------------------


def test_slo_spec_from_slo() -> None:
    spec = SloSpec.from_slo(Slo(0.99, (("p99", 500.0), ("p999", 900.0), ("p50", 50.0))))
    assert spec.availability == 0.99
    assert spec.window_s == 1.0
    assert [(o.name, o.limit_ms, o.allowed_over) for o in spec.latency] == [
        ("p99", 500.0, Fraction(1, 100)),
        ("p999", 900.0, Fraction(1, 1000)),
        ("p50", 50.0, Fraction(1, 2)),
    ]
    assert spec.strictest_ms == 50.0
    assert SloSpec.from_slo(Slo(0.9), window_s=2.5).window_s == 2.5
    assert SloSpec.from_slo(Slo(0.9)).strictest_ms is None


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"availability": None},
            "an SLO needs an availability floor, a latency objective or a degraded ceiling",
        ),
        ({"availability": None, "max_degraded": 1.0}, "max_degraded must be in [0, 1), got 1.0"),
        ({"availability": None, "max_degraded": -0.1}, "max_degraded must be in [0, 1), got -0.1"),
        ({"availability": 1.5}, "availability must be in (0, 1], got 1.5"),
        ({"availability": 0.9, "window_s": 0.0}, "window_s must be > 0 and min_requests >= 1"),
    ],
)
def test_slo_spec_rejects(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as info:
        SloSpec(**kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message


@pytest.mark.parametrize("name", ["p00", "x99", "p", "p0", "p9x"])
def test_latency_objective_rejects(name: str) -> None:
    with pytest.raises(ValueError) as info:
        LatencyObjective.parse(name, 100.0)
    assert str(info.value) == f"invalid latency objective {name} <= 100.0 ms"


# --- slo_series ---------------------------------------------------------------------------------


def test_slo_series_counts_the_trailing_window() -> None:
    spec = SloSpec(0.9, window_s=1.0, min_requests=1)
    records = synthetic(8, 3)  # every 0.125 s: exact in binary, so the window edges are exact
    points = slo_series(records, spec)
    assert len(points) == 24
    assert [p.count for p in points[:11]] == [1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 8]
    assert all(p.met for p in points)


def test_slo_series_availability_floor_is_exact() -> None:
    spec = SloSpec(0.9, window_s=10.0, min_requests=10)
    # 10 requests, one failed: availability 0.9 exactly meets a 0.9 floor
    records = [failed(T0)] + [ok(T0 + i) for i in range(1, 10)]
    assert slo_series(records, spec)[-1].met is True
    records = [failed(T0), failed(T0 + 1)] + [ok(T0 + i) for i in range(2, 10)]
    last = slo_series(records, spec)[-1]
    assert (last.met, last.availability, last.count) == (False, 0.8, 10)


def test_slo_series_percentile_from_counts() -> None:
    spec = SloSpec(None, (LatencyObjective.parse("p90", 100.0),), window_s=100.0, min_requests=1)
    # 1 of 10 slower than 100 ms: p90 (nearest rank = 9th value) is still fast
    records = [ok(T0 + i, 10.0) for i in range(9)] + [ok(T0 + 9, 500.0)]
    last = slo_series(records, spec)[-1]
    assert last.met is True and last.over == (("p90", 0.1),)
    assert window_stats(records, T0, T0 + 10).p90_ms == pytest.approx(10.0, rel=1e-3)
    records[0] = failed(T0)  # failures count as slower than every threshold: 2 of 10 over
    last = slo_series(records, spec)[-1]
    assert last.met is False and last.over == (("p90", 0.2),)


def test_slo_series_sparse_traffic_is_not_enough_data() -> None:
    spec = SloSpec(0.99, window_s=1.0, min_requests=10)
    sparse = synthetic(5, 10, bad=lambda rel: rel >= 5)  # 5 req/s: never 10 in a 1 s window
    assert {p.met for p in slo_series(sparse, spec)} == {None}
    dense = synthetic(20, 2)
    met = [p.met for p in slo_series(dense, spec)]
    assert met[:9] == [None] * 9  # warming up: fewer than 10 requests in the window
    assert set(met[9:]) == {True}


def test_slo_series_one_point_per_scheduled_time() -> None:
    spec = SloSpec(0.5, window_s=1.0, min_requests=1)
    points = slo_series([ok(T0), failed(T0), ok(T0 + 0.5)], spec)
    assert [(p.t - T0, p.count, p.availability) for p in points] == [(0.0, 2, 0.5), (0.5, 3, 2 / 3)]


def test_slo_series_of_nothing() -> None:
    assert slo_series([], SloSpec(0.99)) == []


# --- impact_window ------------------------------------------------------------------------------


def test_impact_window_of_a_clean_outage() -> None:
    records = synthetic(200, 5, bad=lambda rel: 2.0 <= rel < 3.0)
    impact = impact_window(records, T0, T0 + 5)
    assert impact is not None and impact.duration_s is not None
    assert abs(impact.duration_s - 1.0) <= 1 / 200
    assert impact.bad == 200
    assert impact.first_bad - T0 == pytest.approx(2.0, abs=1e-6)


def test_impact_window_latency_threshold_and_open_end() -> None:
    records = synthetic(100, 3, latency_ms=lambda rel: 800.0 if rel >= 2.0 else 20.0)
    assert impact_window(records, T0, T0 + 3) is None  # all ok
    impact = impact_window(records, T0, T0 + 3, slow_ms=500.0)
    assert impact is not None
    assert (impact.ended, impact.duration_s, impact.bad) == (None, None, 100)


@settings(max_examples=200, deadline=None)
@given(
    rate=st.sampled_from([20.0, 50.0, 100.0, 200.0, 500.0]),
    outage_start=st.floats(min_value=0.5, max_value=3.0),
    outage_s=st.floats(min_value=0.05, max_value=4.0),
)
def test_impact_duration_is_within_one_interval_of_the_outage(
    rate: float, outage_start: float, outage_s: float
) -> None:
    interval = 1.0 / rate
    records = synthetic(
        rate,
        outage_start + outage_s + 1.0,
        bad=lambda rel: outage_start <= rel < outage_start + outage_s,
    )
    impact = impact_window(records, T0, math.inf)
    assert impact is not None and impact.duration_s is not None
    assert abs(impact.duration_s - outage_s) <= interval + 1e-6
    assert abs(impact.first_bad - T0 - outage_start) <= interval + 1e-6


# --- exact edges (each pins one decision of the code; see tests/unit/MUTATION.md) ----------------


def test_window_stats_zero_and_negative_latencies_are_zero() -> None:
    stats = window_stats([ok(T0, 0.0), ok(T0 + 0.25, -3.0)], T0, T0 + 1)
    assert (stats.p50_ms, stats.p999_ms, stats.max_ms) == (0.0, 0.0, 0.0)


def test_window_stats_max_lag_is_the_largest_not_the_last() -> None:
    records = [
        RequestRecord(T0, T0 + 2**-8, 5.0, 200, "", "/a"),  # lag 3.90625 ms
        RequestRecord(T0 + 0.5, T0 + 0.5 + 2**-10, 5.0, 200, "", "/a"),  # lag 0.9765625 ms
    ]
    assert window_stats(records, T0, T0 + 1).max_lag_ms == 3.90625


def test_window_stats_of_a_zero_length_window_has_rate_zero() -> None:
    stats = window_stats([ok(T0)], T0, T0)
    assert (stats.count, stats.rate_per_s) == (0, 0.0)


def test_window_stats_to_dict_rounds_each_figure() -> None:
    stats = WindowStats(
        start=1796017540.1234,
        end=1796017542.6788,
        count=7,
        ok=5,
        errors=2,
        degraded=1,
        availability=5 / 7,
        rate_per_s=2.73926,
        max_lag_ms=1.23456,
        p50_ms=5.0004,
        p90_ms=7.12345,
        p95_ms=8.9996,
        p99_ms=10.2224,
        p999_ms=11.0006,
        max_ms=12.3456,
    )
    assert stats.to_dict() == {
        "start": 1796017540.123,
        "end": 1796017542.679,
        "duration_s": 2.555,  # 2.5554
        "requests": 7,
        "ok": 5,
        "errors": 2,
        "degraded": 1,
        "availability": 0.714286,  # 5 / 7 = 0.7142857...
        "rate_per_s": 2.739,
        "max_lag_ms": 1.235,
        "latency_ms": {
            "p50": 5.0,
            "p90": 7.123,
            "p95": 9.0,
            "p99": 10.222,
            "p999": 11.001,
            "max": 12.346,
        },
    }
    empty = window_stats([], T0, T0 + 2).to_dict()
    assert (empty["availability"], empty["max_lag_ms"], empty["latency_ms"]) == (
        None,
        None,
        {"p50": None, "p90": None, "p95": None, "p99": None, "p999": None, "max": None},
    )


def test_latency_objective_limits_and_single_digit_percentiles() -> None:
    with pytest.raises(ValueError) as info:
        LatencyObjective.parse("p99", 0.0)
    assert str(info.value) == "invalid latency objective p99 <= 0.0 ms"
    assert LatencyObjective.parse("p99", 0.5) == LatencyObjective("p99", 0.5, Fraction(1, 100))
    # p5: the 5th percentile, 5/100 (not 5/10): 95 % of the requests may be slower
    assert LatencyObjective.parse("p5", 10).allowed_over == Fraction(19, 20)


def test_slo_spec_bounds_are_as_documented() -> None:
    with pytest.raises(ValueError) as info:
        SloSpec(0.0)
    assert str(info.value) == "availability must be in (0, 1], got 0.0"
    assert SloSpec(1.0).availability == 1.0
    assert SloSpec(None, max_degraded=0.0).max_degraded == 0.0  # no fallback answer allowed
    spec = SloSpec.from_slo(Slo(None, max_degraded=0.25))
    assert (spec.max_degraded, spec.min_requests, spec.window_s) == (0.25, 10, 1.0)


def test_slo_spec_objectives_name_each_bound() -> None:
    spec = SloSpec(0.99, (LatencyObjective.parse("p90", 100.0),), max_degraded=0.1)
    assert [(o.name, o.allowed) for o in spec.objectives()] == [
        ("availability", Fraction(1, 100)),
        ("p90", Fraction(1, 10)),
        ("degraded", Fraction(1, 10)),
    ]


def test_slo_series_names_the_broken_objectives() -> None:
    p90 = LatencyObjective.parse("p90", 100.0)
    spec = SloSpec(0.5, (p90,), window_s=10.0, min_requests=1, max_degraded=0.2)
    # 4 requests: one failed (availability 3/4 >= 0.5), two degraded (2/4 > 0.2), one slow and
    # the failure slower than every limit (2/4 > 1/10)
    records = [failed(T0), ok(T0 + 1, 500.0), ok(T0 + 2, degraded=True), ok(T0 + 3, degraded=True)]
    last = slo_series(records, spec)[-1]
    assert (last.met, last.broken, last.over) == (False, ("p90", "degraded"), (("p90", 0.5),))


def test_slo_series_a_request_at_the_limit_is_not_slower() -> None:
    spec = SloSpec(None, (LatencyObjective.parse("p50", 100.0),), window_s=10.0, min_requests=1)
    last = slo_series([ok(T0, 100.0), ok(T0 + 1, 100.0)], spec)[-1]
    assert (last.met, last.over) == (True, (("p50", 0.0),))


def test_slo_series_availability_counts_only_failures_in_the_window() -> None:
    spec = SloSpec(0.5, window_s=1.0, min_requests=1)
    points = slo_series([failed(T0), ok(T0 + 2), ok(T0 + 3)], spec)
    assert [(p.t - T0, p.count, p.availability, p.met) for p in points] == [
        (0.0, 1, 0.0, False),
        (2.0, 1, 1.0, True),  # the failure at T0 left the window (T0 + 1, T0 + 2]
        (3.0, 1, 1.0, True),
    ]


def test_slo_series_one_point_for_requests_sharing_the_last_time() -> None:
    spec = SloSpec(0.5, window_s=10.0, min_requests=1)
    points = slo_series([ok(T0), ok(T0 + 1), failed(T0 + 1)], spec)
    assert [(p.t - T0, p.count) for p in points] == [(0.0, 1), (1.0, 3)]


def test_impact_window_edges() -> None:
    # [start, end): a failure at `end` is outside
    assert impact_window([ok(T0), failed(T0 + 1)], T0, T0 + 1) is None
    # slower than slow_ms is bad; exactly slow_ms is not
    assert impact_window([ok(T0, 500.0), ok(T0 + 1)], T0, T0 + 2, slow_ms=500.0) is None
    # the last bad request is the second-to-last: the period ends with the last (good) one
    impact = impact_window([failed(T0), ok(T0 + 0.5)], T0, T0 + 1)
    assert impact == Impact(T0, T0 + 0.5, 1) and impact.duration_s == 0.5


def test_impact_window_counts_degraded_answers_only_when_asked() -> None:
    records = [ok(T0, degraded=True), ok(T0 + 0.5)]
    assert impact_window(records, T0, T0 + 1) is None
    assert impact_window(records, T0, T0 + 1, degraded_is_bad=True) == Impact(T0, T0 + 0.5, 1)
