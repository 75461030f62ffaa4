"""chaosrun.measure.recovery on synthetic timelines: detect, recover, RTO, budget, windows."""

from __future__ import annotations

import json
import math

import pytest

from chaosrun.checks.observation import FaultWindow
from chaosrun.measure.recovery import ErrorBudget, analyse_recovery
from chaosrun.measure.sli import SloSpec
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


def test_clean_one_second_outage() -> None:
    records = synthetic(RATE, 10, bad=lambda rel: 3.0 <= rel < 4.0)
    recovery = analyse_recovery(records, [fault(3.0, 4.0)], SLO)
    assert recovery.state == "recovered"
    assert recovery.impact is not None and recovery.impact.duration_s is not None
    assert abs(recovery.impact.duration_s - 1.0) <= DT
    # a 0.99 floor over a 1 s window breaks after (1 - 0.99) * 1 s of failures
    detection_delay = (1 - 0.99) * SLO.window_s
    assert recovery.ttd_s is not None and 0 <= recovery.ttd_s <= detection_delay + DT
    # ... and holds again once the window has slid past all but 1 % of the outage
    assert recovery.t_recover is not None
    outage_end = T0 + 4.0
    assert outage_end + SLO.window_s - detection_delay - DT <= recovery.t_recover
    assert recovery.t_recover <= outage_end + SLO.window_s + DT
    assert recovery.rto_s == pytest.approx(recovery.t_recover - T0 - 3.0)
    assert recovery.recovery_after_clear_s == pytest.approx(recovery.t_recover - outage_end)
    assert recovery.failed_requests == 200
    assert recovery.requests == round((recovery.t_recover - T0 - 3.0) * RATE)
    assert recovery.error_budget == ErrorBudget(0.99, 2000, 200)
    assert recovery.error_budget.burned == pytest.approx(10.0)
    assert recovery.after is not None
    assert (recovery.before.availability, recovery.during.availability) == (1.0, 0.0)
    assert recovery.after.availability == 1.0
    assert recovery.t_end == pytest.approx(T0 + 10.0)


def test_flapping_recovery_counts_only_the_stable_one() -> None:
    # outage, 2.5 s healthy (SLO met for ~1.5 s, shorter than the 2 s stability), outage, healthy
    def bad(rel: float) -> bool:
        return 1.0 <= rel < 2.0 or 4.5 <= rel < 5.0

    recovery = analyse_recovery(synthetic(RATE, 12, bad=bad), [fault(1.0, 5.0)], SLO, 2.0)
    assert recovery.state == "recovered"
    assert recovery.t_recover is not None
    assert T0 + 5.0 + SLO.window_s - 0.01 - DT <= recovery.t_recover <= T0 + 6.0 + DT
    assert recovery.failed_requests == 300
    # with a stability window shorter than the met stretch, the first stretch counts
    early = analyse_recovery(synthetic(RATE, 12, bad=bad), [fault(1.0, 5.0)], SLO, 1.0)
    assert early.t_recover is not None and early.t_recover < T0 + 3.0 + DT


def test_never_recovers() -> None:
    records = synthetic(RATE, 8, bad=lambda rel: rel >= 3.0)
    recovery = analyse_recovery(records, [fault(3.0, None)], SLO)
    assert recovery.state == "not-recovered"
    assert (recovery.t_clear, recovery.t_recover, recovery.rto_s, recovery.after) == (None,) * 4
    assert recovery.ttd_s is not None and recovery.ttd_s < 0.02
    assert (recovery.failed_requests, recovery.requests) == (1000, 1000)
    assert recovery.impact is not None and recovery.impact.ended is None
    assert recovery.during.count == 1000


def test_recovery_needs_the_timeline_to_cover_the_stability_window() -> None:
    records = synthetic(RATE, 5.5, bad=lambda rel: 3.0 <= rel < 4.0)  # met from ~5.0 to 5.5
    recovery = analyse_recovery(records, [fault(3.0, 4.0)], SLO, stability_s=2.0)
    assert recovery.state == "not-recovered"
    assert analyse_recovery(records, [fault(3.0, 4.0)], SLO, stability_s=0.3).state == "recovered"


def test_latency_only_breach_is_detected_through_p99() -> None:
    records = synthetic(RATE, 10, latency_ms=lambda rel: 800.0 if 3.0 <= rel < 4.0 else 20.0)
    recovery = analyse_recovery(records, [fault(3.0, 4.0)], SLO)
    assert recovery.state == "recovered"
    assert recovery.failed_requests == 0
    assert recovery.ttd_s is not None and recovery.ttd_s <= 0.01 * SLO.window_s + DT
    assert recovery.impact is not None and recovery.impact.duration_s is not None
    assert abs(recovery.impact.duration_s - 1.0) <= DT
    assert recovery.during.p99_ms == pytest.approx(800.0, rel=1e-3)
    availability_only = SloSpec.from_slo(Slo(0.99))
    assert analyse_recovery(records, [fault(3.0, 4.0)], availability_only).state == "no-impact"


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
