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
    found = check_degradation(Observation(_timeline(), (open_fault,)), EXPECT)
    assert (found[2].check, found[2].status, found[2].observed, found[2].expected) == (
        "degradation.recovers",
        "not-judged",
        "not judged: the fault to be cleared during the run (it was not)",
        "/api/play answered in full again within 0.5 s of the fault's end",
    )


def test_an_expectation_without_endpoints_is_invalid() -> None:
    assert DegradationExpectation(fault="disk_full").invalid_fields() == [
        ("degraded_endpoints", "expected at least one endpoint here or in slo_endpoints")
    ]
    assert EXPECT.invalid_fields() == []


def test_each_verdict_says_what_was_expected() -> None:
    found = check_degradation(Observation(_timeline(), (FAULT,)), EXPECT)
    assert [(v.check, v.expected) for v in found] == [
        ("degradation.degrades", "/api/play answered during the disk_full fault, marked degraded"),
        (
            "degradation.keeps_slo",
            "/api/browse keep availability >= 0.99 and p99 <= 500 ms during the disk_full fault",
        ),
        (
            "degradation.recovers",
            "/api/play answered in full again within 0.5 s of the fault's end",
        ),
    ]


def test_without_a_fault_every_declared_verdict_is_not_judged_with_its_sentence() -> None:
    two = DegradationExpectation(
        fault="disk_full",
        degraded_endpoints=("/api/play", "/api/x"),
        slo_endpoints=("/api/browse", "/api/y"),
        recovers_within_s=1.0,
    )
    found = check_degradation(Observation(_timeline(), ()), two)
    needs = "not judged: a disk_full fault during the run (none took effect)"
    assert [(v.check, v.status, v.expected, v.observed) for v in found] == [
        (
            "degradation.degrades",
            "not-judged",
            "/api/play, /api/x answered during the disk_full fault, marked degraded",
            needs,
        ),
        (
            "degradation.keeps_slo",
            "not-judged",
            "/api/browse, /api/y keep availability >= 0.99 and p99 <= 500 ms during the "
            "disk_full fault",
            needs,
        ),
        (
            "degradation.recovers",
            "not-judged",
            "/api/play, /api/x answered in full again within 1 s of the fault's end",
            needs,
        ),
    ]


def test_only_the_declared_verdicts_are_given() -> None:
    for faults in ((), (FAULT,)):
        slo_only = DegradationExpectation(fault="disk_full", slo_endpoints=("/api/browse",))
        found = check_degradation(Observation(_timeline(), faults), slo_only)
        assert [v.check for v in found] == ["degradation.keeps_slo"]
        no_recovery = DegradationExpectation(fault="disk_full", degraded_endpoints=("/api/play",))
        found = check_degradation(Observation(_timeline(), faults), no_recovery)
        assert [v.check for v in found] == ["degradation.degrades"]


def test_endpoints_without_requests_in_the_fault_are_not_judged() -> None:
    quiet = DegradationExpectation(
        fault="disk_full", degraded_endpoints=("/api/none",), slo_endpoints=("/api/none",)
    )
    found = check_degradation(Observation(_timeline(), (FAULT,)), quiet)
    assert [(v.check, v.status, v.observed) for v in found] == [
        (
            "degradation.degrades",
            "not-judged",
            "not judged: requests on those endpoints during the fault (none)",
        ),
        (
            "degradation.keeps_slo",
            "not-judged",
            "not judged: requests on those endpoints during the fault (none)",
        ),
    ]
    assert [v.expected for v in found] == [
        "/api/none answered during the disk_full fault, marked degraded",
        "/api/none keep availability >= 0.99 and p99 <= 500 ms during the disk_full fault",
    ]


def test_failures_exactly_at_the_allowance_and_one_degraded_answer_pass() -> None:
    timeline = list(_timeline(play_during="full"))
    plays = [i for i, r in enumerate(timeline) if r.endpoint == "/api/play" and _in_fault(r)]
    timeline[plays[0]] = _req(timeline[plays[0]].scheduled - T0, "/api/play", status=500)
    timeline[plays[1]] = _req(timeline[plays[1]].scheduled - T0, "/api/play", 0, ms=1.0)
    timeline[plays[1]] = RequestRecord(
        timeline[plays[1]].scheduled, timeline[plays[1]].scheduled, 2000.0, 0, "timeout",
        "/api/play",
    )  # fmt: skip
    timeline[plays[2]] = _req(timeline[plays[2]].scheduled - T0, "/api/play", degraded=True)
    status, observed = _verdicts(tuple(timeline))["degradation.degrades"]
    # 2 of 200 failed = 1%, exactly what availability 0.99 allows; one answer degraded.
    assert (status, observed) == ("passed", "1 of 200 requests degraded, 2 failed (500, timeout)")


def test_availability_exactly_at_the_slo_passes_and_below_it_fails() -> None:
    timeline = list(_timeline())
    browses = [i for i, r in enumerate(timeline) if r.endpoint == "/api/browse" and _in_fault(r)]
    for i in browses[:2]:
        timeline[i] = _req(timeline[i].scheduled - T0, "/api/browse", status=503)
    status, observed = _verdicts(tuple(timeline))["degradation.keeps_slo"]
    assert (status, observed) == (
        "passed",
        "availability 0.9900, p99 10.0 ms over 200 requests; 2 failed (503)",
    )
    i = browses[2]
    timeline[i] = _req(timeline[i].scheduled - T0, "/api/browse", status=503)
    status, observed = _verdicts(tuple(timeline))["degradation.keeps_slo"]
    assert (status, observed) == (
        "failed",
        "availability 0.9850, p99 10.0 ms over 200 requests; 3 failed (503)",
    )


def test_the_slo_is_the_p99_not_the_slowest_request() -> None:
    timeline = list(_timeline())
    i = next(i for i, r in enumerate(timeline) if r.endpoint == "/api/browse" and _in_fault(r))
    timeline[i] = _req(timeline[i].scheduled - T0, "/api/browse", ms=5000.0)
    status, observed = _verdicts(tuple(timeline))["degradation.keeps_slo"]
    assert (status, observed) == ("passed", "availability 1.0000, p99 10.0 ms over 200 requests")


def test_recovery_needs_requests_after_the_grace() -> None:
    short = tuple(r for r in _timeline() if r.scheduled < T0 + 3.2)
    (verdict,) = [
        v
        for v in check_degradation(Observation(short, (FAULT,)), EXPECT)
        if v.check == "degradation.recovers"
    ]
    assert (verdict.status, verdict.observed) == (
        "not-judged",
        "not judged: requests later than 0.5 s (none)",
    )
    assert verdict.expected == "/api/play answered in full again within 0.5 s of the fault's end"


def test_failures_without_any_degraded_answer_fail_even_within_the_allowance() -> None:
    timeline = list(_timeline(play_during="full"))
    i = next(i for i, r in enumerate(timeline) if r.endpoint == "/api/play" and _in_fault(r))
    timeline[i] = _req(timeline[i].scheduled - T0, "/api/play", status=500)
    status, observed = _verdicts(tuple(timeline))["degradation.degrades"]
    assert (status, observed) == ("failed", "0 of 200 requests degraded, 1 failed (500)")


def test_the_plays_not_degraded_for_lack_of_an_effect_say_what_they_expected() -> None:
    found = check_degradation(Observation(_timeline(play_during="full"), (FAULT,)), EXPECT)
    assert found[0].expected == "/api/play answered during the disk_full fault, marked degraded"


def _in_fault(r: RequestRecord) -> bool:
    return T0 + 1.0 <= r.scheduled < T0 + 3.0
