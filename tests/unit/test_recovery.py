"""chaosrun.measure.recovery on synthetic timelines: detect, recover, RTO, budget, windows."""

from __future__ import annotations

import json
import math

import pytest

from chaosrun.checks.observation import FaultWindow
from chaosrun.measure.recovery import ErrorBudget, analyse_recovery
from chaosrun.measure.sli import LatencyObjective, SloSpec, window_stats
from chaosrun.measure.timeline import RequestRecord
from chaosrun.model import Slo
from tests.unit.timelines import T0, failed, ok, synthetic

RATE = 200.0
DT = 1 / RATE
SLO = SloSpec.from_slo(Slo(0.99, (("p99", 500.0),)))  # 1 s trailing window, >= 10 requests


def fault(inject_rel: float, clear_rel: float | None) -> FaultWindow:
    return FaultWindow(
        "proxy_down", "catalog", T0 + inject_rel, None if clear_rel is None else T0 + clear_rel
    )


def test_steady_healthy_traffic_is_no_impact() -> None:
    recovery = analyse_recovery(synthetic(RATE, 10), [fault(3, 5)], SLO)
    assert recovery.state == "no-impact"
    assert (recovery.t_detect, recovery.t_recover, recovery.rto_s, recovery.ttd_s) == (None,) * 4
    assert recovery.impact is None
    assert (recovery.failed_requests, recovery.requests) == (0, 1400)
    assert recovery.error_budget is not None and recovery.error_budget.burned == 0.0
    assert recovery.resolution_s == pytest.approx(DT, abs=1e-6)
    assert recovery.after is not None
    counts = (recovery.before.count, recovery.during.count, recovery.after.count)
    assert counts == (600, 400, 1000)
    assert recovery.after.rate_per_s == pytest.approx(RATE)


@pytest.mark.parametrize("window_s", [0.5, 1.0, 2.0, 5.0])
def test_clean_one_second_outage(window_s: float) -> None:
    # requests every 5 ms fail for rel in [3, 4): the first failed one is at 3.000, the first good
    # one after the last failed (3.995) is at 4.000, whatever the window that judged the breach
    records = synthetic(RATE, 10, bad=lambda rel: 3.0 <= rel < 4.0)
    slo = SloSpec.from_slo(Slo(0.99, (("p99", 500.0),)), window_s=window_s)
    recovery = analyse_recovery(records, [fault(3.0, 4.0)], slo)
    assert recovery.state == "recovered"
    assert recovery.t_detect == T0 + 3.0
    assert recovery.t_recover == T0 + 4.0
    assert recovery.ttd_s == 0.0
    assert recovery.rto_s == pytest.approx(1.0, abs=1e-6)
    assert recovery.recovery_after_clear_s == 0.0
    assert recovery.impact is not None and recovery.impact.duration_s == pytest.approx(1.0)
    assert (recovery.failed_requests, recovery.requests) == (200, 200)
    assert recovery.error_budget == ErrorBudget(0.99, 2000, 200)
    assert recovery.error_budget.burned == pytest.approx(10.0)
    assert recovery.after is not None
    assert (recovery.before.availability, recovery.during.availability) == (1.0, 0.0)
    assert recovery.after.availability == 1.0
    assert recovery.t_end == pytest.approx(T0 + 10.0)


@pytest.mark.parametrize("window_s", [0.5, 1.0, 2.0, 5.0])
@pytest.mark.parametrize("outage_s", [0.15, 0.5, 2.0, 5.0])
def test_figures_do_not_move_with_the_window(window_s: float, outage_s: float) -> None:
    # 256 req/s: every scheduled time is exact in binary, so the expected values are exact too
    records = synthetic(256, 16, bad=lambda rel: 3.0 <= rel < 3.0 + outage_s)
    slo = SloSpec(0.99, window_s=window_s)
    recovery = analyse_recovery(records, [fault(3.0, 3.0 + outage_s)], slo, 2.0)
    first_good = math.ceil(outage_s * 256) / 256  # the first slot at or after the outage's end
    assert (recovery.ttd_s, recovery.rto_s) == (0.0, first_good)
    assert recovery.recovery_after_clear_s == pytest.approx(first_good - outage_s, abs=1e-6)


def test_flapping_recovery_counts_only_the_stable_one() -> None:
    # outage [1, 2), 1.5 s healthy, outage [3.5, 4): with 2 s of stability the healthy stretch is
    # too short, the recovery is the first good request after the second outage
    def bad(rel: float) -> bool:
        return 1.0 <= rel < 2.0 or 3.5 <= rel < 4.0

    records = synthetic(256, 10, bad=bad)
    recovery = analyse_recovery(records, [fault(1.0, 4.0)], SloSpec(0.99), 2.0)
    assert recovery.state == "recovered"
    assert (recovery.t_detect, recovery.t_recover) == (T0 + 1.0, T0 + 4.0)
    assert recovery.rto_s == 3.0
    assert recovery.failed_requests == 256 + 128  # every failure in [inject, recover)
    # a stability shorter than the healthy stretch takes the first recovery
    early = analyse_recovery(records, [fault(1.0, 4.0)], SloSpec(0.99), 1.0)
    assert (early.t_recover, early.rto_s, early.failed_requests) == (T0 + 2.0, 1.0, 256)
    # a stretch exactly as long as the stability is not enough: it must be longer
    exact = analyse_recovery(records, [fault(1.0, 4.0)], SloSpec(0.99), 1.5)
    assert exact.t_recover == T0 + 4.0
    just_shorter = analyse_recovery(records, [fault(1.0, 4.0)], SloSpec(0.99), 1.5 - 1 / 256)
    assert just_shorter.t_recover == T0 + 2.0


def test_a_breach_before_injection_is_not_detection() -> None:
    # the service was already failing [1.0, 1.5) and healthy when the fault went in at 3
    records = synthetic(256, 10, bad=lambda rel: 1.0 <= rel < 1.5)
    recovery = analyse_recovery(records, [fault(3.0, 4.0)], SloSpec(0.99), 2.0)
    assert recovery.state == "no-impact"
    assert (recovery.t_detect, recovery.ttd_s, recovery.rto_s) == (None, None, None)
    # a breach still going on at injection is detected at injection, and recovers when it ends
    ongoing = synthetic(256, 10, bad=lambda rel: 2.5 <= rel < 3.5)
    recovery = analyse_recovery(ongoing, [fault(3.0, 4.0)], SloSpec(0.99), 2.0)
    assert (recovery.ttd_s, recovery.rto_s, recovery.recovery_after_clear_s) == (0.0, 0.5, -0.5)
    assert recovery.failed_requests == 128


def test_an_isolated_failure_is_noise_unless_a_window_around_it_breaks() -> None:
    # one failure in a healthy second is within a 99 % floor: no breach at all
    quiet = synthetic(256, 10, bad=lambda rel: rel == 3.5)
    assert analyse_recovery(quiet, [fault(3.0, 4.0)], SloSpec(0.99), 2.0).state == "no-impact"

    # one failure 0.5 s after an outage [3, 4): a 1 s window holds it together with the outage's
    # tail, so it belongs to the breach; every 0.5 s window around it holds 1 failure of 128,
    # within the 1 % floor, so there it is noise
    def bad(rel: float) -> bool:
        return 3.0 <= rel < 4.0 or rel == 4.5

    records = synthetic(256, 10, bad=bad)
    wide = analyse_recovery(records, [fault(3.0, 4.0)], SloSpec(0.99, window_s=1.0), 2.0)
    assert wide.t_recover == T0 + 4.5 + 1 / 256
    narrow = analyse_recovery(records, [fault(3.0, 4.0)], SloSpec(0.99, window_s=0.5), 2.0)
    assert narrow.t_recover == T0 + 4.0


def test_latency_only_breach_is_detected_and_recovered_at_the_slow_requests() -> None:
    records = synthetic(256, 10, latency_ms=lambda rel: 800.0 if 3.0 <= rel < 4.0 else 20.0)
    recovery = analyse_recovery(records, [fault(3.0, 4.0)], SLO)
    assert recovery.state == "recovered"
    assert (recovery.t_detect, recovery.t_recover) == (T0 + 3.0, T0 + 4.0)
    assert recovery.failed_requests == 0
    assert recovery.during.p99_ms == pytest.approx(800.0, rel=1e-3)
    availability_only = SloSpec.from_slo(Slo(0.99))
    assert analyse_recovery(records, [fault(3.0, 4.0)], availability_only).state == "no-impact"
    # a slow request is bad for p99 only: with p50 <= 500 a short slow stretch breaks nothing
    lenient = SloSpec(None, (LatencyObjective.parse("p50", 500.0),))
    assert analyse_recovery(records, [fault(3.0, 4.0)], lenient).state == "recovered"
    short = synthetic(256, 10, latency_ms=lambda rel: 800.0 if 3.0 <= rel < 3.25 else 20.0)
    assert analyse_recovery(short, [fault(3.0, 4.0)], lenient).state == "no-impact"


def test_degraded_answers_are_impact_counted_and_held_to_their_own_ceiling() -> None:
    records = [ok(T0 + i / 256, degraded=3.0 <= i / 256 < 4.0) for i in range(256 * 10)]
    plain = analyse_recovery(records, [fault(3.0, 4.0)], SloSpec(0.99), 2.0)
    assert plain.state == "no-impact"
    assert (plain.failed_requests, plain.degraded_requests) == (0, 256)
    held = analyse_recovery(records, [fault(3.0, 4.0)], SloSpec(0.99, max_degraded=0.05), 2.0)
    assert held.state == "recovered"
    assert (held.t_detect, held.t_recover) == (T0 + 3.0, T0 + 4.0)
    assert (held.failed_requests, held.degraded_requests) == (0, 256)
    assert held.to_dict()["degraded_requests"] == 256
    # a ceiling the fallbacks stay under is met: 5 % degraded everywhere, ceiling 10 %
    sprinkled = [ok(T0 + i / 256, degraded=i % 20 == 0) for i in range(256 * 10)]
    ceiling = SloSpec(None, max_degraded=0.1)
    assert analyse_recovery(sprinkled, [fault(3.0, 4.0)], ceiling, 2.0).state == "no-impact"


def test_never_recovers() -> None:
    records = synthetic(RATE, 8, bad=lambda rel: rel >= 3.0)
    recovery = analyse_recovery(records, [fault(3.0, None)], SLO)
    assert recovery.state == "not-recovered"
    assert (recovery.t_clear, recovery.t_recover, recovery.rto_s, recovery.after) == (None,) * 4
    assert recovery.ttd_s is not None and recovery.ttd_s < 0.02
    assert (recovery.failed_requests, recovery.requests) == (1000, 1000)
    assert recovery.impact is not None and recovery.impact.ended is None
    assert recovery.during.count == 1000


def test_recovery_needs_the_slo_judged_through_the_stability_window() -> None:
    # outage [3, 4): recovered at 4.0 with 2 s of stability iff the SLO is judged at 6.0
    def timeline(last_rel: float) -> list[RequestRecord]:
        return synthetic(256, last_rel + 1 / 256, bad=lambda rel: 3.0 <= rel < 4.0)

    reaches = analyse_recovery(timeline(6.0), [fault(3.0, 4.0)], SloSpec(0.99), 2.0)
    assert (reaches.state, reaches.t_recover) == ("recovered", T0 + 4.0)
    short = analyse_recovery(timeline(6.0 - 1 / 256), [fault(3.0, 4.0)], SloSpec(0.99), 2.0)
    assert (short.state, short.t_recover, short.rto_s) == ("not-recovered", None, None)
    assert analyse_recovery(timeline(5.5), [fault(3.0, 4.0)], SloSpec(0.99), 0.3).state == (
        "recovered"
    )


def test_no_impact_needs_the_slo_judged_through_clear_plus_stability() -> None:
    # a healthy service, fault [3, 4), stability 2: "no impact" only once judged at 6.0
    at_horizon = synthetic(256, 6.0 + 1 / 256)
    assert analyse_recovery(at_horizon, [fault(3.0, 4.0)], SloSpec(0.99), 2.0).state == (
        "no-impact"
    )
    before_horizon = synthetic(256, 6.0)  # last request at 6 - 1/256
    assert analyse_recovery(before_horizon, [fault(3.0, 4.0)], SloSpec(0.99), 2.0).state == (
        "no-data"
    )
    # a fault never cleared: judged up to inject + stability
    never_cleared = synthetic(256, 5.0 + 1 / 256)
    assert analyse_recovery(never_cleared, [fault(3.0, None)], SloSpec(0.99), 2.0).state == (
        "no-impact"
    )
    assert analyse_recovery(synthetic(256, 5.0), [fault(3.0, None)], SloSpec(0.99), 2.0).state == (
        "no-data"
    )


def test_recovery_while_the_fault_is_still_in_place() -> None:
    # the service copes (say a breaker opened onto a fallback) long before the fault is reverted
    records = synthetic(RATE, 12, bad=lambda rel: 3.0 <= rel < 3.5)
    recovery = analyse_recovery(records, [fault(3.0, 9.0)], SLO)
    assert recovery.state == "recovered"
    assert recovery.recovery_after_clear_s is not None and recovery.recovery_after_clear_s < 0


def test_sparse_traffic_is_no_data_not_no_impact() -> None:
    records = synthetic(5, 20)  # 5 requests per 1 s window: never enough to judge
    recovery = analyse_recovery(records, [fault(3.0, 4.0)], SLO)
    assert recovery.state == "no-data"
    load_stopped = synthetic(RATE, 3.5)  # load ended 0.5 s after injection
    assert analyse_recovery(load_stopped, [fault(3.0, 4.0)], SLO).state == "no-data"
    assert analyse_recovery([], [fault(3.0, 4.0)], SLO).state == "no-data"


def test_fault_windows_combine() -> None:
    faults = [fault(3.0, 4.0), fault(2.0, 6.0), fault(2.5, 5.0)]
    recovery = analyse_recovery(synthetic(RATE, 10), faults, SLO)
    assert (recovery.t_inject, recovery.t_clear) == (T0 + 2.0, T0 + 6.0)
    faults.append(fault(2.5, None))
    assert analyse_recovery(synthetic(RATE, 10), faults, SLO).t_clear is None
    with pytest.raises(ValueError, match=r"^recovery needs at least one fault window$"):
        analyse_recovery(synthetic(RATE, 10), [], SLO)


def test_error_budget_arithmetic() -> None:
    budget = ErrorBudget(availability=0.99, requests=1000, failed=25)
    assert budget.allowed == pytest.approx(10.0)
    assert budget.burned == pytest.approx(2.5)
    assert budget.to_dict()["overspent"] is True
    assert ErrorBudget(0.99, 1000, 5).burned == pytest.approx(0.5)
    assert ErrorBudget(1.0, 1000, 0).burned == 0.0
    strict = ErrorBudget(1.0, 1000, 1)
    assert math.isinf(strict.burned)
    assert strict.to_dict() == {
        "availability": 1.0,
        "requests": 1000,
        "allowed": 0.0,
        "failed": 1,
        "burned": None,
        "overspent": True,
    }
    records = [failed(T0 + i / 100) if i % 40 == 0 else ok(T0 + i / 100) for i in range(1000)]
    recovery = analyse_recovery(records, [fault(3.0, 4.0)], SLO)
    assert recovery.error_budget == ErrorBudget(0.99, 1000, 25)
    assert SloSpec.from_slo(Slo(None, (("p99", 500.0),))).availability is None
    latency_only = analyse_recovery(
        records, [fault(3.0, 4.0)], SloSpec.from_slo(Slo(None, (("p99", 500.0),)))
    )
    assert latency_only.error_budget is None


def test_to_dict_is_json_safe_and_relative() -> None:
    records = synthetic(RATE, 10, bad=lambda rel: 3.0 <= rel < 4.0)
    recovery = analyse_recovery(records, [fault(3.0, 4.0)], SLO)
    data = json.loads(json.dumps(recovery.to_dict(), allow_nan=False))
    assert data["state"] == "recovered"
    assert data["t_inject"] == round(T0 + 3.0, 3)
    relative = data["relative_to_inject_s"]
    assert relative["clear"] == 1.0
    assert relative["recover"] == data["rto_s"] == round(recovery.t_recover - T0 - 3.0, 3)  # type: ignore[operator]
    assert relative["detect"] == data["ttd_s"]
    assert data["impact"]["first_bad_rel_s"] == 0.0
    assert data["during"]["errors"] == 200
    assert data["error_budget"]["burned"] == 10.0
    assert data["after"]["latency_ms"]["p99"] == pytest.approx(5.0, rel=1e-3)
    assert data["resolution_s"] == 0.005


def test_impact_counts_degraded_answers_only_when_they_are_held_to_a_ceiling() -> None:
    records = [ok(T0 + i / 256, degraded=3.0 <= i / 256 < 4.0) for i in range(256 * 10)]
    assert analyse_recovery(records, [fault(3.0, 4.0)], SloSpec(0.99), 2.0).impact is None
    held = analyse_recovery(records, [fault(3.0, 4.0)], SloSpec(0.99, max_degraded=0.05), 2.0)
    assert held.impact is not None
    assert (held.impact.first_bad, held.impact.ended, held.impact.bad) == (T0 + 3.0, T0 + 4.0, 256)


def test_to_dict_is_the_journal_record_rounded_to_the_ms() -> None:
    # fault times off the request grid: each figure shows its own rounding to 3 decimals
    records = synthetic(256, 10, bad=lambda rel: 3.0 <= rel < 4.0)
    off_grid = FaultWindow("latency", "catalog", T0 + 2.9996, T0 + 4.0002)
    recovery = analyse_recovery(records, [off_grid], SloSpec(0.99), 2.0)
    record = recovery.to_dict()
    assert recovery.ttd_s == pytest.approx(0.0004, abs=1e-6)
    assert recovery.rto_s == pytest.approx(1.0004, abs=1e-6)
    assert {k: record.pop(k) for k in ("before", "during", "after")} == {
        "before": window_stats(records, T0, T0 + 2.9996).to_dict(),
        "during": window_stats(records, T0 + 2.9996, T0 + 4.0002).to_dict(),
        "after": window_stats(records, T0 + 4.0002, T0 + 10.0).to_dict(),
    }
    assert record == {
        "state": "recovered",
        "t_inject": 1796017543.0,  # T0 + 2.9996
        "t_clear": 1796017544.0,  # T0 + 4.0002
        "t_detect": 1796017543.0,  # the first failed request, T0 + 3.0
        "t_recover": 1796017544.0,  # the first good one, T0 + 4.0
        "t_end": 1796017550.0,  # last request + one interval
        "relative_to_inject_s": {"clear": 1.001, "detect": 0.0, "recover": 1.0, "end": 7.0},
        "ttd_s": 0.0,  # 0.0004
        "rto_s": 1.0,  # 1.0004
        "recovery_after_clear_s": -0.0,  # -0.0002
        "resolution_s": 0.003906,  # 1/256
        "window_s": 1.0,
        "stability_s": 2.0,
        "failed_requests": 256,
        "degraded_requests": 0,
        "requests": 256,
        "error_budget": {
            "availability": 0.99,
            "requests": 2560,
            "allowed": 25.6,
            "failed": 256,
            "burned": 10.0,
            "overspent": True,
        },
        "impact": {
            "first_bad": 1796017543.0,
            "ended": 1796017544.0,
            "duration_s": 1.0,
            "bad_requests": 256,
            "first_bad_rel_s": 0.0,
            "ended_rel_s": 1.0,
        },
    }


def test_to_dict_of_a_fault_never_cleared_and_no_availability_objective() -> None:
    records = synthetic(256, 8, latency_ms=lambda rel: 800.0 if rel >= 3.0 else 5.0)
    latency_only = SloSpec(None, (LatencyObjective.parse("p99", 500.0),), window_s=0.5)
    record = analyse_recovery(records, [fault(3.0, None)], latency_only, 1.5).to_dict()
    assert (record["state"], record["t_clear"], record["after"]) == ("not-recovered", None, None)
    assert record["relative_to_inject_s"] == {
        "clear": None,
        "detect": 0.0,
        "recover": None,
        "end": 5.0,
    }
    assert (record["rto_s"], record["recovery_after_clear_s"], record["error_budget"]) == (
        None,
        None,
        None,
    )
    assert (record["window_s"], record["stability_s"]) == (0.5, 1.5)
    assert record["impact"] == {
        "first_bad": 1796017543.0,
        "ended": None,
        "duration_s": None,
        "bad_requests": 1280,
        "first_bad_rel_s": 0.0,
        "ended_rel_s": None,
    }


def test_error_budget_record_rounding_and_the_overspent_edge() -> None:
    budget = ErrorBudget(0.9999, 12345, 2)  # allowed 1.2345 (1.23449999...), burned 1.62009
    assert budget.to_dict() == {
        "availability": 0.9999,
        "requests": 12345,
        "allowed": 1.234,
        "failed": 2,
        "burned": 1.6201,
        "overspent": True,
    }
    exactly = ErrorBudget(0.5, 20, 10)  # spent exactly what was allowed: not overspent
    assert exactly.to_dict()["overspent"] is False and exactly.burned == 1.0


def test_two_failures_a_window_apart_make_a_breach_of_one_window() -> None:
    # 128 req/s, 1 s window: 2 failures of 128 break a 99 % floor (1.28 allowed) only in the one
    # window that holds both, (2.0 - 1/128, 2.9921875]; both belong to that breach
    records = synthetic(128, 10, bad=lambda rel: rel in (2.0, 2.9921875))
    recovery = analyse_recovery(records, [fault(1.0, 4.0)], SloSpec(0.99), 2.0)
    assert (recovery.t_detect, recovery.t_recover) == (T0 + 2.0, T0 + 3.0)
    assert (recovery.ttd_s, recovery.rto_s, recovery.failed_requests) == (1.0, 2.0, 2)
    # one interval further apart, no window holds both: noise, no breach
    apart = synthetic(128, 10, bad=lambda rel: rel in (2.0, 3.0))
    assert analyse_recovery(apart, [fault(1.0, 4.0)], SloSpec(0.99), 2.0).state == "no-impact"


def test_stability_bounds_and_default() -> None:
    records = synthetic(256, 10, bad=lambda rel: 1.0 <= rel < 2.0 or 4.5 <= rel < 5.0)
    # healthy for 2.5 s between the outages: the default stability of 2 s takes the first
    assert analyse_recovery(records, [fault(1.0, 5.0)], SloSpec(0.99)).t_recover == T0 + 2.0
    assert analyse_recovery(records, [fault(1.0, 5.0)], SloSpec(0.99), 2.5).t_recover == T0 + 5.0
    assert analyse_recovery(records, [fault(1.0, 5.0)], SloSpec(0.99), 0.0).t_recover == T0 + 2.0
    with pytest.raises(ValueError) as info:
        analyse_recovery(records, [fault(1.0, 5.0)], SloSpec(0.99), -0.001)
    assert str(info.value) == "stability_s must be >= 0, got -0.001"


def test_resolution_and_end_of_odd_timelines() -> None:
    single = analyse_recovery([ok(T0 + 1.0)], [fault(0.5, 0.6)], SloSpec(0.99), 0.0)
    assert single.resolution_s == 0.0
    assert single.t_end == math.nextafter(T0 + 1.0, math.inf)
    # requests scheduled at the same moment (two endpoints) do not shrink the interval
    same_time = [ok(T0), ok(T0), ok(T0), ok(T0 + 0.5), ok(T0 + 1.0)]
    recovery = analyse_recovery(same_time, [fault(0.2, 0.3)], SloSpec(0.99), 0.0)
    assert recovery.resolution_s == 0.5
    assert recovery.t_end == T0 + 1.5


def test_to_dict_rounds_epoch_times_to_the_ms_and_has_no_impact_when_none() -> None:
    start = T0 + 0.1234  # every scheduled time has sub-ms digits
    records = synthetic(256, 10, start=start, bad=lambda rel: 3.0 <= rel < 4.0)
    window = FaultWindow("latency", "catalog", start + 3.0, start + 4.0)
    record = analyse_recovery(records, [window], SloSpec(0.99), 2.0).to_dict()
    assert (record["t_inject"], record["t_end"]) == (1796017543.123, 1796017550.123)
    impact = record["impact"]
    assert isinstance(impact, dict)
    assert (impact["first_bad"], impact["ended"]) == (1796017543.123, 1796017544.123)
    healthy = analyse_recovery(synthetic(256, 10), [fault(3.0, 4.0)], SloSpec(0.99), 2.0)
    assert healthy.to_dict()["impact"] is None
