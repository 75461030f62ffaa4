"""The resource-exhaustion experiments: each PASSES on the healthy lab and FAILS on the variant
that lacks the defence, and leaves nothing behind either way.

- cpu: catalog's process held to 1% of a core for 3 s (no-fallback fails);
- disk: the gateway's data directory full for 4 s (unhandled-disk-full fails);
- memory: catalog OOM-killed in its squeezed cgroup (no-restart fails);
- connection pool: catalog's 64 connections held for 4 s (no-timeout fails).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chaosrun import undolog
from chaosrun.faults import disk_full, hold_connections, memory_pressure
from chaosrun.faults._host import CPU_ROOT, processes_tagged

from .matrix import describe, run_experiment, verdicts

pytestmark = pytest.mark.matrix  # whole experiments under load: one at a time

CHECKS = {"recovery.rto", "timeout.bounded", "timeout.fallback", "retry.capped", "retry.backoff"}


def _cgroups_made(summary: dict[str, object]) -> list[Path]:
    log = Path(str(summary["run_dir"])) / "undo.log"
    return [
        Path(str(e.params["cgroup"])) for e in undolog.all_entries(log) if e.fault == "cpu_quota"
    ]


def test_a_starved_catalog_is_timed_out_and_replaced_by_its_fallback(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "resource-exhaustion-cpu", "healthy")
    assert code == 0, describe(summary)
    found = verdicts(summary)
    assert set(found) == CHECKS, describe(summary)
    fallback = found["timeout.fallback"]["observed"]
    degraded = re.match(r"(\d+) of \1 answered 200, (\d+) degraded$", fallback)
    assert degraded and int(degraded[2]) > 100, describe(summary)  # catalog really starved
    (made,) = _cgroups_made(summary)
    assert made.parent == CPU_ROOT and not made.exists()


def test_without_a_fallback_the_starved_catalog_fails_playback(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "resource-exhaustion-cpu", "no-fallback")
    assert code == 1, describe(summary)
    found = verdicts(summary)
    fallback = found["timeout.fallback"]
    assert fallback["status"] == "failed", describe(summary)
    assert re.search(r", 0 degraded; \d+ not 200 \(502\)", fallback["observed"]), describe(summary)
    # Playback breaks (502s) and recovers: measured (the quota's breach may recover before the
    # fast failures breach again, within the objective, or not).
    assert found["recovery.rto"]["observed"].startswith("recovered after "), describe(summary)
    assert not any(path.exists() for path in _cgroups_made(summary))


DISK_CHECKS = {
    "recovery.rto",
    "degradation.degrades",
    "degradation.keeps_slo",
    "degradation.recovers",
}


def _mounts_made(summary: dict[str, object]) -> list[tuple[str, str]]:
    log = Path(str(summary["run_dir"])) / "undo.log"
    return [
        (str(e.params["directory"]), str(e.params["source"]))
        for e in undolog.all_entries(log)
        if e.fault == "disk_full"
    ]


def test_a_full_disk_degrades_plays_and_browsing_keeps_its_slo(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "resource-exhaustion-disk", "healthy")
    assert code == 0, describe(summary)
    found = verdicts(summary)
    assert set(found) == DISK_CHECKS, describe(summary)
    degrades = found["degradation.degrades"]["observed"]
    degraded = re.match(r"(\d+) of (\d+) requests degraded$", degrades)
    assert degraded, describe(summary)
    # Every play met ENOSPC (but one whose write came as the mount was made).
    assert int(degraded[1]) > 100 and int(degraded[2]) - int(degraded[1]) <= 2, degrades
    assert found["recovery.rto"]["observed"].startswith("no SLO breach"), describe(summary)
    ((directory, source),) = _mounts_made(summary)
    assert directory.endswith("/data/gateway") and (directory, source) not in disk_full.mounted()
    # The run's own final check asked this host, and found nothing left.
    assert summary["faults"] == {
        "injected": 1,
        "left": 0,
        "where": [],
        "on_host": True,
        "on_cluster": False,
    }


def test_a_gateway_that_does_not_handle_enospc_fails_its_plays(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "resource-exhaustion-disk", "unhandled-disk-full")
    assert code == 1, describe(summary)
    found = verdicts(summary)
    degrades = found["degradation.degrades"]
    assert degrades["status"] == "failed", describe(summary)
    assert re.match(r"0 of \d+ requests degraded, \d+ failed \(500\)$", degrades["observed"])
    assert found["degradation.keeps_slo"]["status"] == "passed", describe(summary)  # reads fine
    assert found["recovery.rto"]["status"] == "failed", describe(summary)  # 500s for the 4 s
    assert not disk_full.mounted()


MEMORY_CHECKS = {"recovery.rto", "degradation.degrades", "degradation.recovers"}


def _memory_outputs(summary: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The memory fault's revert output, and the catalog keeper's record of its exits."""
    run_dir = Path(str(summary["run_dir"]))
    journal = json.loads((run_dir / "journal.json").read_text())
    (revert,) = [
        r["output"]
        for r in journal["run"]
        if r["activity"]["name"] == "give-catalog-its-memory-back"
    ]
    restarts = run_dir / "lab" / "logs" / "catalog.restarts"
    exits = [json.loads(line) for line in restarts.read_text().splitlines()]
    return revert, exits


def test_an_oom_killed_catalog_is_restarted_and_browsing_recovers(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "resource-exhaustion-memory", "healthy")
    assert code == 0, describe(summary)
    found = verdicts(summary)
    assert set(found) == MEMORY_CHECKS, describe(summary)
    revert, exits = _memory_outputs(summary)
    assert revert["reverted"] is True and revert["oom_kills"] >= 1  # the kernel killed it
    assert exits[0]["signal"] == "SIGKILL" and exits[0]["restarted"] is True
    recovers = found["degradation.recovers"]["observed"]
    assert re.match(r"0 of \d+ later requests still degraded or failed \(degraded from", recovers)
    assert not memory_pressure_left(summary)
    assert summary["faults"] == {
        "injected": 1,
        "left": 0,
        "where": [],
        "on_host": True,
        "on_cluster": False,
    }


def test_without_a_restart_the_oom_killed_catalog_stays_gone(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "resource-exhaustion-memory", "no-restart")
    assert code == 1, describe(summary)
    found = verdicts(summary)
    recovers = found["degradation.recovers"]
    assert recovers["status"] == "failed", describe(summary)
    assert re.match(r"(\d+) of \1 later requests still degraded or failed", recovers["observed"])
    assert found["recovery.rto"]["status"] == "passed", describe(summary)  # the fallback held
    revert, exits = _memory_outputs(summary)
    assert revert["oom_kills"] >= 1
    assert exits == [{**exits[0], "signal": "SIGKILL", "restarted": False}]
    assert not memory_pressure_left(summary)


def memory_pressure_left(summary: dict[str, Any]) -> list[int]:
    """Allocation processes of the run still alive."""
    log = Path(str(summary["run_dir"])) / "undo.log"
    tags = [str(e.params["tag"]) for e in undolog.all_entries(log) if e.fault == "memory_pressure"]
    assert tags, "the run made no memory_pressure undo entry"
    return [pid for tag in tags for pid in processes_tagged(memory_pressure.MODULE, tag)]


POOL_CHECKS = {
    "recovery.rto",
    "degradation.degrades",
    "degradation.keeps_slo",
    "degradation.recovers",
}


def _holders_left(summary: dict[str, Any]) -> list[int]:
    log = Path(str(summary["run_dir"])) / "undo.log"
    tags = [str(e.params["tag"]) for e in undolog.all_entries(log) if e.fault == "hold_connections"]
    assert tags, "the run made no hold_connections undo entry"
    return [pid for tag in tags for pid in processes_tagged(hold_connections.MODULE, tag)]


def test_a_used_up_pool_is_waited_on_briefly_and_browsing_falls_back(tmp_path: Path) -> None:
    code, summary = run_experiment(tmp_path, "resource-exhaustion-connection-pool", "healthy")
    assert code == 0, describe(summary)
    found = verdicts(summary)
    assert set(found) == POOL_CHECKS, describe(summary)
    degraded = re.match(
        r"(\d+) of (\d+) requests degraded$", found["degradation.degrades"]["observed"]
    )
    assert degraded and int(degraded[1]) > int(degraded[2]) // 2, describe(summary)  # it bit
    assert not _holders_left(summary)


def test_without_a_timeout_the_gateway_waits_for_a_connection_without_bound(
    tmp_path: Path,
) -> None:
    code, summary = run_experiment(tmp_path, "resource-exhaustion-connection-pool", "no-timeout")
    assert code == 1, describe(summary)
    keeps = verdicts(summary)["degradation.keeps_slo"]
    assert keeps["status"] == "failed", describe(summary)
    p99 = re.search(r"p99 ([\d.]+) ms", keeps["observed"])
    assert p99 and float(p99[1]) > 1000, describe(summary)  # stuck until the client gave up
    assert not _holders_left(summary)
