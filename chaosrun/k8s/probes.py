"""Kubernetes probes chaostoolkit-kubernetes lacks."""

from __future__ import annotations

from typing import Any

from chaosrun.k8s.api import REQUEST_TIMEOUT_S, cluster_of

__all__ = ["pods_on_nodes"]


def pods_on_nodes(
    node_label_selector: str,
    label_selector: str | None = None,
    ns: str = "default",
    secrets: dict[str, Any] | None = None,
) -> int:
    """How many pods of `ns` matching `label_selector` (not terminating) are bound to a node
    matching `node_label_selector` -- e.g. 0 once a zone is drained."""
    core = cluster_of(secrets).core()
    nodes = core.list_node(label_selector=node_label_selector, _request_timeout=REQUEST_TIMEOUT_S)
    names = {n.metadata.name for n in nodes.items}
    pods = core.list_namespaced_pod(
        ns, label_selector=label_selector, _request_timeout=REQUEST_TIMEOUT_S
    )
    return sum(
        1 for p in pods.items if p.spec.node_name in names and p.metadata.deletion_timestamp is None
    )
