"""The k8s lab's objects: kwok nodes in two zones and the sample app -- the gateway as a
Deployment, its Service and its PodDisruptionBudget -- in each variant. Pure.

Each pod serves at most CAPACITY_RPS requests a second and is ready READY_DELAY_S after it
starts. Healthy: four replicas, spread evenly over the zones (a hard zone spread that ignores
cordoned nodes, so a drained zone's pods move to the other one) and over nodes (soft), and a
budget of one pod unavailable at a time, so a drain moves the pods one by one. Each variant
lacks one defence: ``one-replica`` (a single replica), ``no-pdb`` (no PodDisruptionBudget: a
drain evicts a zone's pods at once), ``one-zone`` (every replica pinned to zone a).
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = [
    "APP",
    "GATEWAY_IMAGE",
    "NAMESPACE",
    "NODES",
    "ZONE_LABEL",
    "app_objects",
    "lab_objects",
    "node_objects",
]

NAMESPACE = "streaming"
APP = "gateway"
GATEWAY_IMAGE = "chaosrun.local/gateway:lab"
ZONE_LABEL = "topology.kubernetes.io/zone"
NODES = (("kwok-a-1", "a"), ("kwok-a-2", "a"), ("kwok-b-1", "b"), ("kwok-b-2", "b"))
REPLICAS = 4
# What one pod serves before it sheds load (503): the zone-drain load needs three pods of four.
CAPACITY_RPS = 25
# A pod takes this long to be ready after its process starts (a cache to warm): a drain that
# outpaces it leaves the Service short of capacity.
READY_DELAY_S = 2
PRE_STOP_S = 1
GRACE_S = 3  # the preStop sleep, then up to 2 s for the process to stop


def node_objects() -> list[dict[str, Any]]:
    capacity = {"cpu": "8", "memory": "32Gi", "pods": "110"}
    return [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "annotations": {"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"},
                "labels": {
                    "type": "kwok",
                    "kubernetes.io/hostname": name,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    ZONE_LABEL: zone,
                },
            },
            "status": {"allocatable": capacity, "capacity": capacity},
        }
        for name, zone in NODES
    ]


def _spread(key: str, hard: bool) -> dict[str, Any]:
    spread: dict[str, Any] = {
        "maxSkew": 1,
        "topologyKey": key,
        "whenUnsatisfiable": "DoNotSchedule" if hard else "ScheduleAnyway",
        "labelSelector": {"matchLabels": {"app": APP}},
    }
    if hard:
        spread["nodeTaintsPolicy"] = "Honor"  # a cordoned node's zone is no domain to balance
    return spread


def app_objects(variant: str) -> list[dict[str, Any]]:
    labels = {"app": APP}
    pod_spec: dict[str, Any] = {
        "terminationGracePeriodSeconds": GRACE_S,
        "containers": [
            {
                "name": APP,
                "image": GATEWAY_IMAGE,
                "args": ["--max-rps", str(CAPACITY_RPS)],
                # Out of the Service before SIGTERM: requests routed just before the pod was
                # taken out finish (the usual guard against that race in production).
                "lifecycle": {"preStop": {"sleep": {"seconds": PRE_STOP_S}}},
                "ports": [{"containerPort": 8080, "name": "http"}],
                "readinessProbe": {
                    "httpGet": {"path": "/health", "port": "http"},
                    "initialDelaySeconds": READY_DELAY_S,
                    "periodSeconds": 1,
                },
            }
        ],
        "topologySpreadConstraints": [_spread("kubernetes.io/hostname", hard=False)],
    }
    if variant == "one-zone":
        pod_spec["nodeSelector"] = {ZONE_LABEL: "a"}
    else:
        pod_spec["topologySpreadConstraints"].insert(0, _spread(ZONE_LABEL, hard=True))
    meta = {"name": APP, "namespace": NAMESPACE, "labels": labels}
    objects: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": 1 if variant == "one-replica" else REPLICAS,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": pod_spec},
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": "http"}]},
        },
    ]
    if variant != "no-pdb":
        objects.append(
            {
                "apiVersion": "policy/v1",
                "kind": "PodDisruptionBudget",
                "metadata": meta,
                "spec": {"maxUnavailable": 1, "selector": {"matchLabels": labels}},
            }
        )
    return objects


def lab_objects(variant: str) -> str:
    """Every object the lab creates, as one YAML stream: nodes first, then the app."""
    return yaml.safe_dump_all([*node_objects(), *app_objects(variant)], sort_keys=False)
