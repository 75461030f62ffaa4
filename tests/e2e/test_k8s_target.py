"""A cluster as the target (`target: {kubernetes: {context, namespace, service_url}}`), run as
a user runs it: the k8s lab stands in for the cluster, reached only through a kube config, its
context and its Service's URL -- no lab target, no Toxiproxy.

- the shipped in-cluster pod-kill experiment, pointed at the lab: PASSES, the kill is on the
  undo log and the summary names the API server and namespace;
- a context that names a non-loopback API server is refused before anything runs (exit 2),
  and --allow-target lets it through to the lock and the watchdog;
- the watchdog: an API server that stops answering stops the run (exit 4), reverted.
Needs the control plane's binaries (`make k8s-tools`)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from chaosrun.lab.k8s.profile import CONTEXT, KUBECONFIG
from chaosrun.lab.lab import load_lab_info

from .conftest import REPO, run_cli


@pytest.fixture(scope="module")
def lab_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("k8starget")
    up = run_cli(home, "lab", "up", "--profile", "k8s")
    assert up.returncode == 0, up.stderr
    yield home
    down = run_cli(home, "lab", "down")
    assert down.returncode == 0, down.stderr


def _aimed(home: Path, tmp_path: Path, **overrides: Any) -> tuple[Path, dict[str, str]]:
    """docs/k8s/experiments/pod-kill.yaml aimed at the lab as a cluster; its environment."""
    info = load_lab_info(home / "lab")
    assert info is not None
    doc = yaml.safe_load((REPO / "docs" / "k8s" / "experiments" / "pod-kill.yaml").read_text())
    (block,) = [e for e in doc["extensions"] if e["name"] == "chaosrun"]
    block["target"] = {
        "kubernetes": {
            "context": CONTEXT,
            "namespace": "streaming",
            "service_url": info.service_url,
            **overrides,
        }
    }
    block["load"].update(warmup_s=1, cooldown_s=1)
    path = tmp_path / "pod-kill.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    environ = {**os.environ, "KUBECONFIG": str(Path(info.directory) / KUBECONFIG)}
    return path, environ


def test_a_pod_kill_on_a_cluster_target_passes_and_is_recorded(
    lab_home: Path, tmp_path: Path
) -> None:
    path, environ = _aimed(lab_home, tmp_path)
    home = tmp_path / "home"  # not the lab's: nothing but the kube config leads to the cluster
    result = run_cli(home, "run", str(path), "--json", environ=environ, timeout=120)
    summary: dict[str, Any] = json.loads(result.stdout)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    target = summary["target"]
    assert target["kubernetes"]["namespace"] == "streaming"
    assert target["kubernetes"]["server"].startswith("https://127.0.0.1:")
    assert summary["faults"]["injected"] == 1 and summary["faults"]["on_cluster"] is True
    (run_dir,) = (home / "runs").iterdir()
    log = (run_dir / "undo.log").read_text()
    assert '"fault":"k8s_pods"' in log


def test_a_remote_api_server_must_be_allowed(lab_home: Path, tmp_path: Path) -> None:
    path, environ = _aimed(lab_home, tmp_path)
    config = yaml.safe_load(Path(environ["KUBECONFIG"]).read_text())
    config["clusters"][0]["cluster"]["server"] = "https://api.remote.example:6443"
    remote = tmp_path / "remote-kubeconfig"
    remote.write_text(yaml.safe_dump(config))
    environ = {**environ, "KUBECONFIG": str(remote)}
    refused = run_cli(tmp_path / "home", "run", str(path), environ=environ)
    assert refused.returncode == 2, refused.stderr
    assert "api.remote.example" in refused.stderr and "--allow-target" in refused.stderr
    assert not (tmp_path / "home" / "runs").exists()  # refused before anything ran


CORDON_AND_HOLD = """version: 1.0.0
title: cordon a node and hold it
description: the node stays cordoned until the rollback
extensions:
  - name: chaosrun
    target:
      kubernetes: {context: CONTEXT, namespace: streaming, service_url: SERVICE}
    load: {rate: 5, endpoints: [/health], warmup_s: 0.5, cooldown_s: 0.5}
    deadline_s: 60
method:
  - type: action
    name: cordon-kwok-b-2
    provider:
      type: python
      module: chaosk8s.node.actions
      func: cordon_node
      arguments: {name: kwok-b-2}
    pauses: {after: 20}
rollbacks:
  - type: action
    name: uncordon-kwok-b-2
    provider:
      type: python
      module: chaosk8s.node.actions
      func: uncordon_node
      arguments: {name: kwok-b-2}
"""


def test_an_api_server_out_of_reach_stops_the_run_and_cleanup_reverts_later(
    lab_home: Path, tmp_path: Path
) -> None:
    import subprocess
    import sys
    import time

    from kubernetes import client, config  # type: ignore[import-untyped]

    from chaosrun.lab.toxiproxy import ToxiproxyClient

    info = load_lab_info(lab_home / "lab")
    assert info is not None
    kubeconfig = str(Path(info.directory) / KUBECONFIG)
    text = CORDON_AND_HOLD.replace("CONTEXT", CONTEXT).replace("SERVICE", info.service_url)
    path = tmp_path / "hold.yaml"
    path.write_text(text)
    home = tmp_path / "home"
    environ = {**os.environ, "KUBECONFIG": kubeconfig, "CHAOSRUN_HOME": str(home)}
    run = subprocess.Popen(
        [sys.executable, "-m", "chaosrun", "run", str(path), "--json"],
        env=environ,
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    core = client.CoreV1Api(config.new_client_from_config(config_file=kubeconfig))
    toxiproxy = ToxiproxyClient(info.toxiproxy_url)
    try:
        deadline = time.monotonic() + 30
        while not core.read_node("kwok-b-2").spec.unschedulable:
            assert time.monotonic() < deadline and run.poll() is None, "never cordoned"
            time.sleep(0.1)
        toxiproxy.set_enabled("kube-apiserver", False)  # the API server is out of reach
        cut = time.monotonic()
        out, err = run.communicate(timeout=60)
        stopped = time.monotonic() - cut
    finally:
        toxiproxy.set_enabled("kube-apiserver", True)
    summary = json.loads(out)
    assert run.returncode == 4, err
    assert "API server" in summary["reason"] and 5.0 <= stopped < 15.0, (summary["reason"], stopped)
    # Nothing could put the node back while the API server was away: it is still cordoned,
    # and the entry is pending; cleanup reverts it once the API server answers again.
    assert core.read_node("kwok-b-2").spec.unschedulable
    cleaned = run_cli(home, "cleanup", environ=environ)
    assert cleaned.returncode == 0, cleaned.stderr
    assert not core.read_node("kwok-b-2").spec.unschedulable
