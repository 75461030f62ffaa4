"""The run history: SQLite rows from runs, nightly trends, regressions against recent medians."""

from __future__ import annotations

import multiprocessing
from dataclasses import replace
from pathlib import Path

import pytest

from chaosrun.history.store import HistoryRow, append_run, read_history, row_from_run
from chaosrun.history.trends import RegressionPolicy, nightly, regressions

DAY = 86400.0
T0 = 1_796_000_000.0  # 2026-11-30 (UTC), 09:33:20


def _row(at: float, rto: float | None = 2.0, **more: object) -> HistoryRow:
    base = HistoryRow(
        experiment="latency-injection.yaml",
        title="t",
        file="experiments/latency-injection.yaml",
        run_id=f"r{at}",
        suite_id=None,
        started_at=at,
        duration_s=12.0,
        verdict="passed",
        exit_code=0,
        ttd_s=0.01,
        rto_s=rto,
        rto_objective_s=6.0,
        requests=1000,
        failed_requests=2,
        availability_objective=0.99,
        budget_burned=0.2,
    )
    return replace(base, **more)  # type: ignore[arg-type]


def test_a_row_from_a_run_summary_and_journal() -> None:
    summary = {"title": "T", "verdict": "failed", "exit_code": 1, "duration_s": 11.5,
               "rto_objective_s": 6}  # fmt: skip
    journal = {
        "start": "2026-12-03T06:52:42.663143+00:00",
        "chaosrun": {
            "run_id": "20261203T065242-abc",
            "experiment_file": "/x/experiments/latency-injection.yaml",
            "recovery": {
                "ttd_s": 0.008,
                "rto_s": 3.011,
                "error_budget": {
                    "availability": 0.99,
                    "requests": 1388,
                    "failed": 7,
                    "burned": 0.5043,
                },
            },
        },
    }
    row = row_from_run(summary, journal, "suite-1")
    assert row.experiment == "latency-injection.yaml"
    assert row.started_at == pytest.approx(1_796_280_762.663143)
    assert (row.verdict, row.exit_code, row.suite_id) == ("failed", 1, "suite-1")
    assert (row.ttd_s, row.rto_s, row.rto_objective_s) == (0.008, 3.011, 6.0)
    assert (row.requests, row.failed_requests, row.budget_burned) == (1388, 7, 0.5043)
    assert row.availability_objective == 0.99


def test_a_run_that_measured_nothing_has_empty_figures() -> None:
    row = row_from_run({"verdict": "not-steady"}, {"chaosrun": {"experiment_file": "a.yaml"}}, None)
    assert (row.rto_s, row.ttd_s, row.requests, row.budget_burned) == (None, None, None, None)


def test_store_round_trip_by_name_or_stem_and_since(tmp_path: Path) -> None:
    assert read_history(tmp_path) == []
    rows = [_row(T0), _row(T0 + DAY), _row(T0 + 2 * DAY, experiment="bulkhead.yaml")]
    for row in rows:
        append_run(tmp_path, row)
    assert read_history(tmp_path) == rows
    assert read_history(tmp_path, "latency-injection") == rows[:2]
    assert read_history(tmp_path, "latency-injection.yaml", since=T0 + 1) == rows[1:2]
    assert read_history(tmp_path, "bulkhead.yml") == rows[2:]


def _append_many(home: str, worker: int) -> None:
    for n in range(20):
        append_run(Path(home), _row(T0 + worker * 100 + n))


def test_parallel_runs_append_without_losing_a_row(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    assert len(read_history(tmp_path)) == 80


def test_nightly_medians_per_utc_day() -> None:
    rows = [
        _row(T0, rto=1.0),
        _row(T0 + 60, rto=3.0, verdict="failed"),
        _row(T0 + 120, rto=None),
        _row(T0 + DAY, rto=5.0, budget_burned=None),
    ]
    nights = nightly(rows)
    assert [(n.day, n.runs, n.passed, n.rto_s) for n in nights] == [
        ("2026-11-30", 3, 2, 2.0),
        ("2026-12-01", 1, 1, 5.0),
    ]
    assert nights[1].budget_burned is None


class TestRegressions:
    policy = RegressionPolicy(margin=0.25, window=7, min_runs=3, floor_s=0.1)

    def _earlier(self, *rtos: float) -> list[HistoryRow]:
        return [_row(T0 + i * DAY, rto=r) for i, r in enumerate(rtos)]

    def test_worse_than_the_median_by_the_margin(self) -> None:
        earlier = self._earlier(2.0, 2.1, 1.9, 2.0)
        found = regressions(_row(T0 + 10 * DAY, rto=2.6), earlier, self.policy)
        assert found == [
            "latency-injection.yaml: RTO 2.6 s is worse than the median 2 s of its last 4 "
            "runs by more than 25%"
        ]
        assert regressions(_row(T0 + 10 * DAY, rto=2.49), earlier, self.policy) == []

    def test_the_floor_keeps_noise_on_small_figures_out(self) -> None:
        earlier = self._earlier(0.1, 0.1, 0.1)
        assert regressions(_row(T0 + 9 * DAY, rto=0.19), earlier, self.policy) == []
        assert regressions(_row(T0 + 9 * DAY, rto=0.21), earlier, self.policy) != []

    def test_needs_enough_runs_and_looks_only_back_within_the_window(self) -> None:
        assert regressions(_row(T0 + 9 * DAY, rto=9.0), self._earlier(1.0, 1.0), self.policy) == []
        slow_then_fast = self._earlier(9.0, 9.0, 9.0, 1.0, 1.0, 1.0)
        policy = replace(self.policy, window=3)
        assert regressions(_row(T0 + 9 * DAY, rto=5.0), slow_then_fast, policy) != []
        later = [_row(T0 + 20 * DAY, rto=0.1)] * 3  # after the run: not its history
        assert regressions(_row(T0 + 9 * DAY, rto=5.0), later, self.policy) == []

    def test_budget_burned_too(self) -> None:
        earlier = [_row(T0 + i * DAY, budget_burned=0.2) for i in range(3)]
        found = regressions(_row(T0 + 5 * DAY, budget_burned=0.6), earlier, self.policy)
        assert len(found) == 1 and "error budget burned 0.6 is worse" in found[0]


def test_nights_are_utc_days_whatever_the_local_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    import time as clock

    monkeypatch.setenv("TZ", "America/New_York")
    clock.tzset()
    try:
        late = 1_796_256_000.0 - 60  # 2026-12-02 23:59 UTC, 18:59 in New York
        nights = nightly([_row(late, ttd_s=0.5, budget_burned=0.3), _row(late + 120)])
    finally:
        monkeypatch.delenv("TZ")
        clock.tzset()
    assert [(n.day, n.runs) for n in nights] == [("2026-12-02", 1), ("2026-12-03", 1)]
    assert (nights[0].ttd_s, nights[0].budget_burned) == (0.5, 0.3)


def test_regression_boundaries_and_figures_past_a_missing_one() -> None:
    policy = RegressionPolicy(margin=0.5, window=7, min_runs=3, floor_s=0.25)
    earlier = [_row(T0 + i, rto=1.0, ttd_s=1.0) for i in range(3)]
    at_margin = _row(T0 + 10, rto=1.5, ttd_s=None)  # exactly 50 % worse: not more than
    assert regressions(at_margin, earlier, policy) == []
    tight = RegressionPolicy(margin=0.1, window=7, min_runs=3, floor_s=0.25)
    at_floor = _row(T0 + 10, rto=1.25, ttd_s=None)  # exactly 0.25 s worse: not more than
    assert regressions(at_floor, earlier, tight) == []
    no_rto = _row(T0 + 10, rto=None, ttd_s=3.0)  # RTO missing: TTD is still judged
    (found,) = regressions(no_rto, earlier, policy)
    assert found.startswith("latency-injection.yaml: TTD 3 s is worse than the median 1 s")
    same_moment = [*earlier, *(_row(T0 + 10, rto=5.0) for _ in range(3))]  # not before it
    assert regressions(_row(T0 + 10, rto=1.6), same_moment, policy) != []
