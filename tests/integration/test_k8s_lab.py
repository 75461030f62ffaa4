"""The k8s lab on a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok), with a real gateway process behind each simulated pod:

- the healthy app runs four pods spread two by two over the zones, each backed by a live
  process the Service sends requests to;
- deleting a pod through the API server stops its process; the ReplicaSet's replacement gets a
  process of its own, and the Service keeps answering meanwhile (three pods were left);
- `lab_down` leaves no process: neither a component nor a pod's.
Needs the control plane's binaries (`make k8s-tools`)."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client, config  # type: ignore[import-untyped]

from chaosrun.lab.k8s.app import NAMESPACE, ZONE_LABEL
from chaosrun.lab.k8s.profile import KUBECONFIG
from chaosrun.lab.lab import LabInfo, lab_down, lab_up
from chaosrun.lab.procs import is_alive


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabInfo]:
    info = lab_up(tmp_path_factory.mktemp("k8s") / "lab", "healthy", profile="k8s")
    pods_before = _pods(info)
    try:
        yield info
    finally:
        pids = [p["pid"] for p in {**pods_before, **_pods(info)}.values()]
        assert lab_down(info) == []
        assert not any(p.alive() for p in info.processes)
        assert not [pid for pid in pids if is_alive(pid)]


@pytest.fixture(scope="module")
def core(lab: LabInfo) -> Any:
    api = config.new_client_from_config(config_file=str(Path(lab.directory) / KUBECONFIG))
    return client.CoreV1Api(api)


def _pods(info: LabInfo) -> dict[str, dict[str, Any]]:
    with urllib.request.urlopen(_admin(info) + "/pods", timeout=2) as response:
        pods: dict[str, dict[str, Any]] = json.loads(response.read())
        return pods


def _admin(info: LabInfo) -> str:
    return f"http://127.0.0.1:{info.named_port('podhost', 'admin')}"


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def _until(condition: Callable[[], Any], timeout_s: float, step: Callable[[], None]) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < timeout_s, "timed out"
        step()
    return time.monotonic() - started


def test_four_pods_in_two_zones_each_backed_by_a_live_process(lab: LabInfo, core: Any) -> None:
    pods = core.list_namespaced_pod(NAMESPACE).items
    nodes = {n.metadata.name: n.metadata.labels[ZONE_LABEL] for n in core.list_node().items}
    assert [p.status.phase for p in pods] == ["Running"] * 4
    zones = sorted(nodes[p.spec.node_name] for p in pods)
    assert zones == ["a", "a", "b", "b"]
    backed = _pods(lab)
    assert sorted(backed) == sorted(p.metadata.name for p in pods)
    assert all(b["ready"] and is_alive(b["pid"]) for b in backed.values())
    assert [_get(lab.service_url + "/health") for _ in range(20)] == [200] * 20


def test_a_deleted_pod_takes_its_process_and_a_replacement_serves(lab: LabInfo, core: Any) -> None:
    before = _pods(lab)
    victim = sorted(before)[0]
    pid = before[victim]["pid"]
    answers: list[int] = []

    def request() -> None:
        answers.append(_get(lab.service_url + "/health"))
        time.sleep(0.02)

    core.delete_namespaced_pod(victim, NAMESPACE)
    stopped = _until(lambda: not is_alive(pid), 5, request)
    replaced = _until(
        lambda: (
            len(now := _pods(lab)) == 4
            and victim not in now
            and all(p["ready"] for p in now.values())
        ),
        15,
        request,
    )
    print(f"\npod deleted: process gone after {stopped:.2f} s, replacement ready +{replaced:.2f} s")
    assert answers and answers.count(200) == len(answers)
