"""chaosrun.checks.evaluate: which verdicts a run gets from what it observed."""

from __future__ import annotations

from chaosrun.checks.evaluate import evaluate
from chaosrun.checks.observation import FaultWindow, Observation
from chaosrun.model import ChaosrunSpec, LoadSpec, RtoSpec, Slo
from tests.unit.timelines import T0, ok, synthetic

LOAD = LoadSpec(rate=256, endpoints=(("/api/play", 1.0),))
FAULT = FaultWindow("latency", "catalog", T0 + 3.0, T0 + 4.0)
OUTAGE = synthetic(256, 10, bad=lambda rel: 3.0 <= rel < 4.0)  # recovered at +1.0 s exactly
TRUSTED = {"short": False}
AVAILABILITY = Slo(0.99)


def spec(rto: RtoSpec | None, slo: Slo | None = AVAILABILITY) -> ChaosrunSpec:
    return ChaosrunSpec(slo=slo, load=LOAD, rto=rto)


def checks(result: dict[str, object]) -> dict[str, bool]:
    return {v["check"]: v["passed"] for v in result["verdicts"]}  # type: ignore[attr-defined,index]


def test_rto_and_ttd_objectives_are_both_judged() -> None:
    observed = Observation(tuple(OUTAGE), (FAULT,))
    met = evaluate(observed, spec(RtoSpec(1.0, 2.0, detect_within_s=0.0)), TRUSTED)
    assert checks(met) == {"recovery.rto": True, "recovery.ttd": True}
    assert met["checks_failed"] == 0 and met["measurement_trusted"] is True
    missed = evaluate(observed, spec(RtoSpec(0.999, 2.0, detect_within_s=None)), TRUSTED)
    assert checks(missed) == {"recovery.rto": False}
    assert missed["checks_failed"] == 1
    recovery = missed["recovery"]
    assert isinstance(recovery, dict) and recovery["rto_s"] == 1.0 and recovery["ttd_s"] == 0.0


def test_a_late_detection_fails_its_objective() -> None:
    late = synthetic(256, 10, bad=lambda rel: 3.5 <= rel < 4.0)  # breaks 0.5 s after injection
    result = evaluate(
        Observation(tuple(late), (FAULT,)), spec(RtoSpec(5.0, 2.0, detect_within_s=0.25)), TRUSTED
    )
    assert checks(result) == {"recovery.rto": True, "recovery.ttd": False}


def test_no_verdict_when_the_method_did_not_run() -> None:
    result = evaluate(Observation(tuple(OUTAGE), ()), spec(RtoSpec(5.0)), TRUSTED, method_ran=False)
    assert result["verdicts"] == [] and result["recovery"] is None
    assert result["measurement_notes"] == [
        "the method did not run: no recovery or resilience verdict was judged"
    ]


def test_no_fault_took_effect_fails_the_rto() -> None:
    result = evaluate(Observation(tuple(OUTAGE), ()), spec(RtoSpec(5.0)), TRUSTED)
    assert checks(result) == {"recovery.rto": False}
    assert result["measurement_notes"] == ["no fault took effect: nothing to recover from"]


def test_a_degraded_ceiling_alone_is_an_slo() -> None:
    degraded = [ok(T0 + i / 256, degraded=3.0 <= i / 256 < 4.0) for i in range(2560)]
    result = evaluate(
        Observation(tuple(degraded), (FAULT,)),
        spec(RtoSpec(0.5), Slo(None, (), 1.0, max_degraded=0.05)),
        TRUSTED,
    )
    assert checks(result) == {"recovery.rto": False}  # recovered after 1.0 s > 0.5 s
    recovery = result["recovery"]
    assert isinstance(recovery, dict) and recovery["degraded_requests"] == 256


def test_a_short_load_is_not_trusted() -> None:
    short = {"short": True, "short_reason": "rate 80 < 95% of 100"}
    result = evaluate(Observation(tuple(OUTAGE), (FAULT,)), spec(RtoSpec(5.0)), short)
    assert result["measurement_trusted"] is False
    assert result["measurement_notes"] == [
        "the load fell short of its target (rate 80 < 95% of 100): figures are not trusted"
    ]


def test_an_interrupted_run_keeps_its_figures_but_gets_no_verdict() -> None:
    result = evaluate(
        Observation(tuple(OUTAGE), (FAULT,)), spec(RtoSpec(5.0)), TRUSTED, interrupted=True
    )
    assert result["verdicts"] == [] and result["checks_failed"] == 0
    recovery = result["recovery"]
    assert isinstance(recovery, dict) and recovery["rto_s"] == 1.0
    assert result["measurement_notes"] == [
        "the run was interrupted: no recovery or resilience verdict was judged"
    ]


def test_each_expectation_goes_to_its_own_check_and_not_judged_ones_are_counted() -> None:
    from chaosrun.checks.expectations import (
        BreakerExpectation,
        BulkheadExpectation,
        TimeoutExpectation,
    )

    expect = (
        BreakerExpectation("catalog"),
        BulkheadExpectation("catalog", max_concurrency=10, isolated_endpoints=("/api/profile",)),
        TimeoutExpectation("catalog", timeout_ms=150, max_retries=2, endpoint="/api/play"),
    )
    # A fault on another dependency: every check of catalog says what it would need.
    other = FaultWindow("latency", "auth", T0 + 3.0, T0 + 4.0)
    result = evaluate(
        Observation(tuple(OUTAGE), (other,)), ChaosrunSpec(load=LOAD, expect=expect), TRUSTED
    )
    verdicts = result["verdicts"]
    assert isinstance(verdicts, list)
    assert [v["check"] for v in verdicts] == [
        "circuit_breaker.opens",
        "circuit_breaker.fails_fast",
        "circuit_breaker.stops_traffic",
        "circuit_breaker.half_opens",
        "circuit_breaker.closes",
        "circuit_breaker.sequence",
        "bulkhead.isolation",
        "bulkhead.cap",
        "bulkhead.rejects_fast",
        "timeout.bounded",
        "timeout.fallback",
        "retry.capped",
        "retry.backoff",
    ]
    assert {v["status"] for v in verdicts} == {"not-judged"}
    assert (result["checks_failed"], result["checks_not_judged"]) == (0, 13)


def test_no_fault_gives_a_whole_rto_verdict_and_no_slo_judges_nothing() -> None:
    result = evaluate(Observation(tuple(OUTAGE), ()), spec(RtoSpec(5.0)), TRUSTED)
    assert result["verdicts"] == [
        {
            "check": "recovery.rto",
            "status": "failed",
            "passed": False,
            "expected": "a fault to recover from",
            "observed": "no fault took effect",
        }
    ]
    # No SLO: nothing to recover to, no RTO verdict, no recovery figures.
    none = evaluate(Observation(tuple(OUTAGE), (FAULT,)), spec(RtoSpec(5.0), slo=None), TRUSTED)
    assert (none["verdicts"], none["recovery"]) == ([], None)


def test_a_short_load_without_its_reason_points_at_load_json() -> None:
    result = evaluate(Observation(tuple(OUTAGE), (FAULT,)), spec(None), {"short": True})
    assert result["measurement_notes"] == [
        "the load fell short of its target (see load.json): figures are not trusted"
    ]


def test_without_an_rto_the_recovery_uses_a_two_second_stability() -> None:
    # Recovered at +1.0 s, stable from then: the default stability window is 2 s.
    result = evaluate(Observation(tuple(OUTAGE), (FAULT,)), spec(None), TRUSTED)
    recovery = result["recovery"]
    assert isinstance(recovery, dict)
    assert recovery["rto_s"] == 1.0
    assert recovery["stability_s"] == 2.0


def test_the_rto_stability_is_the_objectives_and_the_load_summary_is_passed_on() -> None:
    result = evaluate(Observation(tuple(OUTAGE), (FAULT,)), spec(RtoSpec(5.0, 0.5)), TRUSTED)
    recovery = result["recovery"]
    assert isinstance(recovery, dict) and recovery["stability_s"] == 0.5
    assert result["load"] is TRUSTED


def test_no_fault_without_an_rto_objective_fails_no_rto() -> None:
    result = evaluate(Observation(tuple(OUTAGE), ()), spec(None), TRUSTED)
    assert result["verdicts"] == [] and result["checks_failed"] == 0
    assert result["measurement_notes"] == ["no fault took effect: nothing to recover from"]
    interrupted = evaluate(
        Observation(tuple(OUTAGE), ()), spec(RtoSpec(5.0)), TRUSTED, interrupted=True
    )
    assert interrupted["verdicts"] == []
