"""Reported recovery figures match a ground-truth outage, whatever the SLO window (real processes).

A lab dependency fails for exactly X ms from inside its own process (`start_failure`) under 200
req/s of chaosrun's open-loop load through its proxy. `ttd_s`, `rto_s` and
`recovery_after_clear_s`, computed by `analyse_recovery` exactly as a run reports them, must equal
the truth (first request the dependency failed, minus S; its own end E, minus S; minus E) within
3 request intervals + 10 ms, for a 0.5 s and a 2 s trailing window evaluated on the same timeline.

This fails on the analysis before commit d470270 (recovery read off the trailing window's end: late
by about one window, for both windows); bench/accuracy.py measures the same over many outages.
"""

from __future__ import annotations

import pytest

from chaosrun.lab.lab import lab_down, lab_up
from chaosrun.measure.accuracy import (
    FIGURES,
    OutageRun,
    figure_errors,
    lab_outage,
    reported_figures,
)

WINDOWS = (0.5, 2.0)
STABILITY_S = 2.0
OUTAGES_MS = (250, 700)


@pytest.fixture(scope="module")
def outages(tmp_path_factory: pytest.TempPathFactory) -> list[OutageRun]:
    tmp = tmp_path_factory.mktemp("rto-accuracy")
    lab = lab_up(tmp / "lab")
    try:
        # The tail lets the old analysis (late by a window) still report a figure to compare.
        return [
            lab_outage(lab, tmp / f"t{i}", ms, lead_s=max(WINDOWS), tail_s=max(WINDOWS) + 2.5)
            for i, ms in enumerate(OUTAGES_MS)
        ]
    finally:
        assert lab_down(lab) == []


@pytest.mark.parametrize("window_s", WINDOWS)
def test_reported_figures_match_the_ground_truth_outage(
    outages: list[OutageRun], window_s: float
) -> None:
    for run in outages:
        tolerance_s = 3 * run.interval_s + 0.010
        truth = run.truth.figures
        assert truth.ttd_s is not None and truth.ttd_s <= tolerance_s, run.truth
        reported = reported_figures(run.records, run.truth, window_s, stability_s=STABILITY_S)
        errors = figure_errors(reported, truth)
        for name in FIGURES:
            error = errors.get(name)
            assert error is not None, f"{name}: not reported ({reported}); truth {truth}"
            assert abs(error) <= tolerance_s, (
                f"window {window_s} s, outage {run.truth.end - run.truth.start:.3f} s: {name} "
                f"reported {reported.get(name)}, truth {truth.get(name)}, error {error * 1000:+.1f}"
                f" ms > {tolerance_s * 1000:.0f} ms (load short: {run.load.get('short_reason')})"
            )
