"""Every verdict a run declared, from what it observed (pure): RTO and the `expect:` checks."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from chaosrun.checks.observation import Observation, Verdict
from chaosrun.checks.recovery import check_rto, check_ttd
from chaosrun.measure.recovery import analyse_recovery
from chaosrun.measure.sli import SloSpec
from chaosrun.model import ChaosrunSpec

__all__ = ["declared_verdicts", "evaluate", "run_checks"]

Check = Callable[[Observation, Any], list[Verdict]]


def _checks() -> dict[str, Check]:
    from chaosrun.checks.bulkhead import check_bulkhead
    from chaosrun.checks.circuit_breaker import check_circuit_breaker
    from chaosrun.checks.degradation import check_degradation
    from chaosrun.checks.timeout import check_timeout
    from chaosrun.checks.writes import check_writes

    return {
        "BreakerExpectation": check_circuit_breaker,
        "BulkheadExpectation": check_bulkhead,
        "TimeoutExpectation": check_timeout,
        "DegradationExpectation": check_degradation,
        "WritesExpectation": check_writes,
    }


def run_checks(observation: Observation, expectations: Sequence[object]) -> list[Verdict]:
    if not expectations:
        return []
    checks = _checks()
    verdicts: list[Verdict] = []
    for expectation in expectations:
        verdicts.extend(checks[type(expectation).__name__](observation, expectation))
    return verdicts


def declared_verdicts(spec: ChaosrunSpec) -> list[str]:
    """The verdicts a run of `spec` judges, by name, before it runs: the checks themselves
    name them (each `expect:` check judged on an empty observation), so the list cannot drift
    from what a run reports."""
    names = []
    if spec.rto is not None and spec.slo is not None:
        names.append("recovery.rto")
        if spec.rto.detect_within_s is not None:
            names.append("recovery.ttd")
    return names + [v.check for v in run_checks(Observation((), ()), spec.expect)]


def evaluate(
    observation: Observation,
    spec: ChaosrunSpec,
    load_summary: dict[str, Any],
    *,
    method_ran: bool = True,
    interrupted: bool = False,
) -> dict[str, Any]:
    """The journal's measurement section: load figures, recovery analysis, verdicts.

    A run whose method never ran (its steady state failed first) gets no verdict: there was no
    fault to judge, and a "no fault took effect" failure would hide the real cause. A run the
    user interrupted gets its recovery figures (as far as they go) but no verdict either.
    """
    verdicts: list[Verdict] = []
    recovery: dict[str, Any] | None = None
    notes: list[str] = []
    slo = spec.slo
    judged = method_ran and not interrupted
    if not method_ran:
        notes.append("the method did not run: no recovery or resilience verdict was judged")
    elif slo is not None and (
        slo.availability is not None or slo.latency_ms or slo.max_degraded is not None
    ):
        if observation.faults:
            stability = spec.rto.stability_s if spec.rto else 2.0
            analysed = analyse_recovery(
                observation.timeline, observation.faults, SloSpec.from_slo(slo), stability
            )
            recovery = analysed.to_dict()
            if spec.rto is not None and judged:
                verdicts.append(check_rto(analysed, spec.rto.objective_s))
                if spec.rto.detect_within_s is not None:
                    verdicts.append(check_ttd(analysed, spec.rto.detect_within_s))
        else:
            notes.append("no fault took effect: nothing to recover from")
            if spec.rto is not None and judged:
                verdicts.append(
                    Verdict(
                        "recovery.rto", False, "a fault to recover from", "no fault took effect"
                    )
                )
    if judged:
        verdicts.extend(run_checks(observation, spec.expect))
    elif method_ran:
        notes.append("the run was interrupted: no recovery or resilience verdict was judged")
    short = bool(load_summary.get("short"))
    if short:
        notes.append(
            "the load fell short of its target "
            f"({load_summary.get('short_reason', 'see load.json')}): figures are not trusted"
        )
    from chaosrun.checks.writes import writes_report

    return {
        "writes": writes_report(observation, spec.expect) if method_ran else [],
        "load": load_summary,
        "measurement_trusted": not short,
        "recovery": recovery,
        "rto_objective_s": spec.rto.objective_s if spec.rto else None,
        "verdicts": [v.to_dict() for v in verdicts],
        "checks_failed": sum(1 for v in verdicts if v.status == "failed"),
        "checks_not_judged": sum(1 for v in verdicts if v.status == "not-judged"),
        "measurement_notes": notes,
    }
