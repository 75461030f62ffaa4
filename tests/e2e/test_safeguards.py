"""Stop conditions, failing infrastructure and the run lock, against real labs.

Destructive cases (a wedged or killed Toxiproxy, a crashed gateway) get a lab of their own.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaosrun.engine.rundir import list_runs, read_record
from chaosrun.lab.lab import LabInfo, listening_ports, load_lab_info
from chaosrun.lab.toxiproxy import ToxiproxyClient

from .conftest import REPO, is_clean, run_cli, start_cli, wait_for

EXPERIMENTS = REPO / "tests" / "e2e" / "experiments"
ABORT = EXPERIMENTS / "abort-on-availability.yaml"
HELD = EXPERIMENTS / "held-fault.yaml"


@pytest.fixture
def own_lab(tmp_path: Path) -> Iterator[tuple[Path, LabInfo]]:
    home = tmp_path / "home"
    up = run_cli(home, "lab", "up")
    assert up.returncode == 0, up.stderr
    info = load_lab_info(home / "lab")
    assert info is not None
    try:
        yield home, info
    finally:
        for ref in info.processes:  # a test may have stopped one: let `lab down` kill it
            if ref.alive():
                os.kill(ref.pid, signal.SIGCONT)
        down = run_cli(home, "lab", "down")
        assert down.returncode == 0, down.stderr
        assert listening_ports(info.ports()) == []


def _journal(out: str) -> dict[str, Any]:
    return json.loads(Path(json.loads(out)["journal"]).read_text())  # type: ignore[no-any-return]


def _with(path: Path, tmp: Path, edit: Any) -> Path:
    document = yaml.safe_load(path.read_text())
    edit(document)
    out = tmp / path.name
    out.write_text(yaml.safe_dump(document))
    return out


def _pid(home: Path, name: str) -> int:
    info = load_lab_info(home / "lab")
    assert info is not None
    return next(p.pid for p in info.processes if p.name == name)


def test_availability_safeguard_aborts_and_reverts_at_once(tmp_path: Path) -> None:
    started = time.monotonic()
    result = run_cli(tmp_path, "run", str(ABORT), "--json", timeout=60)
    elapsed = time.monotonic() - started
    assert result.returncode == 4, result.stderr
    assert elapsed < 40, "the fault is held for 60 s: only the safeguard ends the run early"
    journal = _journal(result.stdout)
    chaosrun = journal["chaosrun"]
    assert journal["status"] == "aborted"
    assert chaosrun["worker"]["reason"].startswith(
        "safeguard 'browse-availability-floor' fired: availability "
    )
    assert chaosrun["safeguard"]["kind"] == "slo"
    early = chaosrun["restore"]["early"]
    assert early["reverted"] == 1 and early["fallback"] is None
    assert chaosrun["restore"]["unreverted"] == 0
    assert json.loads(result.stdout)["status"] == "aborted"


def test_the_same_safeguard_stays_quiet_when_the_fallback_holds(tmp_path: Path) -> None:
    def shorten(doc: dict[str, Any]) -> None:
        doc["method"][0]["pauses"] = {"after": 3}

    quiet = _with(ABORT, tmp_path, shorten)
    result = run_cli(tmp_path, "run", str(quiet), "--variant", "healthy", "--json", timeout=90)
    assert result.returncode == 0, result.stderr + result.stdout
    journal = _journal(result.stdout)
    assert journal["status"] == "completed"
    assert journal["chaosrun"]["safeguard"] is None


def test_latency_safeguard_fires_on_a_slow_dependency_without_timeout(tmp_path: Path) -> None:
    def slow(doc: dict[str, Any]) -> None:
        chaosrun = doc["extensions"][0]
        chaosrun["target"] = {"lab": {"variant": "no-timeout"}}
        chaosrun["load"]["endpoints"] = ["/api/play"]
        # Far above what CPU contention on a 2-core box adds (cpu_wait seen up to ~300 ms).
        chaosrun["abort_when"] = [{"latency_ms_above": {"p99": 1000}, "for_s": 1.0}]
        doc["method"][0]["provider"] = {
            "type": "python",
            "module": "chaosrun.faults.latency",
            "func": "inject",
            "arguments": {"proxy": "catalog", "latency_ms": 2500},
        }
        doc["rollbacks"][0]["provider"] = {
            "type": "python",
            "module": "chaosrun.faults.latency",
            "func": "revert",
            "arguments": {"proxy": "catalog"},
        }

    result = run_cli(tmp_path, "run", str(_with(ABORT, tmp_path, slow)), "--json", timeout=60)
    assert result.returncode == 4, result.stderr
    journal = _journal(result.stdout)
    assert journal["chaosrun"]["worker"]["reason"].startswith(
        "safeguard 'p99 above 1000 ms' fired: p99 "
    )
    assert journal["chaosrun"]["restore"]["early"]["reverted"] == 1


def test_probe_safeguard_runs_a_chaos_toolkit_probe(own_lab: tuple[Path, LabInfo]) -> None:
    home, info = own_lab

    def guard(doc: dict[str, Any]) -> None:
        probe = {
            "type": "probe",
            "name": "catalog-has-no-toxic",
            "tolerance": {"type": "range", "range": [0, 0], "target": "toxic_count"},
            "provider": {
                "type": "python",
                "module": "chaosrun.probes.proxy",
                "func": "proxy_state",
                "arguments": {"proxy": "catalog"},
            },
        }
        doc["extensions"] = [
            {"name": "chaosrun", "deadline_s": 90, "abort_when": [{"probe": probe, "every_s": 0.2}]}
        ]

    experiment = _with(HELD, home, guard)
    result = run_cli(home, "run", str(experiment), "--json", timeout=60)
    assert result.returncode == 4, result.stderr
    journal = _journal(result.stdout)
    assert journal["chaosrun"]["safeguard"]["safeguard"] == "probe catalog-has-no-toxic"
    assert is_clean(ToxiproxyClient(info.toxiproxy_url))


def _run_and_break(home: Path, break_it: Any, experiment: Path = HELD) -> tuple[int, str, float]:
    client = ToxiproxyClient(load_lab_info(home / "lab").toxiproxy_url)  # type: ignore[union-attr]
    proc = start_cli(home, "run", str(experiment), "--json")
    try:
        wait_for(lambda: not client.proxy("auth").enabled, 30, "auth proxy to go down")
        broke_at = time.monotonic()
        break_it()
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - broke_at
    finally:
        proc.kill()
    assert "Traceback" not in err, err
    return proc.returncode, out, took


def test_wedged_toxiproxy_aborts_in_bounded_time_and_the_lab_is_restarted(
    own_lab: tuple[Path, LabInfo],
) -> None:
    home, info = own_lab
    old = _pid(home, "toxiproxy")
    code, out, took = _run_and_break(home, lambda: os.kill(old, signal.SIGSTOP))
    assert code == 4
    assert took < 30
    journal = _journal(out)
    assert journal["status"] == "aborted"
    assert journal["chaosrun"]["worker"]["reason"].startswith("toxiproxy unreachable: no answer")
    assert journal["chaosrun"]["restore"]["early"]["fallback"] == "toxiproxy restarted"
    assert _pid(home, "toxiproxy") != old
    assert is_clean(ToxiproxyClient(info.toxiproxy_url))
    status = run_cli(home, "lab", "status", "--json")
    assert json.loads(status.stdout)["running"] is True


def test_dead_toxiproxy_aborts_and_the_lab_is_restarted(own_lab: tuple[Path, LabInfo]) -> None:
    home, info = own_lab
    old = _pid(home, "toxiproxy")
    code, out, _ = _run_and_break(home, lambda: os.kill(old, signal.SIGKILL))
    assert code == 4
    reason = _journal(out)["chaosrun"]["worker"]["reason"]
    assert reason == f"toxiproxy unreachable: its server (pid {old}) exited"
    assert is_clean(ToxiproxyClient(info.toxiproxy_url))


def test_crashed_target_aborts_and_reverts(own_lab: tuple[Path, LabInfo]) -> None:
    home, info = own_lab
    gateway = _pid(home, "gateway")
    code, out, took = _run_and_break(home, lambda: os.kill(gateway, signal.SIGKILL))
    assert code == 4
    assert took < 30
    journal = _journal(out)
    reason = journal["chaosrun"]["worker"]["reason"]
    assert reason == f"target crashed: lab process gateway (pid {gateway}) exited"
    assert is_clean(ToxiproxyClient(info.toxiproxy_url))


def test_unreachable_explicit_target_is_left_for_cleanup(
    own_lab: tuple[Path, LabInfo], tmp_path: Path
) -> None:
    """Not our server: no restart. The fault stays recorded; `cleanup` reverts it later."""
    home, info = own_lab

    def explicit(doc: dict[str, Any]) -> None:
        doc["extensions"][0]["target"] = {
            "service_url": info.service_url,
            "toxiproxy_url": info.toxiproxy_url,
        }

    experiment = _with(HELD, tmp_path, explicit)
    server = _pid(home, "toxiproxy")
    code, out, took = _run_and_break(home, lambda: os.kill(server, signal.SIGSTOP), experiment)
    assert code == 4
    assert took < 40
    journal = _journal(out)
    restore = journal["chaosrun"]["restore"]
    assert restore["unreverted"] >= 1
    assert "chaosrun cleanup" in restore["advice"]
    (run_dir,) = [r for r in list_runs(home) if read_record(r).state == "needs-revert"]  # type: ignore[union-attr]
    early = run_cli(home, "cleanup")  # Toxiproxy still wedged: nothing lost, nothing claimed
    assert early.returncode == 3
    assert f"not yet: {run_dir}: " in early.stdout
    assert read_record(run_dir).state == "needs-revert"  # type: ignore[union-attr]
    os.kill(server, signal.SIGCONT)
    cleanup = run_cli(home, "cleanup")
    assert cleanup.returncode == 0, cleanup.stderr
    assert read_record(run_dir).state == "reconciled"  # type: ignore[union-attr]
    assert is_clean(ToxiproxyClient(info.toxiproxy_url))


def test_a_second_run_on_the_same_lab_is_refused_naming_the_holder(
    own_lab: tuple[Path, LabInfo],
) -> None:
    home, info = own_lab
    client = ToxiproxyClient(info.toxiproxy_url)
    first = start_cli(home, "run", str(HELD))
    try:
        wait_for(lambda: not client.proxy("auth").enabled, 30, "auth proxy to go down")
        (run_dir,) = [r for r in list_runs(home) if read_record(r).state == "running"]  # type: ignore[union-attr]
        second = run_cli(home, "run", str(HELD), timeout=60)
        assert second.returncode == 3
        line = second.stderr.strip()
        assert line.startswith(f"chaosrun: {info.toxiproxy_url} is in use by run {run_dir.name} ")
        assert f"(pid {first.pid}, " in line
        assert not client.proxy("auth").enabled, "the refused run must not touch the first's faults"
        down = run_cli(home, "lab", "down")
        assert down.returncode == 3
        assert down.stderr.startswith(f"chaosrun: the lab is in use by run {run_dir.name} ")
        assert client.proxy("auth").enabled is False, "the lab is still up under the run"
        first.send_signal(signal.SIGINT)
        first.communicate(timeout=60)
    finally:
        first.kill()
    assert first.returncode == 130
    assert is_clean(client)


def test_crashed_explicit_target_is_seen_through_refused_connections(
    own_lab: tuple[Path, LabInfo], tmp_path: Path
) -> None:
    """No PID to watch on someone else's service: the load's refused connections tell."""
    home, info = own_lab

    def explicit_with_load(doc: dict[str, Any]) -> None:
        doc["extensions"][0]["target"] = {
            "service_url": info.service_url,
            "toxiproxy_url": info.toxiproxy_url,
        }
        doc["extensions"][0]["load"] = {"rate": 50, "endpoints": ["/health"], "warmup_s": 0.5}

    experiment = _with(HELD, tmp_path, explicit_with_load)
    gateway = _pid(home, "gateway")
    code, out, took = _run_and_break(home, lambda: os.kill(gateway, signal.SIGKILL), experiment)
    assert code == 4
    assert took < 30
    reason = _journal(out)["chaosrun"]["worker"]["reason"]
    assert reason.startswith(f"target unreachable: {info.service_url} refused every connection")
    assert is_clean(ToxiproxyClient(info.toxiproxy_url))
