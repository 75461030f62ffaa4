"""Undo entries for chaostoolkit-kubernetes's mutating actions, written before they act.

`install()` (the worker calls it when an experiment names a chaosk8s module) replaces these
functions of chaosk8s with wrappers that record what the run is about to change in the run's
undo log, call the original, then mark the change applied -- so a run killed at any moment is
put back by the supervisor, `chaosrun cleanup` or the next run:

- ``node.actions.cordon_node`` / ``drain_nodes``: the nodes that were schedulable (k8s_cordon);
  a drain's evictions too (k8s_pods: not undoable);
- ``deployment.actions.scale_deployment`` / ``statefulset.actions.scale_statefulset``: the
  replicas before (k8s_scale);
- ``pod.actions.terminate_pods`` / ``delete_pods``: k8s_pods (not undoable; the fault window);
- ``networking.actions.create_network_policy`` / ``deny_all_ingress`` / ``deny_all_egress`` /
  ``allow_dns_access``: the policy created (k8s_object).

The experiment's own reverts (``uncordon_node``, a scale back to the replicas found,
``remove_network_policy``, ``remove_deny_all_*``) mark the matching entries done. Outside a
chaosrun run (no undo log in the environment) every wrapper just calls the original. A chaosk8s
action called by another one (a drain cordons through ``cordon_node``) records nothing more.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from chaosrun import undolog
from chaosrun.k8s.api import REQUEST_TIMEOUT_S, Cluster, cluster_of
from chaosrun.k8s.changes import CHANGES, unschedulable

__all__ = ["GUARDED", "install", "schedulable_nodes"]

_state = threading.local()
NETPOL_API = "networking.k8s.io/v1"
_FIXED_POLICIES = {
    "deny_all_ingress": "chaostoolkit-deny-all-ingress",
    "deny_all_egress": "chaostoolkit-deny-all-egress",
    "allow_dns_access": "chaostoolkit-allow-dns",
}
_REMOVERS = {
    "remove_deny_all_ingress": "chaostoolkit-deny-all-ingress",
    "remove_deny_all_egress": "chaostoolkit-deny-all-egress",
    "remove_allow_dns_access": "chaostoolkit-allow-dns",
}


@contextmanager
def _outermost() -> Iterator[bool]:
    """True for the outermost guarded call of this thread (nested calls record nothing)."""
    depth = getattr(_state, "depth", 0)
    _state.depth = depth + 1
    try:
        yield depth == 0
    finally:
        _state.depth = depth


def schedulable_nodes(cluster: Cluster, name: str | None, label_selector: str | None) -> list[str]:
    """The nodes a cordon of `name` / `label_selector` would change: those schedulable now."""
    core = cluster.core()
    if name:
        nodes = [core.read_node(name, _request_timeout=REQUEST_TIMEOUT_S)]
    else:
        found = core.list_node(label_selector=label_selector, _request_timeout=REQUEST_TIMEOUT_S)
        nodes = found.items
    return [n.metadata.name for n in nodes if not unschedulable(n)]


def _bound(original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    bound = inspect.signature(original).bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.arguments


Recorder = Callable[[Path, Mapping[str, Any], Cluster], list[undolog.UndoEntry]]


def _guard(original: Callable[..., Any], before: Recorder, instant: bool = False) -> Any:
    """`original`, with the entries `before` records written first; each is marked applied
    once the call returned (or, for a change that takes time, as the call starts)."""

    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        log = undolog.log_from_env()
        with _outermost() as outermost:
            if log is None or not outermost:
                return original(*args, **kwargs)
            arguments = _bound(original, args, kwargs)
            cluster = cluster_of(arguments.get("secrets"))
            entries = before(log, arguments, cluster)
            if not instant:
                for entry in entries:
                    undolog.mark_applied(log, entry.id, time.time())
            result = original(*args, **kwargs)
            if instant:
                now = time.time()
                for entry in entries:
                    until = now if entry.fault == "k8s_pods" else None  # over at once
                    undolog.mark_applied(log, entry.id, now, until)
            return result

    guarded.__chaosrun_guarded__ = True  # type: ignore[attr-defined]
    return guarded


def _after(original: Callable[..., Any], settle: Callable[[Path, Mapping[str, Any]], None]) -> Any:
    """`original`, then `settle` marks the entries it reverted done."""

    @functools.wraps(original)
    def reverting(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        log = undolog.log_from_env()
        if log is not None:
            settle(log, _bound(original, args, kwargs))
        return result

    reverting.__chaosrun_guarded__ = True  # type: ignore[attr-defined]
    return reverting


def _record(log: Path, change: str, cluster: Cluster, **params: Any) -> undolog.UndoEntry:
    assert change in CHANGES
    return undolog.record(log, change, **params, **cluster.to_params())


# -- what each action is about to change --


def _cordon(log: Path, a: Mapping[str, Any], cluster: Cluster) -> list[undolog.UndoEntry]:
    nodes = schedulable_nodes(cluster, a.get("name"), a.get("label_selector"))
    return [_record(log, "k8s_cordon", cluster, nodes=nodes)] if nodes else []


def _drain(log: Path, a: Mapping[str, Any], cluster: Cluster) -> list[undolog.UndoEntry]:
    entries = _cordon(log, a, cluster)
    selector = a.get("label_selector")
    entries.append(
        _record(log, "k8s_pods", cluster, how="evict", node=a.get("name"), nodes_selector=selector)
    )
    return entries


def _scale(kind: str) -> Recorder:
    def before(log: Path, a: Mapping[str, Any], cluster: Cluster) -> list[undolog.UndoEntry]:
        from kubernetes import client  # type: ignore[import-untyped]

        apps = client.AppsV1Api(cluster.client())
        read = (
            apps.read_namespaced_stateful_set_scale
            if kind == "StatefulSet"
            else apps.read_namespaced_deployment_scale
        )
        ns = a.get("ns") or "default"
        scale: Any = read(a["name"], ns, _request_timeout=REQUEST_TIMEOUT_S)
        now = scale.spec.replicas
        return [
            _record(
                log, "k8s_scale", cluster, kind=kind, name=a["name"], namespace=ns, replicas=now
            )
        ]

    return before


def _pods(how: str) -> Recorder:
    def before(log: Path, a: Mapping[str, Any], cluster: Cluster) -> list[undolog.UndoEntry]:
        ns = a.get("ns") or "default"
        selector = a.get("label_selector") or a.get("name") or a.get("name_pattern")
        return [_record(log, "k8s_pods", cluster, how=how, namespace=ns, selector=selector)]

    return before


def _policy(fixed: str | None) -> Recorder:
    def before(log: Path, a: Mapping[str, Any], cluster: Cluster) -> list[undolog.UndoEntry]:
        name = fixed or _policy_name(a.get("spec"), a.get("spec_path"))
        if name is None:
            return []
        ns = a.get("ns") or "default"
        params = {"api_version": NETPOL_API, "kind": "NetworkPolicy", "name": name, "namespace": ns}
        return [_record(log, "k8s_object", cluster, **params)]

    return before


def _policy_name(spec: Any, spec_path: Any) -> str | None:
    if spec is None and isinstance(spec_path, str):
        try:
            with open(spec_path, encoding="utf-8") as handle:
                spec = yaml.safe_load(handle)
        except (OSError, yaml.YAMLError):
            return None
    meta = spec.get("metadata") if isinstance(spec, Mapping) else None
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return str(name) if name else None


# -- the experiment's own reverts --


def _settle(kind: str, matches: Callable[[Mapping[str, Any], Mapping[str, Any]], bool]) -> Any:
    def settle(log: Path, arguments: Mapping[str, Any]) -> None:
        done = undolog.done_ids(log)
        for entry in undolog.all_entries(log):
            pending = entry.fault == kind and entry.id not in done
            if (
                pending
                and matches(entry.params, arguments)
                and not CHANGES[kind].remains(entry.params)
            ):
                undolog.mark_done(log, entry.id)

    return settle


def _any(params: Mapping[str, Any], arguments: Mapping[str, Any]) -> bool:
    return True


def _same_scale(params: Mapping[str, Any], arguments: Mapping[str, Any]) -> bool:
    ns = arguments.get("ns") or "default"
    return bool(params["name"] == arguments.get("name") and params["namespace"] == ns)


def _same_policy(fixed: str | None) -> Callable[[Mapping[str, Any], Mapping[str, Any]], bool]:
    def matches(params: Mapping[str, Any], arguments: Mapping[str, Any]) -> bool:
        name = fixed or _policy_name(arguments.get("spec"), arguments.get("spec_path"))
        return bool(
            params["name"] == name and params["namespace"] == (arguments.get("ns") or "default")
        )

    return matches


def _creating(policy: str) -> Callable[[Callable[..., Any]], Any]:
    return lambda f: _guard(f, _policy(policy), instant=True)


def _removing(policy: str) -> Callable[[Callable[..., Any]], Any]:
    return lambda f: _after(f, _settle("k8s_object", _same_policy(policy)))


# (module, function) -> how it is wrapped
GUARDED: Mapping[tuple[str, str], Callable[[Callable[..., Any]], Any]] = {
    ("chaosk8s.node.actions", "cordon_node"): lambda f: _guard(f, _cordon, instant=True),
    ("chaosk8s.node.actions", "drain_nodes"): lambda f: _guard(f, _drain),
    ("chaosk8s.node.actions", "uncordon_node"): lambda f: _after(f, _settle("k8s_cordon", _any)),
    ("chaosk8s.deployment.actions", "scale_deployment"): lambda f: _after(
        _guard(f, _scale("Deployment"), instant=True), _settle("k8s_scale", _same_scale)
    ),
    ("chaosk8s.statefulset.actions", "scale_statefulset"): lambda f: _after(
        _guard(f, _scale("StatefulSet"), instant=True), _settle("k8s_scale", _same_scale)
    ),
    ("chaosk8s.pod.actions", "terminate_pods"): lambda f: _guard(f, _pods("delete"), instant=True),
    ("chaosk8s.pod.actions", "delete_pods"): lambda f: _guard(f, _pods("delete"), instant=True),
    ("chaosk8s.networking.actions", "create_network_policy"): lambda f: _guard(
        f, _policy(None), instant=True
    ),
    **{
        ("chaosk8s.networking.actions", name): _creating(policy)
        for name, policy in _FIXED_POLICIES.items()
    },
    ("chaosk8s.networking.actions", "remove_network_policy"): lambda f: _after(
        f, _settle("k8s_object", _same_policy(None))
    ),
    **{
        ("chaosk8s.networking.actions", name): _removing(policy)
        for name, policy in _REMOVERS.items()
    },
}


def install() -> list[str]:
    """Wrap every function of GUARDED (once); the ones wrapped, as module.function."""
    wrapped = []
    for (module_name, func), wrap in GUARDED.items():
        module = importlib.import_module(module_name)
        original = getattr(module, func)
        if getattr(original, "__chaosrun_guarded__", False):
            continue
        setattr(module, func, wrap(original))
        wrapped.append(f"{module_name}.{func}")
    return wrapped
