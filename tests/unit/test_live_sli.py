"""live_sli reads the trailing window of the timeline; unanswered requests count as slow."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from chaosrun.measure.timeline import HEADER, RequestRecord, format_record
from chaosrun.probes import sli
from chaosrun.probes.sli import LOAD_RATE_ENV, TIMELINE_ENV, live_sli


class _FrozenClock:
    """The probe reads the clock after the test built its timeline: freeze it in between."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _timeline(path: Path, records: list[RequestRecord]) -> None:
    path.write_text(HEADER + "\n" + "".join(format_record(r) for r in records))


def test_live_sli_over_the_trailing_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    now = time.time()
    old = [RequestRecord(now - 10 + i * 0.01, now - 10, 900.0, 500, "", "/a") for i in range(50)]
    recent = [
        RequestRecord(now - 1.49 + i * 0.0099, now - 1.5, 10.0, 200, "", "/a", i % 2 == 0)
        for i in range(100)
    ]
    path = tmp_path / "timeline.csv"
    _timeline(path, old + recent)
    monkeypatch.setenv(TIMELINE_ENV, str(path))
    monkeypatch.setenv(LOAD_RATE_ENV, "100")
    monkeypatch.setattr(sli, "time", _FrozenClock(now))
    result = live_sli(window_s=1.0, margin_s=0.5)
    assert result["availability"] == 1.0  # the old failures are outside the window
    assert result["requests"] == 100 and result["unanswered"] == 0
    assert result["p99_ms"] == 10.0 and result["degraded"] == 50


def test_unanswered_requests_count_as_slow_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = time.time()
    # The service stalled: only 40 of the 100 requests scheduled in the window came back.
    recent = [
        RequestRecord(now - 1.49 + i * 0.0099, now - 1.5, 5.0, 200, "", "/a") for i in range(40)
    ]
    path = tmp_path / "timeline.csv"
    _timeline(path, recent)
    monkeypatch.setenv(TIMELINE_ENV, str(path))
    monkeypatch.setenv(LOAD_RATE_ENV, "100")
    monkeypatch.setattr(sli, "time", _FrozenClock(now))
    result = live_sli(window_s=1.0, margin_s=0.5)
    assert (result["expected"], result["requests"], result["unanswered"]) == (100, 40, 60)
    assert result["availability"] == 1.0
    assert result["p99_ms"] == 500.0  # at least the margin: the stall is visible


def test_live_sli_without_a_load_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TIMELINE_ENV, raising=False)
    with pytest.raises(ValueError, match="declare 'load' in the chaosrun block"):
        live_sli()
