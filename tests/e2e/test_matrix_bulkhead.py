"""bulkhead.yaml: PASS on the healthy lab, FAIL on the no-bulkhead and shared-pool variants."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .matrix import describe, run_experiment, verdicts

# Whole experiments under load: run one at a time (make test runs this marker serially).
pytestmark = pytest.mark.matrix

CHECKS = {"bulkhead.isolation", "bulkhead.cap", "bulkhead.rejects_fast"}


# A second healthy run shows the pass is not luck; `make test-slow` runs it (make test: once).
@pytest.mark.parametrize("attempt", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_healthy_lab_passes_every_bulkhead_check(tmp_path: Path, attempt: int) -> None:
    code, summary = run_experiment(tmp_path, "bulkhead", "healthy")
    assert code == 0, describe(summary)
    assert set(verdicts(summary)) == CHECKS


def test_no_bulkhead_fails_the_cap_and_lets_calls_through(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "bulkhead", "no-bulkhead")
    assert code == 1, describe(summary)
    found = verdicts(summary)
    cap, rejects = found["bulkhead.cap"], found["bulkhead.rejects_fast"]
    assert cap["status"] == "failed", describe(summary)
    traced = re.search(
        r"traced from the requests (\d+), at recommendations \d+\)$", cap["observed"]
    )
    assert traced and int(traced[1]) > 10, describe(summary)
    assert cap["account"].startswith("bulkhead limit none, "), describe(summary)
    assert rejects["status"] == "failed", describe(summary)
    let_through = re.search(r", (\d+) let through; ", rejects["observed"])
    assert let_through and int(let_through[1]) > 0, describe(summary)


def test_a_shared_pool_fails_isolation_and_keeps_the_cap(tmp_path: Path) -> None:
    # One set of bulkhead slots for every dependency: slowed recommendations hold them, and the
    # calls to auth and catalog (/api/profile, /api/play) are rejected and answered by their
    # fallbacks: fast 200s, yet the fault leaked into endpoints that do not use it.
    code, summary = run_experiment(tmp_path, "bulkhead", "shared-pool")
    assert code == 1, describe(summary)
    found = verdicts(summary)
    isolation = found["bulkhead.isolation"]
    assert isolation["status"] == "failed", describe(summary)
    # e.g. "availability 1.0000 (0 of 324 failed), p99 16.6 ms; 61 degraded (1.2% of them
    # before the fault)": far more degraded during the fault than the share before it.
    degraded = re.search(
        r" of (\d+) failed\).*; (\d+) degraded \((\d+\.\d)% of them before the fault\)$",
        isolation["observed"],
    )
    assert degraded, describe(summary)
    usual = int(degraded[1]) * float(degraded[3]) / 100
    assert int(degraded[2]) > 3 * usual, describe(summary)
    assert found["bulkhead.cap"]["status"] == "passed", describe(summary)
