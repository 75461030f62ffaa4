"""bulkhead.yaml: PASS on the healthy lab, FAIL on the no-bulkhead variant."""

from __future__ import annotations

from pathlib import Path

import pytest

from .matrix import describe, run_experiment, verdicts

# Whole experiments under load: run one at a time (make test runs this marker serially).
pytestmark = pytest.mark.matrix

CHECKS = {"bulkhead.isolation", "bulkhead.cap", "bulkhead.rejects_fast"}


@pytest.mark.parametrize("attempt", [1, 2])
def test_healthy_lab_passes_every_bulkhead_check(tmp_path: Path, attempt: int) -> None:
    code, summary = run_experiment(tmp_path, "bulkhead", "healthy")
    assert code == 0, describe(summary)
    assert set(verdicts(summary)) == CHECKS


def test_no_bulkhead_fails_the_cap(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "bulkhead", "no-bulkhead")
    assert code == 1, describe(summary)
    cap = verdicts(summary)["bulkhead.cap"]
    assert cap["status"] == "failed", describe(summary)
    assert cap["observed"].endswith("gateway bulkhead limit none"), describe(summary)
