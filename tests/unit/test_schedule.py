"""The open-loop schedule is a pure function of the plan; the summary judges its own figures."""

from __future__ import annotations

import itertools
import json
import math
from collections import Counter
from pathlib import Path

import pytest

from chaosrun.measure.loadspec import (
    LoadSummary,
    load_command,
    percentile,
    short_reason,
    summarize,
)
from chaosrun.measure.schedule import LoadPlan, arrival_offsets, endpoint_sequence, plan_requests

MIX = (("/api/play", 3.0), ("/api/browse", 1.0))


def _plan(**changes: object) -> LoadPlan:
    fields: dict[str, object] = {"rate": 200.0, "duration_s": 2.0, "endpoints": MIX, "seed": 7}
    fields.update(changes)
    return LoadPlan(**fields)  # type: ignore[arg-type]


def test_arrivals_are_evenly_spaced_at_one_over_rate() -> None:
    offsets = arrival_offsets(200.0, 1000)
    assert offsets[:3] == [0.0, 0.005, 0.01]
    gaps = [b - a for a, b in itertools.pairwise(offsets)]
    assert all(math.isclose(g, 0.005, abs_tol=1e-12) for g in gaps)
    assert offsets[-1] == pytest.approx(999 / 200.0, abs=0)  # i / rate: no accumulated drift
    assert arrival_offsets(3.0, 0) == []


@pytest.mark.parametrize(
    ("rate", "duration_s", "count"),
    [
        (200.0, 2.0, 400),
        (3.0, 1.5, 5),
        (0.5, 3.0, 2),
        (10.0, 0.1, 1),
        (0.1, 30.0, 3),
        (7.0, 1e-3, 1),
    ],
)
def test_plan_counts_every_slot_before_the_end(rate: float, duration_s: float, count: int) -> None:
    plan = _plan(rate=rate, duration_s=duration_s)
    assert plan.count == count
    offsets = [offset for offset, _ in plan_requests(plan)]
    assert len(offsets) == count
    assert all(offset < duration_s for offset in offsets)


def test_plan_requests_walks_offsets_and_the_endpoint_sequence() -> None:
    plan = _plan()
    walked = list(plan_requests(plan))
    assert [o for o, _ in walked] == arrival_offsets(plan.rate, plan.count)
    assert [p for _, p in walked] == endpoint_sequence(plan.endpoints, plan.seed, plan.count)


def test_plan_requests_is_lazy_for_long_runs() -> None:
    plan = _plan(rate=100_000.0, duration_s=86_400.0 * 365)
    first = list(itertools.islice(plan_requests(plan), 5))
    assert [o for o, _ in first] == [0.0, 1e-5, 2e-5, 3e-5, 4e-5]


def test_endpoint_mix_is_reproducible_for_a_seed_and_differs_for_another() -> None:
    a = endpoint_sequence(MIX, 7, 500)
    assert a == endpoint_sequence(MIX, 7, 500)
    assert a != endpoint_sequence(MIX, 8, 500)
    # A longer draw starts with the shorter one: chunked drawing does not change the sequence.
    assert endpoint_sequence(MIX, 7, 9000)[:500] == a


def test_endpoint_weights_are_respected_over_10k_draws() -> None:
    mix = (("/a", 3.0), ("/b", 1.0), ("/c", 0.5), ("/d", 0.5))
    counts = Counter(endpoint_sequence(mix, 1, 10_000))
    total = sum(weight for _, weight in mix)
    for path, weight in mix:
        assert counts[path] / 10_000 == pytest.approx(weight / total, abs=0.02), counts


def test_a_single_endpoint_gets_every_request() -> None:
    assert set(endpoint_sequence((("/health", 1.0),), 3, 100)) == {"/health"}


BAD_PLANS: dict[str, tuple[dict[str, object], str]] = {
    "zero-rate": ({"rate": 0.0}, "rate must be a finite number of req/s > 0, got 0.0"),
    "negative-rate": ({"rate": -5.0}, "rate must be a finite number of req/s > 0, got -5.0"),
    "nan-rate": ({"rate": math.nan}, "rate must be a finite number of req/s > 0, got nan"),
    "inf-rate": ({"rate": math.inf}, "rate must be a finite number of req/s > 0, got inf"),
    "text-rate": ({"rate": "200"}, "rate must be a number of req/s > 0, got '200'"),
    "zero-duration": ({"duration_s": 0.0}, "duration_s must be a finite number of s > 0, got 0.0"),
    "zero-timeout": ({"timeout_s": 0.0}, "timeout_s must be a finite number of s > 0, got 0.0"),
    "float-seed": ({"seed": 1.5}, "seed must be an integer, got 1.5"),
    "bool-seed": ({"seed": True}, "seed must be an integer, got True"),
    "no-endpoints": ({"endpoints": ()}, "endpoints must name at least one (path, weight)"),
    "relative-path": (
        {"endpoints": (("api/play", 1.0),)},
        "endpoint path must start with '/', got 'api/play'",
    ),
    "comma-in-path": (
        {"endpoints": (("/a,b", 1.0),)},
        "endpoint path must not contain commas, quotes or whitespace, got '/a,b'",
    ),
    "duplicate-path": (
        {"endpoints": (("/a", 1.0), ("/a", 2.0))},
        "endpoint /a is listed twice",
    ),
    "zero-weight": (
        {"endpoints": (("/a", 0.0),)},
        "weight of /a must be a finite number > 0, got 0.0",
    ),
    "nan-weight": (
        {"endpoints": (("/a", math.nan),)},
        "weight of /a must be a finite number > 0, got nan",
    ),
    "bool-weight": (
        {"endpoints": (("/a", True),)},
        "weight of /a must be a number > 0, got True",
    ),
    "text-weight": (
        {"endpoints": (("/a", "1"),)},
        "weight of /a must be a number > 0, got '1'",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_PLANS))
def test_bad_plan_values_are_rejected(name: str) -> None:
    changes, message = BAD_PLANS[name]
    with pytest.raises(ValueError) as info:
        _plan(**changes)
    assert str(info.value) == message


def test_bad_arguments_of_the_pure_functions_are_rejected() -> None:
    with pytest.raises(ValueError, match="rate must be"):
        arrival_offsets(0.0, 3)
    with pytest.raises(ValueError, match="count must be >= 0"):
        arrival_offsets(1.0, -1)
    with pytest.raises(ValueError, match="count must be >= 0"):
        endpoint_sequence(MIX, 1, -1)


def test_pure_functions_say_what_is_wrong_exactly() -> None:
    with pytest.raises(ValueError) as info:
        arrival_offsets(0.0, 3)
    assert str(info.value) == "rate must be a finite number of req/s > 0, got 0.0"
    with pytest.raises(ValueError) as info:
        endpoint_sequence(MIX, 1, -1)
    assert str(info.value) == "count must be >= 0, got -1"


def test_zero_requests_is_a_valid_count() -> None:
    assert endpoint_sequence(MIX, 1, 0) == []
    assert arrival_offsets(5.0, 0) == []


def test_a_duration_just_past_a_whole_number_of_intervals_gets_one_more_slot() -> None:
    # 1000 req/s x 1000.0000001 s = 1000000.0001 slots: slot 1000000 is due at 1000.0 s, still
    # before the end. (Float noise is relative 1e-16; 1e-10 is a real fraction of a slot.)
    plan = _plan(rate=1000.0, duration_s=1000.0000001)
    assert plan.count == 1_000_001
    assert _plan(rate=1000.0, duration_s=1000.0).count == 1_000_000


# -- loadspec: the summary decides "short" from its own figures ---------------------------------


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50.0
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([], 0.99) == 0.0
    assert percentile([3.0], 0.0) == 3.0


@pytest.mark.parametrize(
    ("achieved", "p99", "reason"),
    [
        (190.0, 25.0, None),
        (189.9, 1.0, "achieved 189.9 req/s < 95% of the 200 req/s target"),
        (200.0, 25.01, "scheduler lag p99 25.01 ms > 25 ms"),
        (
            100.0,
            50.0,
            "achieved 100.0 req/s < 95% of the 200 req/s target; "
            "scheduler lag p99 50.00 ms > 25 ms",
        ),
    ],
)
def test_short_reason(achieved: float, p99: float, reason: str | None) -> None:
    assert short_reason(200.0, achieved, p99) == reason


def _summary(plan: LoadPlan, lags: list[float], elapsed_s: float) -> LoadSummary:
    return summarize(
        plan,
        start=1.0,
        elapsed_s=elapsed_s,
        stopped_by="duration",
        scheduled=plan.count,
        lags_ms=lags,
        completed=len(lags),
        ok=len(lags),
        degraded=0,
        unfinished=0,
        errors={},
        statuses={200: len(lags)},
        sent_by_endpoint={"/api/play": len(lags)},
        reached={"/api/play": len(lags)},
    )


def test_summary_of_a_full_run_is_not_short_and_round_trips() -> None:
    plan = _plan(endpoints=(("/api/play", 1.0),))
    summary = _summary(plan, [0.5] * 399 + [3.0], 2.0)
    assert (summary.sent, summary.achieved_rate, summary.short) == (400, 200.0, False)
    assert (summary.p50_lag_ms, summary.p99_lag_ms, summary.max_lag_ms) == (0.5, 0.5, 3.0)
    assert summary.errors == {"timeout": 0, "connect": 0, "reset": 0, "other": 0}
    assert summary.reached == {"/api/play": 400}
    assert LoadSummary.from_dict(json.loads(summary.to_json())) == summary


def test_summary_of_a_slow_or_laggy_run_is_short() -> None:
    plan = _plan(endpoints=(("/api/play", 1.0),))
    slow = _summary(plan, [0.5] * 300, 2.0)
    assert slow.short and slow.short_reason == "achieved 150.0 req/s < 95% of the 200 req/s target"
    laggy = _summary(plan, [0.5] * 390 + [30.0] * 10, 2.0)
    assert laggy.short and laggy.short_reason == "scheduler lag p99 30.00 ms > 25 ms"


def test_load_command_names_every_plan_field() -> None:
    argv = load_command(
        _plan(), base_url="http://127.0.0.1:1", timeline=Path("t.csv"), summary=Path("s.json")
    )
    assert argv[1:3] == ["-m", "chaosrun.measure.load"]
    joined = " ".join(argv[3:])
    assert "--rate 200.0 --duration-s 2.0 --seed 7 --timeout-s 2.0" in joined
    assert "--endpoint /api/play:3.0 --endpoint /api/browse:1.0" in joined
    assert "--start-at" not in joined
