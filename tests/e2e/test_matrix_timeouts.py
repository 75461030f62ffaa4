"""timeouts.yaml: PASS on the healthy lab, FAIL on no-timeout, timeout-too-long, no-retry-cap."""

from __future__ import annotations

from pathlib import Path

import pytest

from .matrix import describe, run_experiment, verdicts

# Whole experiments under load: run one at a time (make test runs this marker serially).
pytestmark = pytest.mark.matrix

CHECKS = {"timeout.bounded", "timeout.fallback", "retry.capped", "retry.backoff", "recovery.rto"}


@pytest.mark.parametrize("attempt", [1, 2])
def test_healthy_lab_passes_every_timeout_check(tmp_path: Path, attempt: int) -> None:
    code, summary = run_experiment(tmp_path, "timeouts", "healthy")
    assert code == 0, describe(summary)
    assert set(verdicts(summary)) == CHECKS


@pytest.mark.parametrize(
    ("variant", "failing"),
    [
        ("no-timeout", "timeout.bounded"),
        ("timeout-too-long", "timeout.bounded"),
        ("no-retry-cap", "retry.capped"),
    ],
)
def test_broken_variants_fail_their_check(tmp_path: Path, variant: str, failing: str) -> None:
    code, summary = run_experiment(tmp_path, "timeouts", variant)
    assert code == 1, describe(summary)
    assert verdicts(summary)[failing]["passed"] is False, describe(summary)
