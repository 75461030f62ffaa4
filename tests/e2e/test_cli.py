"""End to end: validate, run against the lab and its variants, interrupt, kill."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import yaml

from chaosrun.engine.rundir import list_runs, read_record
from chaosrun.engine.worker import EVENTS_FILE
from chaosrun.lab.toxiproxy import ToxiproxyClient

from .conftest import REPO, is_clean, run_cli, start_cli, wait_for

HELD = str(REPO / "tests" / "e2e" / "experiments" / "held-fault.yaml")


def test_validate_ok_and_bad(tmp_path: Path) -> None:
    ok = run_cli(
        tmp_path,
        "validate",
        "experiments/latency-injection.yaml",
        "experiments/dependency-failure.yaml",
    )
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == [
        "ok experiments/latency-injection.yaml",
        "ok experiments/dependency-failure.yaml",
    ]
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\ndescription: d\nmetod: []\n")
    result = run_cli(tmp_path, "validate", str(bad))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[0] == (
        f"chaosrun: {bad}:3: metod: unknown key 'metod'; did you mean 'method'?"
    )


def test_run_with_bad_input_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("title: t\ndescription: d\nmethod: {}\n")
    result = run_cli(tmp_path, "run", str(bad))
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert not (tmp_path / "runs").exists()


def test_lab_status_json_lists_endpoints(lab: dict[str, Any]) -> None:
    status = run_cli(lab["home"], "lab", "status", "--json")
    assert status.returncode == 0
    data = json.loads(status.stdout)
    assert data["running"] is True
    assert data["toxiproxy_url"].startswith("http://127.0.0.1:")
    assert set(data["proxies"]) == {"catalog", "recommendations", "auth"}
    assert ToxiproxyClient(data["toxiproxy_url"]).is_up()


def test_run_passes_on_the_healthy_running_lab(lab: dict[str, Any], tmp_path: Path) -> None:
    journal = tmp_path / "journal.json"
    result = run_cli(
        lab["home"],
        "run",
        "experiments/dependency-failure.yaml",
        "--json",
        "--journal-path",
        str(journal),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert (summary["verdict"], summary["exit_code"]) == ("passed", 0)
    assert summary["target"]["lab"] == {
        "variant": "healthy",
        "ephemeral": False,
        "directory": str(lab["home"] / "lab"),
    }
    assert [p["tolerance_met"] for p in summary["probes"]] == [True] * 4
    data = json.loads(journal.read_text())
    assert data["status"] == "completed" and data["deviated"] is False
    assert data["chaosrun"]["undo"] == []  # the rollback reverted it, nothing left over
    assert is_clean(ToxiproxyClient(lab["toxiproxy_url"]))


def test_run_deviates_on_the_no_fallback_variant(tmp_path: Path) -> None:
    result = run_cli(
        tmp_path, "run", "experiments/dependency-failure.yaml", "--json", "--variant", "no-fallback"
    )
    assert result.returncode == 1, result.stdout + result.stderr
    summary = json.loads(result.stdout)
    assert summary["verdict"] == "deviated"
    assert summary["steady_state"] == {"before": True, "after": False}
    failed = [p for p in summary["probes"] if p["tolerance_met"] is False]
    assert failed[0]["name"] == "browse-availability"
    assert failed[0]["output"]["availability"] < 0.99
    assert summary["target"]["lab"]["ephemeral"] is True


def _run_dir(home: Path) -> Path:
    runs = [
        r for r in list_runs(home) if (read_record(r) or None) and read_record(r).state == "running"
    ]  # type: ignore[union-attr]
    assert len(runs) == 1
    return runs[0]


def _completed_activities(run_dir: Path) -> list[str]:
    events = run_dir / EVENTS_FILE
    if not events.exists():
        return []
    lines = [json.loads(line) for line in events.read_text().splitlines() if line.endswith("}")]
    return [e["run"]["activity"]["name"] for e in lines if e["event"] == "activity"]


def test_ctrl_c_during_a_fault_reverts_and_exits_130(lab: dict[str, Any]) -> None:
    client = ToxiproxyClient(lab["toxiproxy_url"])
    proc = start_cli(lab["home"], "run", HELD, "--json")
    try:
        wait_for(lambda: not client.proxy("auth").enabled, 30, "auth proxy to go down")
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert is_clean(client)
    summary = json.loads(out)
    journal = json.loads(Path(summary["journal"]).read_text())
    assert journal["status"] == "interrupted"
    assert journal["chaosrun"]["worker"]["reason"].startswith("SIGINT received")


def test_sigkill_of_the_worker_leaves_no_fault_and_a_journal(lab: dict[str, Any]) -> None:
    client = ToxiproxyClient(lab["toxiproxy_url"])
    proc = start_cli(lab["home"], "run", HELD, "--json")
    try:
        wait_for(lambda: not client.proxy("auth").enabled, 30, "auth proxy to go down")
        run_dir = _run_dir(lab["home"])
        # The proxy goes down inside the action; its "activity" event is written just after.
        wait_for(
            lambda: _completed_activities(run_dir) == ["slow-down-catalog", "take-auth-down"],
            10,
            "take-auth-down to be recorded as completed",
        )
        record = read_record(run_dir)
        assert record is not None and record.worker is not None
        os.kill(record.worker.pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 1, err
    assert is_clean(client)
    summary = json.loads(out)
    journal = json.loads(Path(summary["journal"]).read_text())
    assert journal["status"] == "failed"
    assert journal["chaosrun"]["worker"]["signal"] == "SIGKILL"
    assert journal["chaosrun"]["journal_rebuilt_from_events"] is True
    reverted = {(u["op"], u["proxy"]) for u in journal["chaosrun"]["undo"]}
    assert reverted == {("remove_toxic", "catalog"), ("enable_proxy", "auth")}
    assert [r["activity"]["name"] for r in journal["run"]] == [
        "slow-down-catalog",
        "take-auth-down",
    ]


def test_sigkill_of_the_supervisor_then_cleanup_reverts(lab: dict[str, Any]) -> None:
    client = ToxiproxyClient(lab["toxiproxy_url"])
    proc = start_cli(lab["home"], "run", HELD)
    try:
        wait_for(lambda: not client.proxy("auth").enabled, 30, "auth proxy to go down")
        run_dir = _run_dir(lab["home"])
        proc.kill()
        proc.wait(timeout=10)
    finally:
        proc.kill()
    assert not is_clean(client)
    cleanup = run_cli(lab["home"], "cleanup", "--json")
    assert cleanup.returncode == 0, cleanup.stderr
    (result,) = json.loads(cleanup.stdout)["runs"]
    assert result["run_dir"] == str(run_dir) and result["active"] == 2
    assert is_clean(client)
    record = read_record(run_dir)
    assert record is not None and record.worker is not None
    assert not record.worker.alive()
    assert run_cli(lab["home"], "cleanup").stdout.strip() == "nothing to clean up"


def test_deadline_aborts_reverts_and_exits_4(lab: dict[str, Any]) -> None:
    client = ToxiproxyClient(lab["toxiproxy_url"])
    start = time.monotonic()
    result = run_cli(
        lab["home"],
        "run",
        str(REPO / "tests" / "e2e" / "experiments" / "short-deadline.yaml"),
        "--json",
    )
    assert result.returncode == 4, result.stderr
    assert time.monotonic() - start < 30
    summary = json.loads(result.stdout)
    assert summary["reason"] == "deadline of 2 s exceeded"
    assert is_clean(client)


def test_the_next_run_reverts_what_a_killed_supervisor_left(lab: dict[str, Any]) -> None:
    client = ToxiproxyClient(lab["toxiproxy_url"])
    proc = start_cli(lab["home"], "run", HELD)
    try:
        wait_for(lambda: not client.proxy("auth").enabled, 30, "auth proxy to go down")
        dead_run = _run_dir(lab["home"])
        proc.kill()
        proc.wait(timeout=10)
    finally:
        proc.kill()
    result = run_cli(lab["home"], "run", "experiments/dependency-failure.yaml", "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    journal = json.loads(Path(json.loads(result.stdout)["journal"]).read_text())
    assert journal["chaosrun"]["reconciled_dead_runs"] == [str(dead_run)]
    assert is_clean(client)
    record = read_record(dead_run)
    assert record is not None and record.state == "reconciled"


def test_ctrl_c_during_the_cooldown_does_not_wait_for_it(
    lab: dict[str, Any], tmp_path: Path
) -> None:
    document = yaml.safe_load((REPO / "tests/e2e/experiments/kill-target.yaml").read_text())
    document["extensions"][0]["load"]["cooldown_s"] = 30
    experiment = tmp_path / "long-cooldown.yaml"
    experiment.write_text(yaml.safe_dump(document))
    proc = start_cli(lab["home"], "run", str(experiment))
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            if "load: cooldown 30 s" in line:
                break
        interrupted_at = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
        took = time.monotonic() - interrupted_at
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert took < 10, "Ctrl-C must cut the 30 s cooldown short"
    assert "SIGINT received after the experiment: cooldown cut short" in out
    assert is_clean(ToxiproxyClient(lab["toxiproxy_url"]))


def test_options_are_never_abbreviated_and_the_subcommand_says_so(tmp_path: Path) -> None:
    # chaos run's `--var foo=1` once became `--variant foo=1` ("unknown variant 'foo=1'")
    result = run_cli(tmp_path, "run", "experiments/latency-injection.yaml", "--varia", "healthy")
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert lines[0].startswith("usage: chaosrun run [-h] [--json]")
    assert lines[-1] == "chaosrun run: error: unrecognized arguments: --varia healthy"
    dry = run_cli(tmp_path, "run", "experiments/latency-injection.yaml", "--dry")
    assert dry.returncode == 2
    assert dry.stderr.splitlines()[-1] == "chaosrun run: error: unrecognized arguments: --dry"
    nested = run_cli(tmp_path, "lab", "status", "--jsn")
    assert nested.returncode == 2
    assert nested.stderr.splitlines() == [
        "usage: chaosrun lab status [-h] [--json]",
        "chaosrun lab status: error: unrecognized arguments: --jsn",
    ]
    assert not (tmp_path / "runs").exists()  # nothing started


def test_a_python_provider_naming_os_is_refused_before_anything_runs(tmp_path: Path) -> None:
    bad = REPO / "tests" / "fixtures" / "bad" / "module_never_allowed.yaml"
    marker = Path("/tmp/chaosrun-must-not-run-this")
    marker.unlink(missing_ok=True)
    for args in (("validate", str(bad)), ("run", str(bad)), ("run", str(bad), "--dry-run")):
        result = run_cli(tmp_path, *args)
        assert result.returncode == 2, result.stdout + result.stderr
        assert "module 'os' is never allowed" in result.stderr
    assert not marker.exists()
    assert not (tmp_path / "runs").exists()
    # a module of one's own is allowed by name, and only by name
    own = REPO / "tests" / "fixtures" / "bad" / "module_not_allowed.yaml"
    refused = run_cli(tmp_path, "validate", str(own))
    assert refused.returncode == 2
    assert "allow it with --allow-module mylib" in refused.stderr
    allowed = run_cli(tmp_path, "validate", str(own), "--allow-module", "mylib")
    assert allowed.returncode == 2  # now allowed, and mylib is not installed here
    assert "cannot import module 'mylib.faults'" in allowed.stderr


def test_warnings_and_the_shell_opt_in(tmp_path: Path) -> None:
    good = REPO / "tests" / "fixtures" / "good" / "ct_dry_run_key.yaml"
    warned = run_cli(tmp_path, "validate", str(good))
    assert warned.returncode == 0, warned.stderr
    assert warned.stdout.splitlines() == [f"ok {good}"]
    assert warned.stderr.splitlines()[0] == (
        f"chaosrun: warning: {good}:3: dry_run: 'dry_run' is ignored by Chaos Toolkit"
    )
    dry = run_cli(tmp_path, "run", str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"chaosrun: warning: {good}:3: dry_run:" in dry.stderr
    piped = REPO / "tests" / "fixtures" / "bad" / "process_shell_pipe.yaml"
    for args in (("validate", str(piped)), ("run", str(piped), "--dry-run")):
        refused = run_cli(tmp_path, *args)
        assert refused.returncode == 2
        assert "shell syntax ('|'): refused; pass --allow-shell" in refused.stderr
    allowed = run_cli(tmp_path, "validate", str(piped), "--allow-shell")
    assert allowed.returncode == 0, allowed.stderr
    assert not (tmp_path / "runs").exists()
