"""The k8s lab on a real control plane (etcd, kube-apiserver, kube-controller-manager,
kube-scheduler, kwok), with a real gateway process behind each simulated pod:

- the healthy app runs four pods spread two by two over the zones, each backed by a live
  process the Service sends requests to;
- deleting a pod through the API server stops its process; the ReplicaSet's replacement gets a
  process of its own, and the Service keeps answering meanwhile (three pods were left);
- chaosk8s's changes (cordon, scale, a NetworkPolicy) and chaosrun's taint write their undo
  entries before they act, and replaying the log puts every one back, as the API server shows;
- the nightly CronJob, its RBAC and the experiments' ConfigMap pass a server-side dry run;
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

from chaosrun.lab.k8s.app import NAMESPACE, PRE_STOP_S, ZONE_LABEL
from chaosrun.lab.k8s.profile import KUBECONFIG
from chaosrun.lab.lab import LabInfo, lab_down, lab_up
from chaosrun.lab.procs import is_alive

REPO = Path(__file__).resolve().parents[2]


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
    assert stopped >= PRE_STOP_S - 0.05  # out of the Service first, SIGTERM after preStop


def test_chaosk8s_changes_are_recorded_before_they_act_and_replayed_back(
    lab: LabInfo, core: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chaosk8s.deployment.actions import scale_deployment  # noqa: F401 - guard first
    from chaosk8s.networking import actions as networking

    from chaosrun import undolog
    from chaosrun.engine.restore import faults_left
    from chaosrun.engine.undo import replay
    from chaosrun.k8s import actions, guard

    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    kubeconfig = str(Path(lab.directory) / KUBECONFIG)
    monkeypatch.setenv("KUBECONFIG", kubeconfig)
    # chaosk8s loads the default kube config, which the client read from KUBECONFIG at import
    # (a worker has it in its environment from the start).
    monkeypatch.setattr(config.kube_config, "KUBE_CONFIG_DEFAULT_LOCATION", kubeconfig)
    guard.install()
    from chaosk8s.deployment import actions as deployments
    from chaosk8s.node import actions as nodes

    apps = client.AppsV1Api(core.api_client)
    nodes.cordon_node(name="kwok-b-1")
    deployments.scale_deployment(name="gateway", replicas=2, ns=NAMESPACE)
    networking.deny_all_ingress(ns=NAMESPACE)
    actions.taint_nodes(key="chaosrun.dev/test", effect="NoSchedule", name="kwok-a-1")
    kinds = [e.fault for e in undolog.all_entries(log)]
    assert kinds == ["k8s_cordon", "k8s_scale", "k8s_object", "k8s_taint"]
    assert len(undolog.applied_times(log)) == 4
    assert faults_left(log).left == 4  # as the API server shows them
    assert core.read_node("kwok-b-1").spec.unschedulable
    assert apps.read_namespaced_deployment_scale("gateway", NAMESPACE).spec.replicas == 2

    outcomes = replay(log, timeout_s=5.0)
    assert [o.error for o in outcomes] == [None] * 4 and all(o.reverted for o in outcomes)
    assert not core.read_node("kwok-b-1").spec.unschedulable
    assert not [
        t for t in core.read_node("kwok-a-1").spec.taints or [] if t.key.startswith("chaosrun")
    ]
    assert apps.read_namespaced_deployment_scale("gateway", NAMESPACE).spec.replicas == 4
    net = client.NetworkingV1Api(core.api_client)
    assert not net.list_namespaced_network_policy(NAMESPACE).items
    assert faults_left(log).left == 0 and faults_left(log).on_cluster
    assert all(not o.reverted for o in replay(log, timeout_s=5.0, everything=True))  # idempotent

    # The experiment's own revert marks its entry done.
    nodes.cordon_node(name="kwok-b-2")
    nodes.uncordon_node(name="kwok-b-2")
    cordon = [e for e in undolog.all_entries(log) if e.fault == "k8s_cordon"][-1]
    assert cordon.params["nodes"] == ["kwok-b-2"] and cordon.id in undolog.done_ids(log)
    _until(
        lambda: len(_pods(lab)) == 4 and all(p["ready"] for p in _pods(lab).values()),
        15,
        lambda: time.sleep(0.1),
    )


def test_the_nightly_manifests_are_accepted_by_the_api_server(lab: LabInfo, core: Any) -> None:
    import yaml
    from kubernetes import dynamic  # type: ignore[import-untyped]
    from kubernetes.client.exceptions import ApiException  # type: ignore[import-untyped]

    from chaosrun.load import load_experiment

    docs = REPO / "docs" / "k8s"
    experiments = sorted((docs / "experiments").glob("*.yaml"))
    (configmap,) = yaml.safe_load_all((docs / "experiments-configmap.yaml").read_text())
    assert configmap["data"] == {p.name: p.read_text() for p in experiments}  # in step
    for path in experiments:
        load_experiment(path)  # valid as they are shipped
    objects = [
        o
        for name in ("rbac.yaml", "cronjob.yaml", "experiments-configmap.yaml")
        for o in yaml.safe_load_all((docs / name).read_text())
    ]
    kinds = [o["kind"] for o in objects]
    assert {"CronJob", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "ConfigMap"} <= set(
        kinds
    )
    dyn = dynamic.DynamicClient(core.api_client)
    namespace = next(o for o in objects if o["kind"] == "Namespace")
    dyn.resources.get(api_version="v1", kind="Namespace").create(body=namespace)
    try:
        for obj in objects:
            if obj["kind"] == "Namespace":
                continue
            resource = dyn.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
            ns = obj["metadata"].get("namespace")
            created = resource.create(body=obj, namespace=ns, dry_run="All")  # server-side
            assert created.metadata.name == obj["metadata"]["name"], obj["kind"]
            with pytest.raises(ApiException) as missing:  # a dry run stores nothing
                resource.get(name=obj["metadata"]["name"], namespace=ns)
            assert missing.value.status == 404
        broken = {**objects[kinds.index("CronJob")], "spec": {"schedule": "not a schedule"}}
        with pytest.raises(ApiException) as refused:  # and a bad one is refused
            dyn.resources.get(api_version="batch/v1", kind="CronJob").create(
                body=broken, namespace="chaosrun", dry_run="All"
            )
        assert refused.value.status == 422
    finally:
        core.delete_namespace("chaosrun")
