"""chaosrun.checks.recovery: RTO and time-to-detect verdicts, with their exact sentences."""

from __future__ import annotations

import dataclasses

import pytest

from chaosrun.checks.observation import FaultWindow, Verdict
from chaosrun.checks.recovery import check_rto, check_ttd
from chaosrun.measure.recovery import Recovery, analyse_recovery
from chaosrun.measure.sli import SloSpec
from chaosrun.model import Slo
from tests.unit.timelines import T0, synthetic

SLO = SloSpec.from_slo(Slo(0.99, (("p99", 500.0),)))
FAULT = FaultWindow("proxy_down", "catalog", T0 + 3.0, T0 + 4.0)


def _outage(end_rel: float, duration_s: float = 10.0) -> Recovery:
    records = synthetic(200, duration_s, bad=lambda rel: 3.0 <= rel < end_rel)
    return analyse_recovery(records, [FAULT], SLO)


def _at(recovery: Recovery, detect_rel: float, recover_rel: float | None, failed: int) -> Recovery:
    """The same analysis with round numbers, so the sentences are exact."""
    return dataclasses.replace(
        recovery,
        t_detect=T0 + 3.0 + detect_rel,
        t_recover=None if recover_rel is None else T0 + 3.0 + recover_rel,
        failed_requests=failed,
    )


def test_no_impact_passes() -> None:
    recovery = analyse_recovery(synthetic(200, 10), [FAULT], SLO)
    assert check_rto(recovery, 5.0) == Verdict(
        "recovery.rto",
        True,
        "recovered within 5.0 s of injection",
        "no SLO breach after injection (1400 requests, 0 failed)",
    )


@pytest.mark.parametrize(("objective_s", "passed"), [(7.412, True), (8.0, True), (5.0, False)])
def test_recovered_passes_within_the_objective(objective_s: float, passed: bool) -> None:
    recovery = _at(_outage(4.0), 0.125, 7.4125, 312)
    assert recovery.state == "recovered"
    verdict = check_rto(recovery, objective_s)
    assert verdict.passed is passed
    assert verdict.observed == "recovered after 7.412 s (breached at +0.125 s, 312 failed requests)"


def test_rto_expected_sentence() -> None:
    recovery = _outage(4.0)
    assert check_rto(recovery, 5).expected == "recovered within 5.0 s of injection"
    assert check_rto(recovery, 0.25).expected == "recovered within 0.25 s of injection"
    assert check_rto(recovery, 2.5).expected == "recovered within 2.5 s of injection"


def test_not_recovered_fails() -> None:
    recovery = _outage(10.0)
    assert recovery.state == "not-recovered"
    assert check_rto(_at(recovery, 0.12, None, 312), 60.0) == Verdict(
        "recovery.rto",
        False,
        "recovered within 60.0 s of injection",
        "not recovered before the run ended (breached at +0.120 s, 312 failed requests)",
    )


def test_real_outage_sentences() -> None:
    # the outage is [3, 4): the first failed request is the injection's, the first good one is at 4
    verdict = check_rto(_outage(4.0), 0.999)
    assert not verdict.passed
    assert verdict.observed == "recovered after 1.000 s (breached at +0.000 s, 200 failed requests)"
    assert check_rto(_outage(4.0), 1.0).passed


def test_no_data_fails() -> None:
    recovery = analyse_recovery(synthetic(5, 10), [FAULT], SLO)
    assert recovery.state == "no-data"
    assert check_rto(recovery, 5.0) == Verdict(
        "recovery.rto",
        False,
        "recovered within 5.0 s of injection",
        "not enough traffic to evaluate the SLO after injection (35 requests)",
    )
    assert check_ttd(recovery, 1.0).observed == (
        "not enough traffic to evaluate the SLO after injection"
    )


def test_ttd() -> None:
    recovery = _at(_outage(4.0), 0.12, 2.0, 200)
    assert check_ttd(recovery, 0.5) == Verdict(
        "recovery.ttd", True, "SLO breached within 0.5 s of injection", "breached at +0.120 s"
    )
    assert not check_ttd(recovery, 0.1).passed
    healthy = analyse_recovery(synthetic(200, 10), [FAULT], SLO)
    assert check_ttd(healthy, 1.0) == Verdict(
        "recovery.ttd",
        False,
        "SLO breached within 1.0 s of injection",
        "no SLO breach after injection",
    )
