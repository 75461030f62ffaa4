"""The Kubernetes experiments on the k8s lab (a real control plane, kwok nodes, a real gateway
process behind each pod): each PASSES on the healthy lab and FAILS on the variant that lacks
the defence, and every change is put back.

- k8s-pod-kill (chaosk8s terminate_pods, one pod of four): healthy, no request fails; with one
  replica the Service has nothing to answer with until the replacement is ready -- the RTO is
  at least its readiness delay (2 s) and fails the 1 s objective;
- k8s-zone-drain (zone a cordoned and drained, evictions paced by the PodDisruptionBudget):
  healthy, no request fails and the drain completes; without a budget both pods of zone a go at
  once and two pods cannot carry 60 req/s (25 each) until the replacements are ready -- the
  RTO fails; with every replica pinned to zone a the drain cannot complete (the budget refuses
  the evictions the replacements could never take over) and the method fails.
Needs the control plane's binaries (`make k8s-tools`)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from chaosrun.lab.k8s.app import READY_DELAY_S

from .matrix import describe, run_experiment, verdicts

pytestmark = pytest.mark.matrix  # whole experiments under load: one at a time


def _rto(summary: dict[str, object]) -> float:
    observed = verdicts(summary)["recovery.rto"]["observed"]  # type: ignore[arg-type]
    found = re.match(r"recovered after (\d+\.\d+) s", str(observed))
    assert found, describe(summary)  # type: ignore[arg-type]
    return float(found[1])


def _unchanged(summary: dict[str, object]) -> None:
    faults = summary["faults"]
    assert isinstance(faults, dict) and faults["left"] == 0, describe(summary)  # type: ignore[arg-type]


# make test shows this PASS with the same experiment aimed at the lab as a cluster
# (tests/e2e/test_k8s_target.py); make test-slow runs it here too.
@pytest.mark.slow
def test_a_pod_kill_is_absorbed_by_the_other_replicas(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "k8s-pod-kill", "healthy")
    assert code == 0, describe(summary)
    rto = verdicts(summary)["recovery.rto"]
    assert rto["status"] == "passed" and "no SLO breach" in rto["observed"], describe(summary)
    assert summary["faults"]["injected"] == 1, describe(summary)


def test_a_single_replica_is_down_until_its_replacement_is_ready(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "k8s-pod-kill", "one-replica")
    assert code == 1, describe(summary)
    assert verdicts(summary)["recovery.rto"]["status"] == "failed", describe(summary)
    # Not before the replacement could be ready: the readiness delay is the ground truth.
    assert READY_DELAY_S <= _rto(summary) < READY_DELAY_S + 3, describe(summary)


def test_a_zone_drain_paced_by_the_budget_keeps_capacity(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "k8s-zone-drain", "healthy")
    assert code == 0, describe(summary)
    assert verdicts(summary)["recovery.rto"]["status"] == "passed", describe(summary)
    # Capacity held: next to nothing failed (each pod leaves the Service before it stops).
    assert summary["recovery"]["failed_requests"] <= 2, describe(summary)
    _unchanged(summary)  # zone a uncordoned by the rollback


def test_a_zone_drain_without_a_budget_loses_capacity(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "k8s-zone-drain", "no-pdb")
    assert code == 1, describe(summary)
    assert verdicts(summary)["recovery.rto"]["status"] == "failed", describe(summary)
    assert READY_DELAY_S <= _rto(summary) < READY_DELAY_S + 3, describe(summary)
    _unchanged(summary)


def test_a_zone_holding_every_replica_cannot_be_drained(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "k8s-zone-drain", "one-zone")
    assert code == 1, describe(summary)
    assert "not done in 10 s" in str(summary.get("reason")), describe(summary)
    assert "PodDisruptionBudget" in str(summary.get("reason")), describe(summary)
    _unchanged(summary)
