"""chaosrun.measure.loadsummary: what a finished or signalled run covered, and its CPU schedstat."""

from __future__ import annotations

import io
import os
from array import array
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from chaosrun.measure import loadsummary
from chaosrun.measure.loadrun import OpenLoopRun
from chaosrun.measure.loadspec import LoadSummary
from chaosrun.measure.loadsummary import cpu_schedstat, run_summary
from chaosrun.measure.schedule import LoadPlan

PLAN = LoadPlan(rate=4.0, duration_s=2.0, endpoints=(("/a", 1.0), ("/b", 1.0)), seed=3)  # 8 slots
SCHEDSTAT = "/proc/thread-self/schedstat"


def _run(stopped_by: str) -> OpenLoopRun:
    """A run whose clocks and counters are set by hand; it started at 1796017540.25 + 2**-22."""
    run = OpenLoopRun(PLAN, "http://127.0.0.1:1/", io.BytesIO(), "timeline.csv", "asyncio")
    run.t0_wall, run.t0_mono = 1796017539.75 + 2**-22, 100.0
    run.start_mono = 100.5
    run.last_send_mono = 101.75
    run.stopped_by = stopped_by
    run.lags_ms = array("d", [0.5, 0.25, 1.5])
    run.completed, run.ok, run.degraded, run.unfinished = 2, 1, 1, 0
    run.errors = {"connect": 1}
    run.statuses = {200: 1, 500: 1}
    run.sent_by_endpoint = {"/a": 2, "/b": 1}
    run.reached = {"/a": 2}
    run.cpu_run_ms, run.cpu_wait_ms = 12.5, 0.25
    return run


def test_a_run_that_went_to_its_end_covered_its_whole_plan() -> None:
    summary = run_summary(_run("duration"), end_mono=103.0)
    assert summary == LoadSummary(
        target_rate=4.0,
        duration_s=2.0,
        elapsed_s=2.0,  # the last send came 1.25 s in: the planned 2 s is longer
        stopped_by="duration",
        start=1796017540.25,  # wall time of start_mono, to the microsecond (2**-22 s = 0.24 us)
        planned=8,
        scheduled=8,
        sent=3,
        completed=2,
        ok=1,
        degraded=1,
        unfinished=0,
        errors={"timeout": 0, "connect": 1, "reset": 0, "other": 0},
        statuses={"200": 1, "500": 1},
        sent_by_endpoint={"/a": 2, "/b": 1},
        reached={"/a": 2, "/b": 0},
        achieved_rate=1.5,  # 3 sent / 2 s
        p50_lag_ms=0.5,  # sorted 0.25 0.5 1.5: rank ceil(1.5) = 2
        p99_lag_ms=1.5,
        max_lag_ms=1.5,
        short=True,
        short_reason="achieved 1.5 req/s < 95% of the 4 req/s target",
        timeline="timeline.csv",
        extra={
            "base_url": "http://127.0.0.1:1",
            "seed": 3,
            "timeout_s": 2.0,
            "loop": "asyncio",
            "nice": os.getpriority(os.PRIO_PROCESS, 0),
            "cpu_run_ms": 12.5,
            "cpu_wait_ms": 0.25,
        },
    )


def test_a_late_backlog_stretches_the_covered_time() -> None:
    run = _run("duration")
    run.last_send_mono = 103.0  # the last request went out 2.5 s after the start
    summary = run_summary(run, end_mono=103.0)
    assert (summary.elapsed_s, summary.scheduled, summary.achieved_rate) == (2.5, 8, 1.2)


@pytest.mark.parametrize(
    ("end_mono", "elapsed_s", "scheduled"),
    [
        (101.75, 1.25, 6),  # 1.25 s x 4 req/s = 5: slots 0..5 had fallen due (5 exactly at the end)
        (100.75, 0.25, 2),  # 0.25 s x 4 = 1: slots 0 and 1
        (100.5, 0.0, 1),  # stopped at the start: slot 0 was due
        (100.25, 0.0, 0),  # stopped before the start: nothing was due
        (110.0, 9.5, 8),  # long after the plan's end: every slot, no more
    ],
)
def test_a_signalled_run_covered_the_slots_due_before_it_stopped(
    end_mono: float, elapsed_s: float, scheduled: int
) -> None:
    summary = run_summary(_run("signal"), end_mono=end_mono)
    assert (summary.stopped_by, summary.elapsed_s, summary.scheduled) == (
        "signal",
        elapsed_s,
        scheduled,
    )


def _fake_open(content: str) -> Callable[..., Any]:
    """An `open` for a filesystem where only the schedstat file exists, holding `content`."""

    def fake_open(path: str, *args: object, **kwargs: object) -> io.StringIO:
        if path != SCHEDSTAT:
            raise FileNotFoundError(path)
        return io.StringIO(content)

    return fake_open


def test_cpu_schedstat_converts_nanoseconds_to_ms(monkeypatch: pytest.MonkeyPatch) -> None:
    # /proc/<tid>/schedstat: ns on a CPU, ns runnable but waiting, timeslices
    monkeypatch.setattr(loadsummary, "open", _fake_open("123456789 2000000 42\n"), raising=False)
    assert cpu_schedstat() == (123.456789, 2.0)


@pytest.mark.parametrize("content", ["", "123 456\n", "12 x 3\n"])
def test_cpu_schedstat_of_an_unreadable_file_is_none(
    monkeypatch: pytest.MonkeyPatch, content: str
) -> None:
    monkeypatch.setattr(loadsummary, "open", _fake_open(content), raising=False)
    assert cpu_schedstat() is None


def test_cpu_schedstat_without_the_file_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_file(path: str, *args: object, **kwargs: object) -> io.StringIO:
        raise FileNotFoundError(path)

    monkeypatch.setattr(loadsummary, "open", no_file, raising=False)
    assert cpu_schedstat() is None


@pytest.mark.skipif(not Path(SCHEDSTAT).exists(), reason="Linux only")
def test_cpu_schedstat_reads_this_threads_file() -> None:
    before = [int(v) / 1e6 for v in Path(SCHEDSTAT).read_text().split()[:2]]
    got = cpu_schedstat()
    after = [int(v) / 1e6 for v in Path(SCHEDSTAT).read_text().split()[:2]]
    assert got is not None
    assert before[0] <= got[0] <= after[0] and before[1] <= got[1] <= after[1]
