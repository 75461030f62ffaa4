"""Put the target back: replay the undo log, and when Toxiproxy will not answer, fall back.

Fallbacks, in order: `POST /reset` (removes every toxic, enables every proxy), then for the lab a
restart of its Toxiproxy server (proxies come back from its config file, clean). Entries that
nothing could revert stay pending in the undo log: `chaosrun cleanup` or the next run retries them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from chaosrun.engine import undo
from chaosrun.engine.target import Target
from chaosrun.errors import ChaosrunError, ToxiproxyError
from chaosrun.faults import REGISTRY
from chaosrun.lab.toxiproxy import ToxiproxyClient

__all__ = ["FaultsLeft", "Restoration", "faults_left", "restore"]


@dataclass(frozen=True, slots=True)
class Restoration:
    outcomes: tuple[undo.ReplayOutcome, ...]
    fallback: str | None  # what restored Toxiproxy when replaying failed
    fallback_error: str | None
    unreverted: int  # entries still pending afterwards
    target: Target  # the target afterwards (a restarted lab server has a new PID)
    started: float
    finished: float


def restore(
    log: Path,
    target: Target,
    everything: bool = False,
    timeout_s: float = 1.0,
    keep: frozenset[str] = undo.RECORDING_KINDS,
) -> Restoration:
    """Revert the run's faults; entries whose kind is in `keep` (the recording's) stay, and are
    not counted as unreverted."""
    started = time.time()
    outcomes = tuple(undo.replay(log, timeout_s, everything, keep=keep))
    fallback: str | None = None
    error: str | None = None
    stuck = [e for e in undo.pending_entries(log) if undo.in_toxiproxy(e)]
    if stuck:
        fallback, error, target = target.restore_fallback(timeout_s)
        if fallback is not None:
            for entry in stuck:
                undo.mark_done(log, entry.id)
    return Restoration(
        outcomes=outcomes,
        fallback=fallback,
        fallback_error=error,
        unreverted=sum(1 for e in undo.pending_entries(log) if e.fault not in keep),
        target=target,
        started=started,
        finished=time.time(),
    )


@dataclass(frozen=True, slots=True)
class FaultsLeft:
    """The run's faults as Toxiproxy and this host show them after the restore (not the undo
    log's word)."""

    injected: int  # faults that took effect (a fault window in the undo log)
    left: int | None  # of those, still visible; None if Toxiproxy did not answer
    where: tuple[str, ...]  # "catalog: toxic latency_downstream", "auth: disabled", "tmpfs ..."
    on_host: bool = False  # some were checked on this host (cgroups, mounts, processes)
    on_cluster: bool = False  # some on a Kubernetes API server (nodes, replicas, objects)

    def to_dict(self) -> dict[str, object]:
        return {
            "injected": self.injected,
            "left": self.left,
            "where": list(self.where),
            "on_host": self.on_host,
            "on_cluster": self.on_cluster,
        }


def faults_left(log: Path, timeout_s: float = 1.0) -> FaultsLeft:
    """Ask each Toxiproxy the run used whether any of its toxics or disabled proxies remain, and
    this host whether any cgroup, mount, limit or process of its other faults does (each fault
    kind says what of it would be left)."""
    injected = len(undo.fault_windows(log))
    by_server: dict[str, list[undo.UndoEntry]] = {}
    where: list[str] = []
    on_host = on_cluster = False
    for entry in undo.all_entries(log):
        if undo.in_toxiproxy(entry):
            by_server.setdefault(str(entry.params.get("toxiproxy_url")), []).append(entry)
            continue
        kind = REGISTRY.get(entry.fault)
        if kind is not None and kind.remains is not None:
            on_host = True
            if (found := kind.remains(entry.params)) is not None:
                where.append(found)
        elif (change := undo.k8s_change(entry)) is not None:
            on_cluster = True
            try:
                found = change.remains(entry.params)
            except ChaosrunError as exc:  # the API server did not answer: unknown
                where.append(f"{entry.fault}: not checked ({exc})")
                continue
            if found is not None:
                where.append(found)
    for url, server_entries in by_server.items():
        try:
            proxies = ToxiproxyClient(url, timeout_s=timeout_s).proxies()
        except ToxiproxyError:
            return FaultsLeft(injected, None, tuple(where), on_host, on_cluster)
        for entry in server_entries:
            left = REGISTRY[entry.fault].left
            for name in entry.params.get("proxies") or [entry.proxy]:  # a region: several
                proxy = proxies.get(str(name))
                found = None if proxy is None or left is None else left(entry.params, proxy)
                if found is not None:
                    where.append(found)
    unique = tuple(dict.fromkeys(where))
    return FaultsLeft(injected, len(unique), unique, on_host, on_cluster)
