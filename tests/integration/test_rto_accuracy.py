"""Measured impact equals a ground-truth outage within the request interval (real processes)."""

from __future__ import annotations

from pathlib import Path

from chaosrun.lab.lab import lab_down, lab_up
from chaosrun.measure.accuracy import measure_outage


def test_measured_impact_matches_the_dependency_failure_window(tmp_path: Path) -> None:
    lab = lab_up(tmp_path / "lab")
    try:
        trials = [measure_outage(lab, tmp_path / f"t{i}", ms) for i, ms in enumerate((300, 700))]
    finally:
        assert lab_down(lab) == []
    for trial in trials:
        assert trial.measured_s is not None, trial
        # One request interval of resolution on each edge, plus loopback/processing jitter.
        assert abs(trial.error_s or 0.0) <= 2 * trial.interval_s + 0.005, trial
        assert trial.bad_requests >= int(trial.true_s / trial.interval_s) - 2, trial
