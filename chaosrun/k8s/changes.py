"""The Kubernetes changes chaosrun knows how to put back, as undo-log kinds.

Each kind reverts from its entry's parameters alone (the cluster -- kube config and context --
is among them), is idempotent, and says what of it is still in effect (`remains`):

- ``k8s_cordon``: nodes chaosrun found schedulable and cordoned (also by a drain) -> uncordon;
- ``k8s_scale``: a Deployment or StatefulSet's replicas before a scale -> scale back;
- ``k8s_taint``: a taint added to nodes -> remove it;
- ``k8s_object``: an object a step created (a NetworkPolicy, ...) -> delete it;
- ``k8s_pods``: pods deleted or evicted -> nothing can bring a pod back (its controller makes
  a new one); recorded for the fault window and the plan, reverted by nobody.

A revert whose kube config is gone (a lab's cluster, stopped with its lab) has nothing to do.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from kubernetes import client, dynamic  # type: ignore[import-untyped]
from kubernetes.client.exceptions import ApiException  # type: ignore[import-untyped]

from chaosrun.errors import ChaosrunError
from chaosrun.k8s.api import Cluster

__all__ = ["CHANGES", "Change", "node_taints_without", "unschedulable"]


@dataclass(frozen=True, slots=True)
class Change:
    name: str
    undo: Callable[[Mapping[str, Any], float], bool]  # True: it put something back
    remains: Callable[[Mapping[str, Any]], str | None]  # what is still in effect, or None
    undo_op: str  # how the journal names the revert
    summary: str  # the plan's words for it (what is changed, and what undoes it)


def _api(params: Mapping[str, Any]) -> Cluster | None:
    cluster = Cluster.from_params(params)
    return cluster if cluster.exists() else None


def _call(what: str, call: Callable[[], Any]) -> Any:
    """`call()`; any API or connection failure as a ChaosrunError (the replay notes it and
    keeps the entry pending for `chaosrun cleanup` or the next run)."""
    try:
        return call()
    except ApiException as exc:
        raise ChaosrunError(f"{what}: API server said {exc.status} {exc.reason}") from exc
    except Exception as exc:  # urllib3's errors are no OSError
        raise ChaosrunError(f"{what}: {exc}") from exc


def _read_node(core: Any, name: str, timeout_s: float) -> Any | None:
    try:
        return core.read_node(name, _request_timeout=timeout_s)
    except ApiException as exc:
        if exc.status == 404:
            return None
        raise


def unschedulable(node: Any) -> bool:
    return bool(node.spec and node.spec.unschedulable)


def _uncordon(params: Mapping[str, Any], timeout_s: float) -> bool:
    cluster = _api(params)
    if cluster is None:
        return False

    def run() -> bool:
        core = cluster.core()
        done = False
        for name in params["nodes"]:
            node = _read_node(core, name, timeout_s)
            if node is not None and unschedulable(node):
                body = {"spec": {"unschedulable": False}}
                core.patch_node(name, body, _request_timeout=timeout_s)
                done = True
        return done

    return bool(_call(f"uncordon {', '.join(params['nodes'])}", run))


def _cordoned(params: Mapping[str, Any]) -> str | None:
    cluster = _api(params)
    if cluster is None:
        return None
    core = cluster.core()

    def cordoned() -> list[str]:
        nodes = [_read_node(core, name, 2.0) for name in params["nodes"]]
        return [n.metadata.name for n in nodes if n is not None and unschedulable(n)]

    left: list[str] = _call("read nodes", cordoned)
    return f"nodes cordoned: {', '.join(left)}" if left else None


def _scale_api(params: Mapping[str, Any], cluster: Cluster) -> tuple[Any, Any]:
    apps = client.AppsV1Api(cluster.client())
    if params["kind"] == "StatefulSet":
        return apps.read_namespaced_stateful_set_scale, apps.patch_namespaced_stateful_set_scale
    return apps.read_namespaced_deployment_scale, apps.patch_namespaced_deployment_scale


def _scale_back(params: Mapping[str, Any], timeout_s: float) -> bool:
    cluster = _api(params)
    if cluster is None:
        return False
    name, ns, replicas = params["name"], params["namespace"], int(params["replicas"])

    def run() -> bool:
        read, patch = _scale_api(params, cluster)
        try:
            now = read(name, ns, _request_timeout=timeout_s).spec.replicas
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        if now == replicas:
            return False
        patch(name, ns, {"spec": {"replicas": replicas}}, _request_timeout=timeout_s)
        return True

    return bool(_call(f"scale {params['kind']} {ns}/{name} back to {replicas}", run))


def _scaled(params: Mapping[str, Any]) -> str | None:
    cluster = _api(params)
    if cluster is None:
        return None
    name, ns, replicas = params["name"], params["namespace"], int(params["replicas"])
    read, _ = _scale_api(params, cluster)
    try:
        now = _call(f"read {ns}/{name}", lambda: read(name, ns, _request_timeout=2.0))
    except ChaosrunError as exc:
        if isinstance(exc.__cause__, ApiException) and exc.__cause__.status == 404:
            return None
        raise
    found = now.spec.replicas
    if found == replicas:
        return None
    return f"{params['kind']} {ns}/{name} at {found} replicas (was {replicas})"


def node_taints_without(taints: list[Any] | None, key: str, effect: str) -> list[dict[str, Any]]:
    """The node's taints, less the one of `key` and `effect`, as patch-ready dicts. Pure."""
    kept = []
    for taint in taints or []:
        if taint.key == key and taint.effect == effect:
            continue
        kept.append({"key": taint.key, "value": taint.value, "effect": taint.effect})
    return kept


def _untaint(params: Mapping[str, Any], timeout_s: float) -> bool:
    cluster = _api(params)
    if cluster is None:
        return False
    key, effect = params["key"], params["effect"]

    def run() -> bool:
        core = cluster.core()
        done = False
        for name in params["nodes"]:
            node = _read_node(core, name, timeout_s)
            if node is None:
                continue
            kept = node_taints_without(node.spec.taints, key, effect)
            if len(kept) != len(node.spec.taints or []):
                core.patch_node(name, {"spec": {"taints": kept}}, _request_timeout=timeout_s)
                done = True
        return done

    return bool(_call(f"remove taint {key}:{effect}", run))


def _tainted(params: Mapping[str, Any]) -> str | None:
    cluster = _api(params)
    if cluster is None:
        return None
    core = cluster.core()
    key, effect = params["key"], params["effect"]

    def tainted() -> list[str]:
        nodes = [_read_node(core, name, 2.0) for name in params["nodes"]]
        return [
            n.metadata.name
            for n in nodes
            if n is not None
            and any(t.key == key and t.effect == effect for t in n.spec.taints or [])
        ]

    left: list[str] = _call("read nodes", tainted)
    return f"taint {key}:{effect} on {', '.join(left)}" if left else None


def _resource(params: Mapping[str, Any], cluster: Cluster) -> Any:
    dyn = dynamic.DynamicClient(cluster.client())  # type: ignore[no-untyped-call]
    return dyn.resources.get(api_version=params["api_version"], kind=params["kind"])


def _delete_object(params: Mapping[str, Any], timeout_s: float) -> bool:
    cluster = _api(params)
    if cluster is None:
        return False
    name, ns = params["name"], params.get("namespace")

    def run() -> bool:
        resource = _resource(params, cluster)
        try:
            resource.delete(name=name, namespace=ns, _request_timeout=timeout_s)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    return bool(_call(f"delete {params['kind']} {name}", run))


def _object_left(params: Mapping[str, Any]) -> str | None:
    cluster = _api(params)
    if cluster is None:
        return None
    name, ns = params["name"], params.get("namespace")

    def run() -> bool:
        try:
            _resource(params, cluster).get(name=name, namespace=ns, _request_timeout=2.0)
        except ApiException as exc:
            if exc.status == 404:
                return False
            raise
        return True

    return f"{params['kind']} {name} exists" if _call(f"read {name}", run) else None


def _nothing(params: Mapping[str, Any], timeout_s: float) -> bool:
    del params, timeout_s
    return False


def _never(params: Mapping[str, Any]) -> str | None:
    del params
    return None


CHANGES: Mapping[str, Change] = {
    c.name: c
    for c in (
        Change("k8s_cordon", _uncordon, _cordoned, "uncordon", "cordon nodes (undo: uncordon)"),
        Change(
            "k8s_scale",
            _scale_back,
            _scaled,
            "scale_back",
            "change replicas (undo: scale back to the replicas found before)",
        ),
        Change("k8s_taint", _untaint, _tainted, "remove_taint", "taint nodes (undo: untaint)"),
        Change(
            "k8s_object",
            _delete_object,
            _object_left,
            "delete_object",
            "create an object (undo: delete it)",
        ),
        Change(
            "k8s_pods",
            _nothing,
            _never,
            "none",
            "delete or evict pods (cannot be undone: their controllers replace them)",
        ),
    )
}
