"""The Kubernetes target: the experiment names the context and namespace, the API server is
allowed like any other host, one run at a time per cluster and namespace, no Toxiproxy; and
the pure parts of the undo side (taints, policy names, which modules name chaosk8s)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from chaosrun.engine.allow import find_violations, parse_allowed, refusals
from chaosrun.engine.target import KubernetesTarget
from chaosrun.engine.worker import _names_module
from chaosrun.errors import InputError
from chaosrun.k8s.changes import node_taints_without
from chaosrun.k8s.guard import _policy_name
from chaosrun.k8s.plan import k8s_step, matches
from chaosrun.load import load_experiment
from chaosrun.model import ClusterTarget

KUBECONFIG = """apiVersion: v1
kind: Config
clusters:
- {name: prod, cluster: {server: "https://api.prod.example:6443"}}
- {name: lab, cluster: {server: "https://127.0.0.1:6443"}}
contexts:
- {name: prod, context: {cluster: prod, user: u}}
- {name: lab, context: {cluster: lab, user: u}}
current-context: lab
users: [{name: u, user: {}}]
"""

CORDON = """  - type: action
    name: cordon
    provider:
      type: python
      module: chaosk8s.node.actions
      func: cordon_node
      arguments: {name: n1}
"""


def _file(tmp_path: Path, target: str, method: str = CORDON) -> Path:
    path = tmp_path / "exp.yaml"
    path.write_text(
        "title: t\ndescription: d\nextensions:\n  - name: chaosrun\n    target:\n"
        + target
        + "method:\n"
        + method
    )
    return path


def test_the_experiment_names_context_namespace_and_service(tmp_path: Path) -> None:
    target = (
        "      kubernetes: {context: prod, namespace: streaming,"
        " service_url: 'http://gateway.example'}\n"
    )
    experiment = load_experiment(_file(tmp_path, target))
    assert experiment.chaosrun.target == ClusterTarget(
        "streaming", "http://gateway.example", "prod"
    )


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("      kubernetes: {service_url: 'http://x'}\n", "missing required key 'namespace'"),
        (
            "      kubernetes: {namespace: Not_A_Name, service_url: 'http://x'}\n",
            "expected a namespace name",
        ),
        (
            "      kubernetes: {namespace: s, service_url: 'http://x'}\n      lab: {}\n",
            "not several",
        ),
        ("      kubernetes: {namespace: s, service_url: 'http://x', zone: a}\n", "zone"),
    ],
)
def test_a_bad_kubernetes_target_is_refused_with_its_line(
    tmp_path: Path, target: str, message: str
) -> None:
    with pytest.raises(InputError) as caught:
        load_experiment(_file(tmp_path, target))
    assert message in str(caught.value) and "exp.yaml:" in str(caught.value)


def test_toxiproxy_faults_are_refused_on_a_kubernetes_target(tmp_path: Path) -> None:
    fault = """  - type: action
    name: slow
    provider:
      type: python
      module: chaosrun.faults.latency
      func: inject
      arguments: {proxy: catalog, latency_ms: 100}
"""
    target = "      kubernetes: {namespace: s, service_url: 'http://127.0.0.1:1'}\n"
    with pytest.raises(InputError, match="a kubernetes target has neither"):
        load_experiment(_file(tmp_path, target, fault))


def test_the_api_server_must_be_allowed_like_any_other_host(tmp_path: Path) -> None:
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG)
    target = "      kubernetes: {context: prod, namespace: s, service_url: 'http://127.0.0.1:1'}\n"
    experiment = load_experiment(_file(tmp_path, target))
    environ = {"KUBECONFIG": str(config)}
    violations = find_violations(experiment, (), environ)
    hosts = {v.host for v in violations}
    assert hosts == {"api.prod.example"}  # the target's API server, and the step's
    assert any("api.prod.example" in str(m) for m in refusals(experiment, violations))
    assert not find_violations(experiment, parse_allowed(("api.prod.example",)), environ)
    # The current context (the lab's 127.0.0.1) needs nothing allowed.
    local = "      kubernetes: {namespace: s, service_url: 'http://127.0.0.1:1'}\n"
    assert not find_violations(load_experiment(_file(tmp_path, local)), (), environ)


def test_one_run_at_a_time_per_api_server_and_namespace() -> None:
    one = KubernetesTarget(ClusterTarget("a", "http://x", "prod"), "https://api:6443")
    other = KubernetesTarget(ClusterTarget("b", "http://x", "prod"), "https://api:6443")
    assert one.lock_key() != other.lock_key()
    assert (
        one.lock_key()
        == KubernetesTarget(ClusterTarget("a", "http://y"), "https://api:6443").lock_key()
    )
    assert one.toxiproxy_urls == () and one.environment() == {"KUBERNETES_CONTEXT": "prod"}


def test_removing_a_taint_keeps_every_other_one() -> None:
    taint = SimpleNamespace
    taints = [
        taint(key="a", value="1", effect="NoSchedule"),
        taint(key="b", value=None, effect="NoExecute"),
    ]
    assert node_taints_without(taints, "a", "NoSchedule") == [
        {"key": "b", "value": None, "effect": "NoExecute"}
    ]
    assert len(node_taints_without(taints, "a", "NoExecute")) == 2  # same key, other effect
    assert node_taints_without(None, "a", "NoSchedule") == []


def test_a_policy_is_named_by_its_spec_or_its_file(tmp_path: Path) -> None:
    assert _policy_name({"metadata": {"name": "deny"}}, None) == "deny"
    spec = tmp_path / "p.yaml"
    spec.write_text("metadata: {name: from-file}\n")
    assert _policy_name(None, str(spec)) == "from-file"
    assert _policy_name(None, str(tmp_path / "missing.yaml")) is None


def test_the_guard_is_installed_only_for_experiments_naming_chaosk8s() -> None:
    step = {"provider": {"type": "python", "module": "chaosk8s.pod.actions"}}
    assert _names_module({"method": [step]}, "chaosk8s")
    assert _names_module({"rollbacks": [step]}, "chaosk8s")
    other = {"provider": {"type": "python", "module": "chaosk8sx.thing"}}
    assert not _names_module({"method": [other]}, "chaosk8s")
    assert not _names_module({"method": [{"provider": {"type": "http"}}]}, "chaosk8s")


LAB_NODES = {
    "kwok-a-1": {"topology.kubernetes.io/zone": "a", "type": "kwok"},
    "kwok-b-1": {"topology.kubernetes.io/zone": "b", "type": "kwok"},
}


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("topology.kubernetes.io/zone=a", ["kwok-a-1"]),
        ("topology.kubernetes.io/zone==b", ["kwok-b-1"]),
        ("topology.kubernetes.io/zone!=a", ["kwok-b-1"]),
        ("type=kwok,topology.kubernetes.io/zone=a", ["kwok-a-1"]),
        ("type", ["kwok-a-1", "kwok-b-1"]),
        ("!type", []),
        ("type=other", []),
    ],
)
def test_equality_selectors_pick_the_lab_nodes(selector: str, expected: list[str]) -> None:
    assert [n for n, labels in LAB_NODES.items() if matches(selector, labels)] == expected


def test_a_dry_run_names_the_objects_and_what_undoes_them() -> None:
    drain = k8s_step(
        "chaosrun.k8s.actions",
        "drain_nodes",
        {"label_selector": "topology.kubernetes.io/zone=a"},
        LAB_NODES,
    )
    assert drain is not None and drain.kind == "k8s_cordon"
    assert "drain nodes kwok-a-1:" in drain.effect and "uncordon" in drain.effect
    unknown = k8s_step(
        "chaosk8s.node.actions", "cordon_node", {"label_selector": "zone in (a)"}, LAB_NODES
    )
    assert unknown is not None and "listed at run time" in unknown.effect
    kill = k8s_step(
        "chaosk8s.pod.actions", "terminate_pods", {"label_selector": "app=x", "ns": "s"}
    )
    assert kill is not None and "cannot be undone" in kill.effect and "namespace s" in kill.effect
    scale = k8s_step(
        "chaosk8s.deployment.actions", "scale_deployment", {"name": "g", "replicas": 0}
    )
    assert scale is not None and "default/g to 0" in scale.effect
    assert k8s_step("chaosk8s.pod.probes", "pods_in_phase", {}) is None


def test_the_watchdog_fires_once_the_api_server_has_been_silent_for_5_s(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chaosrun.lab.ports import free_ports

    port = free_ports(1)[0]  # nothing listens there
    config = tmp_path / "kubeconfig"
    config.write_text(KUBECONFIG.replace("https://127.0.0.1:6443", f"https://127.0.0.1:{port}"))
    monkeypatch.setenv("KUBECONFIG", str(config))
    target = KubernetesTarget(ClusterTarget("s", "http://x", "lab"), f"https://127.0.0.1:{port}")
    assert target.watch(100.0) is None  # silent since 100 s
    assert target.watch(100.5) is None  # not asked again within a second
    assert target.watch(103.0) is None  # silent for 3 s: not yet
    fired = target.watch(105.2)
    assert fired is not None and fired.kind == "target" and fired.breach_since == 100.0
    assert "has not answered for 5.2 s" in fired.observed
