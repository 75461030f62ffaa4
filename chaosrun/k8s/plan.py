"""What a Kubernetes step would change, for the dry run: in words, the objects it would touch
(named when the target's layout is known -- the k8s lab's nodes -- else by selector, resolved
at run time), the API call, and what puts it back. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["K8sStepPlan", "k8s_step", "matches"]

NodeLabels = Mapping[str, Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class K8sStepPlan:
    kind: str  # the undo kind (chaosrun.k8s.changes), or "revert"
    effect: str  # what changes, on which objects, and what undoes it
    request: str  # the API calls


def matches(selector: str, labels: Mapping[str, str]) -> bool | None:
    """Whether `labels` match an equality-based selector (k=v, k==v, k!=v, k, !k, comma-joined);
    None for set-based ones (in, notin), which this does not read."""
    for term in (t.strip() for t in selector.split(",") if t.strip()):
        if " in " in term or " notin " in term or "(" in term:
            return None
        if "!=" in term:
            key, value = (p.strip() for p in term.split("!=", 1))
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = (p.strip() for p in term.replace("==", "=").split("=", 1))
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _nodes(args: Mapping[str, Any], known: NodeLabels | None) -> str:
    name, selector = args.get("name"), args.get("label_selector")
    if name:
        return f"node {name}"
    if not selector:
        return "nodes (none named: the step would fail)"
    if known is not None:
        found = [n for n, labels in known.items() if matches(str(selector), labels)]
        if all(matches(str(selector), labels) is not None for labels in known.values()):
            return f"nodes {', '.join(found)}" if found else f"no node (none matches {selector})"
    return f"nodes matching {selector} (listed at run time)"


def _pods(args: Mapping[str, Any]) -> str:
    ns = args.get("ns") or "default"
    selector = args.get("label_selector") or args.get("name_pattern") or args.get("name")
    count = "every pod" if args.get("all") else f"{args.get('qty', 1)} pod(s)"
    return f"{count} matching {selector or 'anything'} in namespace {ns}"


def k8s_step(
    module: str, func: str, args: Mapping[str, Any], nodes: NodeLabels | None = None
) -> K8sStepPlan | None:
    """The plan of a chaosk8s or chaosrun.k8s action that changes the cluster (None for any
    other step)."""
    ns = args.get("ns") or "default"
    key = (module, func)
    if key in (("chaosk8s.node.actions", "cordon_node"),):
        where = _nodes(args, nodes)
        return K8sStepPlan(
            "k8s_cordon",
            f"cordon {where} (undo: uncordon those that were schedulable)",
            "PATCH /api/v1/nodes/NAME spec.unschedulable=true",
        )
    if key in (("chaosk8s.node.actions", "drain_nodes"), ("chaosrun.k8s.actions", "drain_nodes")):
        where = _nodes(args, nodes)
        return K8sStepPlan(
            "k8s_cordon",
            f"cordon and drain {where}: every pod on them evicted (undo: uncordon; an evicted "
            "pod cannot be undone, its controller replaces it)",
            "PATCH /api/v1/nodes/NAME; POST /api/v1/namespaces/NS/pods/POD/eviction",
        )
    if key == ("chaosrun.k8s.actions", "taint_nodes"):
        taint = f"{args.get('key')}:{args.get('effect')}"
        return K8sStepPlan(
            "k8s_taint",
            f"taint {_nodes(args, nodes)} with {taint} (undo: remove the taint)",
            "PATCH /api/v1/nodes/NAME spec.taints",
        )
    if module in ("chaosk8s.deployment.actions", "chaosk8s.statefulset.actions") and func in (
        "scale_deployment",
        "scale_statefulset",
    ):
        kind = "Deployment" if func == "scale_deployment" else "StatefulSet"
        return K8sStepPlan(
            "k8s_scale",
            f"scale {kind} {ns}/{args.get('name')} to {args.get('replicas')} replicas (undo: "
            "scale back to the replicas found before)",
            f"PATCH .../namespaces/{ns}/{kind.lower()}s/{args.get('name')}/scale",
        )
    if key in (("chaosk8s.pod.actions", "terminate_pods"), ("chaosk8s.pod.actions", "delete_pods")):
        return K8sStepPlan(
            "k8s_pods",
            f"delete {_pods(args)} (cannot be undone: their controllers replace them)",
            f"DELETE /api/v1/namespaces/{ns}/pods/POD",
        )
    if module == "chaosk8s.networking.actions" and func in (
        "create_network_policy",
        "deny_all_ingress",
        "deny_all_egress",
        "allow_dns_access",
    ):
        return K8sStepPlan(
            "k8s_object",
            f"create a NetworkPolicy in namespace {ns} ({func}) (undo: delete it)",
            f"POST /apis/networking.k8s.io/v1/namespaces/{ns}/networkpolicies",
        )
    if key == ("chaosk8s.node.actions", "uncordon_node"):
        return K8sStepPlan("revert", f"uncordon {_nodes(args, nodes)}", "PATCH /api/v1/nodes/NAME")
    return None
