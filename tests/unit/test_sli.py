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
    LatencyObjective,
    SloSpec,
    impact_window,
    slo_series,
    window_stats,
)
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
