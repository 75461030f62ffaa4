"""Timeout verdicts on a target chaosrun did not write: HAProxy in front of a backend.

The response side of `expect: {timeout: ...}` (`timeout.bounded`, `timeout.fallback`) is judged
from the client's timeline and the fault window alone, so it is judged here: it passes when
HAProxy's `timeout server` is below the injected latency (it answers its fallback) and fails when
it is above (every request waits the slow backend out). The retry verdicts need what reached the
dependency, which this target does not give: they are not judged, say so, and keep the run from
passing (verdict `not-judged`, exit 1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import run_cli
from tests.e2e.external import external_target

pytestmark = pytest.mark.matrix  # load-driven: measured latencies, run serially

EXPERIMENT = """\
version: 1.0.0
title: api slowed past HAProxy's server timeout
description: a target the lab does not contain
extensions:
  - name: chaosrun
    target:
      service_url: {service_url}
      toxiproxy_url: {toxiproxy_url}
    load:
      rate: 40
      endpoints: {{/api/item: 1}}
      warmup_s: 1
      cooldown_s: 1
    expect:
      timeout:
        dependency: api
        endpoint: /api/item
        timeout_ms: 300
        max_retries: 0
        epsilon_ms: 200
    deadline_s: 30
method:
  - type: action
    name: slow-down-api
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {{proxy: api, latency_ms: 900}}
    pauses: {{after: 2}}
  - type: action
    name: restore-api
    provider:
      type: python
      module: chaosrun.faults.latency
      func: revert
      arguments: {{proxy: api}}
"""

NOT_JUDGED = (
    "not judged: what reached api and the service's account of it (the lab's /state); this "
    "target gives neither"
)


def _run(tmp_path: Path, server_timeout_ms: int) -> tuple[dict[str, Any], dict[str, Any]]:
    with external_target(tmp_path / "target", server_timeout_ms) as target:
        experiment = tmp_path / "external.yaml"
        experiment.write_text(
            EXPERIMENT.format(service_url=target.service_url, toxiproxy_url=target.toxiproxy_url)
        )
        result = run_cli(tmp_path / "home", "run", str(experiment), "--json", timeout=90)
    summary = json.loads(result.stdout)
    assert summary["exit_code"] == result.returncode, result.stderr
    return summary, {c["check"]: c for c in summary["checks"]}


def test_a_timeout_below_the_latency_passes_the_response_side(tmp_path: Path) -> None:
    summary, checks = _run(tmp_path, server_timeout_ms=300)
    assert checks["timeout.bounded"]["status"] == "passed", checks["timeout.bounded"]
    assert checks["timeout.fallback"]["status"] == "passed", checks["timeout.fallback"]
    assert checks["timeout.fallback"]["observed"].endswith(" degraded")
    for name in ("retry.capped", "retry.backoff"):
        assert (checks[name]["status"], checks[name]["observed"]) == ("not-judged", NOT_JUDGED)
    assert (summary["verdict"], summary["exit_code"]) == ("not-judged", 1)
    assert (
        summary["reason"]
        == f"a resilience verdict could not be judged: retry.capped: {NOT_JUDGED} (and 1 more)"
    )


def test_a_timeout_above_the_latency_fails_it_for_the_right_reason(tmp_path: Path) -> None:
    summary, checks = _run(tmp_path, server_timeout_ms=5000)
    bounded, fallback = checks["timeout.bounded"], checks["timeout.fallback"]
    assert bounded["status"] == "failed", bounded
    worst = float(bounded["observed"].split()[1])  # "max 912.3 ms (p99 ...) over N responses"
    assert worst > 900.0  # every request waited the 900 ms latency out
    assert fallback["status"] == "failed", fallback
    assert (
        "0 degraded" in fallback["observed"] and "waited without fallback" in fallback["observed"]
    )
    assert (summary["verdict"], summary["exit_code"]) == ("failed", 1)
    assert summary["reason"].startswith("resilience verdict failed: timeout.bounded: max ")
