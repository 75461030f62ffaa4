"""Helpers for the verdict matrix: run a shipped experiment through the CLI, index its verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .conftest import run_cli


def run_experiment(home: Path, name: str, variant: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(
        home, "run", f"experiments/{name}.yaml", "--json", "--variant", variant, timeout=180
    )
    assert result.stdout, result.stderr
    return result.returncode, json.loads(result.stdout)


def verdicts(summary: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["check"]: check for check in summary["checks"]}


def describe(summary: dict[str, Any]) -> str:
    lines = [
        f"verdict={summary['verdict']} steady={summary['steady_state']} "
        f"load={summary['load']} recovery={summary['recovery']}"
    ]
    lines += [f"  {c['check']}: {c['passed']} ({c['observed']})" for c in summary["checks"]]
    return "\n".join(lines)
