"""The small helpers every verdict shares, each pinned at its edge (found by mutation testing)."""

from __future__ import annotations

import dataclasses

import pytest

from chaosrun.checks.expectations import (
    all_failed,
    all_not_judged,
    fault_period,
    fmt_ms,
    observation_end,
    percentile,
    period_end,
    requests_in,
)
from chaosrun.checks.observation import FaultWindow, Observation
from chaosrun.checks.recovery import check_rto
from chaosrun.measure.timeline import RequestRecord
from tests.unit.test_check_recovery import _at, _outage

T0 = 1_796_017_540.0


def _record(at: float, endpoint: str = "/a") -> RequestRecord:
    return RequestRecord(at, at, 5.0, 200, "", endpoint)


def test_verdicts_for_many_properties_keep_each_expectation_and_pair_them_strictly() -> None:
    failed = all_failed(("a", "b"), ("x", "y"), "why")
    assert [(v.check, v.expected, v.status) for v in failed] == [
        ("a", "x", "failed"),
        ("b", "y", "failed"),
    ]
    unjudged = all_not_judged(("a", "b"), ("x", "y"), "more data")
    assert [(v.expected, v.observed, v.status) for v in unjudged] == [
        ("x", "not judged: more data", "not-judged"),
        ("y", "not judged: more data", "not-judged"),
    ]
    with pytest.raises(ValueError):
        all_failed(("a", "b"), ("x",), "why")
    with pytest.raises(ValueError):
        all_not_judged(("a",), ("x", "y"), "more data")


def test_a_fault_period_spans_every_window_and_counts_them() -> None:
    faults = (
        FaultWindow("fail_for", "catalog", T0 + 1.0, T0 + 2.0),
        FaultWindow("latency", "catalog", T0 + 1.5, T0 + 4.0),
        FaultWindow("latency", "auth", T0, T0 + 9.0),
    )
    period = fault_period(Observation((), faults), "catalog")
    assert period is not None
    assert (period.injected_at, period.cleared_at, period.windows) == (T0 + 1.0, T0 + 4.0, 2)


def test_an_uncleared_period_ends_with_the_observation_and_an_empty_one_at_zero() -> None:
    faults = (FaultWindow("latency", "catalog", T0 + 1.0, None),)
    observation = Observation((_record(T0 + 3.0),), faults)
    period = fault_period(observation, "catalog")
    assert period is not None and period.cleared_at is None
    assert period_end(observation, period) == T0 + 3.0 + 0.005  # the last answer's completion
    assert observation_end(Observation((), ())) == 0.0


def test_requests_in_a_window_include_its_start_and_exclude_its_end() -> None:
    records = [_record(T0 + t) for t in (1.0, 1.5, 2.0)] + [_record(T0 + 1.2, "/other")]
    inside = list(requests_in(records, ["/a"], [(T0 + 1.0, T0 + 2.0)]))
    assert [r.scheduled - T0 for r in inside] == [1.0, 1.5]


def test_percentile_and_milliseconds_in_words() -> None:
    assert percentile([], 99.0) is None
    assert percentile([float(v) for v in range(1, 101)], 99.0) == 99.0
    assert percentile([float(v) for v in range(1, 1001)], 99.0) == 990.0
    assert fmt_ms(None) == "n/a"
    assert fmt_ms(12.345) == "12.3 ms"


def test_rto_is_decided_on_the_millisecond_the_sentence_shows() -> None:
    recovery = _at(_outage(8.0), 0.1, 5.0004, 3)  # RTO 5.0004 s: shown as 5.000 s
    assert (check_rto(recovery, 5.0).passed, check_rto(recovery, 5.0).observed) == (
        True,
        "recovered after 5.000 s (breached at +0.100 s, 3 failed requests)",
    )
    later = dataclasses.replace(recovery, t_recover=T0 + 3.0 + 5.4)
    assert check_rto(later, 5.0).passed is False  # 5.400 s: not rounded to whole seconds
    never = dataclasses.replace(recovery, t_detect=None, t_recover=None)
    assert (
        check_rto(never, 5.0).observed == "not recovered before the run ended (3 failed requests)"
    )
