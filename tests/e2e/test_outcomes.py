"""The verdict is chaosrun's, from what happened: runs that must not pass, end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaosrun.lab.toxiproxy import ToxiproxyClient

from .conftest import REPO, is_clean, run_cli

EXPERIMENTS = REPO / "tests" / "e2e" / "experiments"


def _run(lab: dict[str, Any], name: str) -> dict[str, Any]:
    result = run_cli(lab["home"], "run", str(EXPERIMENTS / name), "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    summary: dict[str, Any] = json.loads(result.stdout)
    assert summary["exit_code"] == 1
    assert is_clean(ToxiproxyClient(lab["toxiproxy_url"]))
    return summary


def test_a_steady_state_that_fails_before_injection_is_not_a_pass(lab: dict[str, Any]) -> None:
    summary = _run(lab, "not-steady-p99.yaml")
    assert summary["verdict"] == "not-steady"
    assert summary["status"] == "completed"  # chaoslib's word; the verdict is ours
    assert summary["steady_state"] == {"before": False, "after": None}
    assert summary["reason"].startswith(
        "not in steady state before injection: the method did not run (probe "
        "'play-p99-below-1us' gave "
    )
    assert summary["reason"].endswith(" for p99_ms, tolerance: between 0 and 0.001 (on p99_ms))")
    assert summary["activities"] == [
        a for a in summary["activities"] if a["phase"] == "rollback"
    ]  # the method never ran
    # no verdict is judged on a run whose method never ran, and the note says why
    assert summary["checks"] == []
    # (a load that fell short on a busy host adds its own note after it)
    assert summary["measurement_notes"][0] == (
        "the method did not run: no recovery or resilience verdict was judged"
    )
    assert all("not trusted" in n for n in summary["measurement_notes"][1:])
    journal = json.loads(Path(summary["journal"]).read_text())
    assert journal["chaosrun"]["outcome"] == {
        "verdict": "not-steady",
        "exit_code": 1,
        "cause": summary["reason"],
    }


def test_an_http_probe_answered_404_against_200_is_not_a_pass(lab: dict[str, Any]) -> None:
    summary = _run(lab, "not-steady-404.yaml")
    assert summary["verdict"] == "not-steady"
    assert summary["reason"] == (
        "not in steady state before injection: the method did not run (probe 'no-such-page' "
        "gave status 404, tolerance: equal to 200)"
    )
    assert summary["probes"][0]["tolerance"] == "equal to 200"


def test_a_failed_method_action_is_not_a_pass(lab: dict[str, Any]) -> None:
    summary = _run(lab, "method-fails.yaml")
    assert summary["verdict"] == "failed"
    refused = (
        "Toxiproxy refused: 409 toxic already exists "
        f"(POST {lab['toxiproxy_url']}/proxies/catalog/toxics)"
    )
    assert summary["reason"] == (
        f"the method failed: action 'slow-down-catalog-again' failed: {refused}"
    )


def test_a_fault_error_reaches_the_console_as_one_chaosrun_line(lab: dict[str, Any]) -> None:
    """Not chaoslib's `ActivityFailed: chaosrun.errors.ToxiproxyError: ...` chain."""
    result = run_cli(lab["home"], "run", str(EXPERIMENTS / "method-fails.yaml"))
    assert result.returncode == 1, result.stdout + result.stderr
    refused = (
        "Toxiproxy refused: 409 toxic already exists "
        f"(POST {lab['toxiproxy_url']}/proxies/catalog/toxics)"
    )
    text = " ".join(result.stdout.split())  # rich wraps long lines at 80 columns
    assert f"method: action slow-down-catalog-again failed: {refused}" in text
    assert "chaoslib.exceptions" not in result.stdout + result.stderr
    assert "ToxiproxyError" not in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_the_console_never_ticks_a_probe_that_missed_its_tolerance(lab: dict[str, Any]) -> None:
    result = run_cli(lab["home"], "run", str(EXPERIMENTS / "not-steady-p99.yaml"))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    probe_lines = [line for line in lines if "play-p99-below-1us gave" in line]
    assert probe_lines and all(line.lstrip().startswith("✗") for line in probe_lines)
    assert not any("✓" in line and "play-p99-below-1us" in line for line in lines)
    assert "Verdict: NOT-STEADY (exit 1)" in lines
