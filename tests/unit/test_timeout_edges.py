"""chaosrun.checks.timeout at its edges: each bound at its exact value, the sentences of what
could not be judged, and attempt numbers that only retries carry (pinned against surviving
mutants). Exact boundaries use binary fractions of a second: an epoch time plus 1 ms is not exact
in a float, 1/1024 s is."""

from __future__ import annotations

import dataclasses

import pytest

from chaosrun.checks import timeout
from chaosrun.checks.observation import Arrival, Verdict
from tests.unit.test_check_timeout import EXPECT, FAULT, T0, observation, verdicts

TICK_MS = 1000.0 / 1024.0  # 0.9765625 ms: exact in a float, and so are its multiples


def _retried(rid: str, start: float, gaps_ticks: list[int], number: bool = True) -> list[Arrival]:
    times = [start]
    for gap in gaps_ticks:
        times.append(times[-1] + gap / 1024.0)
    return [
        Arrival(t, "/catalog", True, rid, n if number else None) for n, t in enumerate(times, 1)
    ]


def _backoff(arrivals: list[Arrival], timeout_ms: float = 150.0) -> Verdict:
    expectation = dataclasses.replace(EXPECT, timeout_ms=timeout_ms)
    return verdicts(observation(arrivals=arrivals), expectation)["retry.backoff"]


def test_growth_counts_a_second_gap_longer_by_exactly_the_minimum(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(timeout, "GROWTH_MIN_MS", TICK_MS)
    # Three requests whose second gap is the first + 1 tick; first gaps 20, 24, 28 ticks.
    arrivals = [a for i in range(3) for a in _retried(f"r-{i}", 10.0 * i, [20 + 4 * i, 21 + 4 * i])]
    verdict = _backoff(arrivals)
    assert verdict.observed.startswith("second gap longer in 3 of 3 requests with 3+ attempts; ")
    assert verdict.passed


def test_jitter_holds_at_exactly_its_minimum_spread(monkeypatch: pytest.MonkeyPatch) -> None:
    # Four fast first gaps of 20, 21, 22, 23 ticks: IQR (nearest rank: 3rd - 1st) = 2 ticks.
    arrivals = [a for i in range(4) for a in _retried(f"r-{i}", 10.0 * i, [20 + i, 60])]
    monkeypatch.setattr(timeout, "JITTER_MIN_IQR_MS", 2 * TICK_MS)
    verdict = _backoff(arrivals)
    assert verdict.observed.endswith(
        "first gaps after a fast failure: IQR 2.0 ms over 4 requests (min 1.95312 ms)"
    ), verdict.observed
    assert verdict.passed
    monkeypatch.setattr(timeout, "JITTER_MIN_IQR_MS", 2 * TICK_MS + 0.001)
    assert not _backoff(arrivals).passed


def test_a_first_gap_of_exactly_the_timeout_is_not_a_fast_failure() -> None:
    # 150 ticks = 146.48 ms: with timeout_ms at that, these first gaps came after a timeout.
    arrivals = [a for i in range(4) for a in _retried(f"r-{i}", 10.0 * i, [150, 200 + i])]
    verdict = _backoff(arrivals, timeout_ms=150 * TICK_MS)
    assert verdict == Verdict(
        "retry.backoff",
        False,
        "backoff grows between attempts and has jitter",
        "second gap longer in 4 of 4 requests with 3+ attempts; jitter not observable "
        "(0 requests retried after a fast failure)",
    )


def test_too_few_retried_requests_is_not_judged_with_what_it_needs() -> None:
    arrivals = [a for i in range(2) for a in _retried(f"r-{i}", 10.0 * i, [20, 40])]
    assert _backoff(arrivals) == Verdict(
        "retry.backoff",
        False,
        "backoff grows between attempts and has jitter",
        "not judged: at least 3 retried requests at catalog to see backoff (saw 2)",
        judged=False,
    )


def test_attempt_numbers_carried_by_retries_only_keep_the_first_attempt_first() -> None:
    # A client that numbers its retries (2, 3) but not the first attempt.
    arrivals = []
    for i in range(3):
        first, second, third = _retried(f"r-{i}", 10.0 * i, [20 + i, 50])
        arrivals += [dataclasses.replace(first, attempt=None), second, third]
    verdict = _backoff(arrivals)
    assert verdict.observed.startswith("second gap longer in 3 of 3 requests with 3+ attempts; ")
    capped = verdicts(observation(arrivals=arrivals))["retry.capped"]
    assert capped.observed == "max 3 attempts per request over 3 requests at catalog (3 retried)"


def test_the_p99_of_the_responses_is_shown_beside_the_worst() -> None:
    def one_slow(t: float) -> tuple[int, float, bool]:
        if not 1.0 <= t < 4.0:
            return 200, 5.0, False
        return (200, 440.0, True) if abs(t - 2.005) < 1e-6 else (200, 3.0, True)

    bounded = verdicts(observation(one_slow))["timeout.bounded"]
    assert bounded.observed == "max 440.0 ms (p99 3.0 ms) over 300 responses during the fault"


def test_no_response_during_the_fault_judges_neither_response_verdict() -> None:
    obs = observation()
    quiet = tuple(r for r in obs.timeline if not FAULT.injected_at <= r.scheduled < T0 + 4.0)
    v = verdicts(dataclasses.replace(obs, timeline=quiet))
    needs = "not judged: requests on /api/browse during the fault (none)"
    assert v["timeout.bounded"] == Verdict(
        "timeout.bounded",
        False,
        "/api/browse answers within 450 ms (budget + 100 ms)",
        needs,
        judged=False,
    )
    assert v["timeout.fallback"] == Verdict(
        "timeout.fallback",
        False,
        "/api/browse answers 200 with a fallback instead of waiting (> 250 ms) for catalog",
        needs,
        judged=False,
    )


def test_no_request_id_at_the_dependency_judges_no_cap() -> None:
    anonymous = [Arrival(T0 + 1.0 + 0.01 * i, "/catalog", False) for i in range(10)]
    assert verdicts(observation(arrivals=anonymous))["retry.capped"] == Verdict(
        "retry.capped",
        False,
        "at most 3 attempts per request at catalog",
        "not judged: arrivals at catalog that carry a request id (none did): to count attempts",
        judged=False,
    )


def test_no_snapshot_judges_the_retries_not_and_the_responses_still() -> None:
    v = verdicts(dataclasses.replace(observation(), dependencies={}))
    assert v["timeout.bounded"].status == "passed"
    needs = (
        "not judged: what reached catalog and the service's account of it (the lab's /state); "
        "this target gives neither"
    )
    assert [(v[k].status, v[k].observed) for k in ("retry.capped", "retry.backoff")] == [
        ("not-judged", needs)
    ] * 2


def test_one_degraded_answer_is_a_fallback_and_failures_list_their_kinds() -> None:
    def one_fallback(t: float) -> tuple[int, float, bool]:
        if not 1.0 <= t < 4.0:
            return 200, 5.0, False
        return (200, 3.0, abs(t - 2.005) < 1e-6)

    assert verdicts(observation(one_fallback))["timeout.fallback"].status == "passed"
    obs = observation()
    timeline = list(obs.timeline)
    timeline[150] = dataclasses.replace(timeline[150], status=0, error="timeout")
    timeline[151] = dataclasses.replace(timeline[151], status=503)
    fallback = verdicts(dataclasses.replace(obs, timeline=tuple(timeline)))["timeout.fallback"]
    assert fallback.observed == ("298 of 300 answered 200, 298 degraded; 2 not 200 (503, timeout)")


def test_a_fault_never_cleared_judges_responses_to_the_end_of_the_observation() -> None:
    endless = dataclasses.replace(FAULT, cleared_at=None)
    v = verdicts(dataclasses.replace(observation(), faults=(endless,)))
    assert v["timeout.bounded"].observed.endswith(" over 500 responses during the fault")
