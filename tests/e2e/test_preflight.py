"""Before anything is injected, the target is checked against the experiment; what validates runs.

A real lab (`lab` fixture): a fault naming a proxy the target lacks stops the run with exit 2
before the load or the worker starts, journaled, nothing to revert; a fault argument from an
environment string reaches Toxiproxy as the int the fault declares.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chaosrun.lab.toxiproxy import ToxiproxyClient

from .conftest import is_clean, run_cli

MISSPELLED = """\
title: A fault on a proxy the lab does not have
description: The lab's proxies are auth, catalog and recommendations.
method:
  - type: action
    name: slow-down-auth
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {proxy: authentication, latency_ms: 100}
"""

FROM_ENV = """\
title: Latency read from the environment
description: Chaos Toolkit fills latency_ms with the string "800"; the fault declares an int.
configuration:
  my_latency: {type: env, key: CHAOSRUN_TEST_LATENCY}
method:
  - type: action
    name: slow-down-catalog
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {proxy: catalog, latency_ms: "${my_latency}"}
rollbacks:
  - type: action
    name: restore-catalog
    provider:
      type: python
      module: chaosrun.faults.latency
      func: revert
      arguments: {proxy: catalog}
"""


def test_a_missing_proxy_stops_the_run_before_anything_is_injected(
    lab: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "misspelled.yaml"
    path.write_text(MISSPELLED, encoding="utf-8")
    assert run_cli(lab["home"], "validate", str(path)).returncode == 0  # only the target knows
    result = run_cli(lab["home"], "run", str(path))
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"chaosrun: {path}:10: method[0].provider.arguments.proxy: proxy 'authentication' does "
        "not exist on the target; did you mean 'auth'? proxies there: auth, catalog, "
        "recommendations"
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert is_clean(ToxiproxyClient(lab["toxiproxy_url"]))
    runs = sorted((lab["home"] / "runs").iterdir(), key=lambda p: p.stat().st_mtime)
    run_dir = runs[-1]
    journal = json.loads((run_dir / "journal.json").read_text())
    assert journal["status"] == "failed"
    assert journal["chaosrun"]["worker"]["reason"].endswith("recommendations")
    assert journal["run"] == []  # the worker never started
    assert not (run_dir / "worker.out").exists()
    assert journal["chaosrun"]["undo"] == []  # nothing was injected, nothing reverted
    dry = run_cli(lab["home"], "run", "--dry-run", str(path))
    assert (
        "proxy 'authentication' does not exist on the target; did you mean 'auth'? proxies "
        "there: auth, catalog, recommendations" in " ".join(dry.stdout.split())
    )
    again = run_cli(lab["home"], "run", str(path))  # the lock was released
    assert again.returncode == 2, again.stdout + again.stderr


def test_a_fault_argument_from_an_environment_string_reaches_toxiproxy_as_an_int(
    lab: dict[str, Any], tmp_path: Path
) -> None:
    import os

    path = tmp_path / "from-env.yaml"
    path.write_text(FROM_ENV, encoding="utf-8")
    environ = {**os.environ, "CHAOSRUN_TEST_LATENCY": "800"}
    result = run_cli(lab["home"], "run", str(path), "--json", environ=environ)
    assert result.returncode == 0, result.stdout + result.stderr
    journal = json.loads(Path(json.loads(result.stdout)["journal"]).read_text())
    injected = journal["run"][0]
    # Toxiproxy answers 400 to a latency of "800" (a string): accepted, it was the int 800
    # (the journal masks the value itself: it came from the environment, see engine/redact.py)
    assert injected["status"] == "succeeded", injected.get("exception")
    assert injected["output"]["type"] == "latency"
    assert injected["activity"]["provider"]["arguments"]["latency_ms"] == "${my_latency}"
    assert is_clean(ToxiproxyClient(lab["toxiproxy_url"]))
    bad = {**os.environ, "CHAOSRUN_TEST_LATENCY": "fast"}
    refused = run_cli(lab["home"], "validate", str(path), environ=bad)
    assert refused.returncode == 2
    assert refused.stderr.strip() == (
        f"chaosrun: {path}:12: method[0].provider.arguments.latency_ms: '${{my_latency}}' is "
        "'fast' (configuration.my_latency, line 4): expected an integer"
    )
