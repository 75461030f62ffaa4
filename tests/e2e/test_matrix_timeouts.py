"""timeouts.yaml: PASS on the healthy lab, FAIL on no-timeout, timeout-too-long, no-retry-cap."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .matrix import describe, run_experiment, verdicts

# Whole experiments under load: run one at a time (make test runs this marker serially).
pytestmark = pytest.mark.matrix

CHECKS = {"timeout.bounded", "timeout.fallback", "retry.capped", "retry.backoff", "recovery.rto"}


# A second healthy run shows the pass is not luck; `make test-slow` runs it (make test: once).
@pytest.mark.parametrize("attempt", [1, pytest.param(2, marks=pytest.mark.slow)])
def test_healthy_lab_passes_every_timeout_check(tmp_path: Path, attempt: int) -> None:
    code, summary = run_experiment(tmp_path, "timeouts", "healthy")
    assert code == 0, describe(summary)
    assert set(verdicts(summary)) == CHECKS


@pytest.mark.parametrize(
    ("variant", "failing", "why"),
    [
        ("no-timeout", "timeout.bounded", r"^max (\d+\.\d) ms "),
        ("timeout-too-long", "timeout.bounded", r"^max (\d+\.\d) ms "),
        ("no-retry-cap", "retry.capped", r"; \d+ requests? over 3, e\.g\. "),
    ],
)
def test_broken_variants_fail_their_check(
    tmp_path: Path, variant: str, failing: str, why: str
) -> None:
    code, summary = run_experiment(tmp_path, "timeouts", variant)
    assert code == 1, describe(summary)
    verdict = verdicts(summary)[failing]
    assert verdict["status"] == "failed", describe(summary)
    found = re.search(why, verdict["observed"])
    assert found is not None, describe(summary)
    if failing == "timeout.bounded":  # waited the 1000 ms latency out, far past 350 + 150 ms
        assert float(found.group(1)) > 900.0, describe(summary)
