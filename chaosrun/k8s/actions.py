"""Kubernetes actions chaostoolkit-kubernetes lacks, with their undo entries.

``drain_nodes`` drains as ``kubectl drain --ignore-daemonsets`` does: cordon the nodes, then
evict each pod on them through the Eviction API and retry an eviction a PodDisruptionBudget
refuses (429) every RETRY_S until `timeout`, then wait until every evicted pod is gone.
chaosk8s 0.39's ``drain_nodes`` stops at the first refused eviction and polls every 10 s, so a
drain that a budget paces cannot complete through it.

``taint_nodes`` adds a taint (kubectl taint): a NoExecute taint evicts what does not tolerate
it. Both write their undo entries (`chaosrun.k8s.changes`) before they act.
"""

from __future__ import annotations

import time
from typing import Any

from chaoslib.exceptions import ActivityFailed  # type: ignore[import-untyped]
from kubernetes import client  # type: ignore[import-untyped]
from kubernetes.client.exceptions import ApiException  # type: ignore[import-untyped]

from chaosrun import undolog
from chaosrun.k8s.api import REQUEST_TIMEOUT_S, Cluster, cluster_of
from chaosrun.k8s.changes import unschedulable

__all__ = ["drain_nodes", "taint_nodes"]

RETRY_S = 0.5


def _nodes(core: Any, name: str | None, label_selector: str | None) -> list[Any]:
    if not name and not label_selector:
        raise ActivityFailed("name or label_selector is required: which nodes?")
    if name:
        return [core.read_node(name, _request_timeout=REQUEST_TIMEOUT_S)]
    found = core.list_node(label_selector=label_selector, _request_timeout=REQUEST_TIMEOUT_S)
    if not found.items:
        raise ActivityFailed(f"no node matches {label_selector!r}")
    return list(found.items)


def _evictable(pod: Any) -> bool:
    """What kubectl drain --ignore-daemonsets evicts: not a mirror pod, not a DaemonSet's."""
    annotations = pod.metadata.annotations or {}
    owners = pod.metadata.owner_references or []
    if "kubernetes.io/config.mirror" in annotations:
        return False
    return not any(o.kind == "DaemonSet" for o in owners)


def _record(cluster: Cluster, kind: str, **params: Any) -> undolog.UndoEntry | None:
    log = undolog.log_from_env()
    return None if log is None else undolog.record(log, kind, **params, **cluster.to_params())


def _applied(entry: undolog.UndoEntry | None, until: float | None = None) -> None:
    log = undolog.log_from_env()
    if log is not None and entry is not None:
        undolog.mark_applied(log, entry.id, time.time(), until)


def drain_nodes(
    name: str | None = None,
    label_selector: str | None = None,
    timeout: float = 120,
    pod_label_selector: str | None = None,
    secrets: dict[str, Any] | None = None,
) -> list[str]:
    """Cordon and drain the node `name`, or every node matching `label_selector`; evict only
    pods matching `pod_label_selector` when given. Returns the nodes drained; ActivityFailed
    (naming the pods left and why) when `timeout` seconds were not enough."""
    cluster = cluster_of(secrets)
    core = cluster.core()
    nodes = _nodes(core, name, label_selector)
    names = [n.metadata.name for n in nodes]
    fresh = [n.metadata.name for n in nodes if not unschedulable(n)]
    cordon = _record(cluster, "k8s_cordon", nodes=fresh) if fresh else None
    evictions = _record(cluster, "k8s_pods", how="evict", nodes=names)
    for node in fresh:
        core.patch_node(node, {"spec": {"unschedulable": True}}, _request_timeout=REQUEST_TIMEOUT_S)
    _applied(cordon)
    _applied(evictions)
    deadline = time.monotonic() + timeout
    waiting: dict[str, Any] = {}  # uid -> pod, not evicted yet
    for node in names:
        pods = core.list_pod_for_all_namespaces(
            field_selector=f"spec.nodeName={node}",
            label_selector=pod_label_selector,
            _request_timeout=REQUEST_TIMEOUT_S,
        ).items
        waiting |= {p.metadata.uid: p for p in pods if _evictable(p)}
    evicted: dict[str, Any] = {}  # uid -> pod, until it is gone
    refused: dict[str, str] = {}
    while waiting or evicted:
        for uid, pod in list(waiting.items()):
            why = _evict(core, pod)
            if why is None:
                evicted[uid] = waiting.pop(uid)
                refused.pop(uid, None)
            elif why == "gone":
                waiting.pop(uid)
            else:
                refused[uid] = why
        for uid, pod in list(evicted.items()):
            if _gone(core, pod):
                evicted.pop(uid)
        if not waiting and not evicted:
            break
        if time.monotonic() > deadline:
            left = [
                f"{p.metadata.namespace}/{p.metadata.name} ({refused.get(u, 'not evicted')})"
                for u, p in waiting.items()
            ]
            left += [
                f"{p.metadata.namespace}/{p.metadata.name} (still terminating)"
                for p in evicted.values()
            ]
            raise ActivityFailed(
                f"drain of {', '.join(names)} not done in {timeout:g} s: {'; '.join(left)}"
            )
        time.sleep(RETRY_S)
    return names


def _evict(core: Any, pod: Any) -> str | None:
    """None once evicted; "gone" when the pod no longer exists; else why it was refused."""
    body = client.V1Eviction(
        metadata=client.V1ObjectMeta(name=pod.metadata.name, namespace=pod.metadata.namespace)
    )
    try:
        core.create_namespaced_pod_eviction(
            pod.metadata.name, pod.metadata.namespace, body, _request_timeout=REQUEST_TIMEOUT_S
        )
    except ApiException as exc:
        if exc.status == 404:
            return "gone"
        if exc.status == 429:
            return "eviction refused: it would violate a PodDisruptionBudget"
        raise ActivityFailed(f"evict {pod.metadata.name}: {exc.status} {exc.reason}") from exc
    return None


def _gone(core: Any, pod: Any) -> bool:
    try:
        now = core.read_namespaced_pod(
            pod.metadata.name, pod.metadata.namespace, _request_timeout=REQUEST_TIMEOUT_S
        )
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return bool(now.metadata.uid != pod.metadata.uid)


def taint_nodes(
    key: str,
    effect: str,
    value: str | None = None,
    name: str | None = None,
    label_selector: str | None = None,
    secrets: dict[str, Any] | None = None,
) -> list[str]:
    """Add the taint `key`(=`value`):`effect` to the node `name` or every node matching
    `label_selector` (those that already carry it are left alone). Returns the nodes tainted."""
    if effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
        raise ActivityFailed(f"effect must be NoSchedule, PreferNoSchedule or NoExecute: {effect}")
    cluster = cluster_of(secrets)
    core = cluster.core()
    nodes = _nodes(core, name, label_selector)
    fresh = [
        n
        for n in nodes
        if not any(t.key == key and t.effect == effect for t in n.spec.taints or [])
    ]
    entry = _record(
        cluster, "k8s_taint", nodes=[n.metadata.name for n in fresh], key=key, effect=effect
    )
    for node in fresh:
        taints = [
            {"key": t.key, "value": t.value, "effect": t.effect} for t in node.spec.taints or []
        ]
        taints.append({"key": key, "value": value, "effect": effect})
        core.patch_node(
            node.metadata.name, {"spec": {"taints": taints}}, _request_timeout=REQUEST_TIMEOUT_S
        )
    _applied(entry)
    return [n.metadata.name for n in fresh]
