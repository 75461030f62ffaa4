"""The time series a report draws (pure): bins, marks and breaker bands."""

from __future__ import annotations

import pytest

from chaosrun.measure.timeline import RequestRecord
from chaosrun.report.series import Bins, bin_timeline, breaker_bands, marks_from_journal

T = 1_796_000_000.0


def _r(at: float, ms: float, status: int = 200, degraded: bool = False) -> RequestRecord:
    error = "" if status else "timeout"
    return RequestRecord(at, at, ms, status, error, "/api/play", degraded)


def test_bins_by_scheduled_time_with_exact_percentiles() -> None:
    records = [_r(T + 0.1, 10), _r(T + 0.2, 30), _r(T + 0.3, 20, 0), _r(T + 0.4, 40, 200, True),
               _r(T + 1.1, 5)]  # fmt: skip
    bins = bin_timeline(records, T, 0.5)
    assert bins.starts == (0.0, 0.5, 1.0)
    assert bins.requests == (4, 0, 1)
    assert bins.p50_ms == (20, None, 5) and bins.p99_ms == (40, None, 5)
    assert bins.p95_ms == (40, None, 5)
    assert bins.error_pct == (25.0, None, 0.0)
    assert bins.degraded_pct == (25.0, None, 0.0)
    before = bin_timeline([_r(T - 0.7, 1)], T, 0.5)
    assert before.starts == (-1.0,)
    assert bin_timeline([], T, 0.5) == Bins((), (), (), (), (), (), ())
    with pytest.raises(ValueError, match="bin_s must be > 0"):
        bin_timeline(records, T, 0)


def test_bin_percentiles_of_a_hundred_requests() -> None:
    bins = bin_timeline([_r(T + i / 1000, float(i + 1)) for i in range(100)], T, 1.0)
    assert (bins.p50_ms, bins.p95_ms, bins.p99_ms) == ((50.0,), (95.0,), (99.0,))
    odd = bin_timeline([_r(T + 0.1, 1)], T, 0.1234567)
    assert odd.starts == (0.0,)
    later = bin_timeline([_r(T + 1.0, 1)], T, 0.1234567)
    assert later.starts == (0.987654,)  # 8 x 0.1234567, to the microsecond


def test_marks_relative_to_the_injection() -> None:
    chaosrun = {
        "recovery": {"t_inject": T + 2, "t_detect": T + 2.5, "t_recover": T + 5, "t_end": T + 9},
        "fault_windows": [
            {"kind": "latency", "target": "catalog", "injected_at": T + 2, "cleared_at": T + 4},
            {"kind": "proxy_down", "target": "auth", "injected_at": T + 6, "cleared_at": None},
        ],
    }
    marks = marks_from_journal(chaosrun, T, T + 8)
    assert marks.origin == T + 2 and marks.end == 7.0
    assert marks.windows == ((0.0, 2.0, "latency on catalog"), (4.0, 7.0, "proxy_down on auth"))
    assert (marks.detect, marks.recover) == (0.5, 3.0)


def test_marks_take_the_recoverys_injection_and_round_to_the_microsecond() -> None:
    chaosrun = {
        "recovery": {"t_inject": T + 2.25, "t_end": T + 9.1234567},
        "fault_windows": [{"kind": "x", "target": "y", "injected_at": T + 2, "cleared_at": None}],
    }
    marks = marks_from_journal(chaosrun, T, T + 8)
    assert marks.origin == T + 2.25 and marks.end == 6.873457
    assert marks.windows == ((-0.25, 6.873457, "x on y"),)


def test_marks_without_a_recovery() -> None:
    windows = [{"kind": "latency", "target": "c", "injected_at": T + 3, "cleared_at": T + 4}]
    marks = marks_from_journal({"fault_windows": windows}, T, T + 10)
    assert (marks.origin, marks.end, marks.detect, marks.recover) == (T + 3, 7.0, None, None)
    nothing = marks_from_journal({}, T + 1, T + 5)
    assert (nothing.origin, nothing.end, nothing.windows) == (T + 1, 4.0, ())


def test_breaker_bands_from_transitions() -> None:
    breakers = {
        "catalog": [
            {"at": T + 3, "from": "open", "to": "half-open"},
            {"at": T + 1, "from": "closed", "to": "open"},
            {"at": T + 4, "from": "half-open", "to": "closed"},
        ],
        "auth": [],
    }
    bands = breaker_bands(breakers, T, 0.0, 6.0)
    assert [b.dependency for b in bands] == ["auth", "catalog"]
    assert bands[0].segments == ((0.0, 6.0, "closed"),)
    assert bands[1].segments == (
        (0.0, 1.0, "closed"),
        (1.0, 3.0, "open"),
        (3.0, 4.0, "half-open"),
        (4.0, 6.0, "closed"),
    )
    early = breaker_bands({"c": [{"at": T - 5, "from": "closed", "to": "open"}]}, T, 0.0, 2.0)
    assert early[0].segments == ((0.0, 2.0, "open"),)
    opened = breaker_bands({"c": [{"at": T + 1, "from": "open", "to": "closed"}]}, T, 0.0, 2.0)
    assert opened[0].segments == ((0.0, 1.0, "open"), (1.0, 2.0, "closed"))
    at_end = breaker_bands({"c": [{"at": T + 2, "from": "closed", "to": "open"}]}, T, 0.0, 2.0)
    assert at_end[0].segments == ((0.0, 2.0, "closed"),)  # no empty segment at the end
    fine = breaker_bands(
        {"c": [{"at": T + 1.2345678, "from": "closed", "to": "open"}]}, T, 0.1234567, 2.7654321
    )
    assert fine[0].segments == ((0.123457, 1.234568, "closed"), (1.234568, 2.765432, "open"))


def test_marks_skip_a_window_without_a_start_and_keep_the_rest() -> None:
    chaosrun = {
        "recovery": {"t_inject": T + 1, "t_detect": T + 1.1234567},
        "fault_windows": [
            {"kind": "a", "target": "x", "injected_at": None},
            {"kind": "b", "target": "y", "injected_at": T + 1.0000004, "cleared_at": T + 2},
        ],
    }
    marks = marks_from_journal(chaosrun, T, T + 3)
    assert marks.windows == ((0.0, 1.0, "b on y"),)
    assert marks.detect == 0.123457
    assert marks_from_journal({}, None, None).origin == 0.0
