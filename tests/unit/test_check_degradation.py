"""check_degradation on built timelines: each verdict passes on the designed behaviour and fails
(or is not judged) when one property is missing."""

from __future__ import annotations

from chaosrun.checks.degradation import check_degradation
from chaosrun.checks.expectations import DegradationExpectation
from chaosrun.checks.observation import FaultWindow, Observation
from chaosrun.measure.timeline import RequestRecord

T0 = 1_800_000_000.0
FAULT = FaultWindow("disk_full", "", T0 + 1.0, T0 + 3.0)
EXPECT = DegradationExpectation(
    fault="disk_full",
    degraded_endpoints=("/api/play",),
    slo_endpoints=("/api/browse",),
    recovers_within_s=0.5,
)


def _req(
    at: float, endpoint: str, status: int = 200, degraded: bool = False, ms: float = 10.0
) -> RequestRecord:
    return RequestRecord(T0 + at, T0 + at, ms, status, "", endpoint, degraded)


def _timeline(
    play_during: str = "degraded", browse_ms: float = 10.0, play_after: str = "full"
) -> tuple[RequestRecord, ...]:
    """Plays and browses every 10 ms over 5 s; the fault holds from 1 s to 3 s."""
    records = []
    for i in range(500):
        at = i / 100
        if 1.0 <= at < 3.0:
            play = {
                "degraded": _req(at, "/api/play", degraded=True),
                "failed": _req(at, "/api/play", status=500),
                "full": _req(at, "/api/play"),
            }[play_during]
        elif at >= 3.0 and play_after == "degraded":
            play = _req(at, "/api/play", degraded=True)
        else:
            play = _req(at, "/api/play")
        records += [play, _req(at + 0.005, "/api/browse", ms=browse_ms)]
    return tuple(records)


def _verdicts(timeline: tuple[RequestRecord, ...], faults=(FAULT,)) -> dict[str, tuple[str, str]]:  # type: ignore[no-untyped-def]
    found = check_degradation(Observation(timeline, tuple(faults)), EXPECT)
    return {v.check: (v.status, v.observed) for v in found}


def test_degraded_plays_and_fast_browsing_pass() -> None:
    assert _verdicts(_timeline()) == {
        "degradation.degrades": ("passed", "200 of 200 requests degraded"),
        "degradation.keeps_slo": (
            "passed",
            "availability 1.0000, p99 10.0 ms over 200 requests",
        ),
        "degradation.recovers": (
            "passed",
            "0 of 150 later requests still degraded or failed (degraded from +0.000 s to +1.990 s)",
        ),
    }


def test_failed_plays_fail_degrades() -> None:
    status, observed = _verdicts(_timeline(play_during="failed"))["degradation.degrades"]
    assert (status, observed) == ("failed", "0 of 200 requests degraded, 200 failed (500)")


def test_failures_within_the_slo_allowance_still_pass() -> None:
    timeline = list(_timeline())
    assert timeline[200].endpoint == "/api/play" and timeline[200].scheduled == T0 + 1.0  # first
    timeline[200] = _req(1.0, "/api/play", status=503)
    status, observed = _verdicts(tuple(timeline))["degradation.degrades"]
    assert (status, observed) == ("passed", "199 of 200 requests degraded, 1 failed (503)")
    for i in range(202, 210, 2):
        timeline[i] = _req(timeline[i].scheduled - T0, "/api/play", status=500)
    status, _ = _verdicts(tuple(timeline))["degradation.degrades"]
    assert status == "failed"  # 5 of 200 > 1%


def test_plays_that_never_degrade_are_not_judged() -> None:
    status, observed = _verdicts(_timeline(play_during="full"))["degradation.degrades"]
    assert status == "not-judged"
    assert "the fault had no effect" in observed


def test_slow_browsing_fails_keeps_slo() -> None:
    status, observed = _verdicts(_timeline(browse_ms=600.0))["degradation.keeps_slo"]
    assert (status, observed) == (
        "failed",
        "availability 1.0000, p99 600.0 ms over 200 requests",
    )


def test_browsing_at_exactly_the_slo_passes() -> None:
    status, _ = _verdicts(_timeline(browse_ms=500.0))["degradation.keeps_slo"]
    assert status == "passed"


def test_degraded_answers_after_the_fault_fail_recovers() -> None:
    status, observed = _verdicts(_timeline(play_after="degraded"))["degradation.recovers"]
    assert (status, observed) == (
        "failed",
        "150 of 150 later requests still degraded or failed (degraded from +0.000 s to +3.990 s)",
    )


def test_degraded_answers_within_the_grace_still_recover() -> None:
    timeline = list(_timeline())
    for i, r in enumerate(timeline):
        if r.endpoint == "/api/play" and T0 + 3.0 <= r.scheduled < T0 + 3.5:
            timeline[i] = _req(r.scheduled - T0, "/api/play", degraded=True)
    status, _ = _verdicts(tuple(timeline))["degradation.recovers"]
    assert status == "passed"


def test_no_fault_of_that_kind_is_not_judged() -> None:
    other = FaultWindow("latency", "catalog", T0 + 1.0, T0 + 3.0)
    found = _verdicts(_timeline(), faults=(other,))
    assert {s for s, _ in found.values()} == {"not-judged"}
    assert all("a disk_full fault during the run" in o for _, o in found.values())


def test_a_fault_never_cleared_cannot_judge_recovery() -> None:
    open_fault = FaultWindow("disk_full", "", T0 + 1.0, None)
    status, observed = _verdicts(_timeline(), faults=(open_fault,))["degradation.recovers"]
    assert (status, observed) == (
        "not-judged",
        "not judged: the fault to be cleared during the run (it was not)",
    )


def test_an_expectation_without_endpoints_is_invalid() -> None:
    assert DegradationExpectation(fault="disk_full").invalid_fields() == [
        ("degraded_endpoints", "expected at least one endpoint here or in slo_endpoints")
    ]
    assert EXPECT.invalid_fields() == []
