"""Replaying the run's undo log (`chaosrun.undolog` holds its format).

A fault appends an entry that says how to revert it *before* it acts; after reverting it appends a
`done` record. Whoever replays the log (the supervisor at the end of a run, `chaosrun cleanup`, the
next run after a crash) reverts every pending entry through the kind that wrote it
(`chaosrun.faults.REGISTRY`, or the recording's moved upstreams); each revert is idempotent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.checks.observation import FaultWindow
from chaosrun.errors import ChaosrunError
from chaosrun.faults import REGISTRY
from chaosrun.record import upstream
from chaosrun.undolog import (
    UNDO_LOG_ENV,
    UndoEntry,
    all_entries,
    applied_times,
    done_ids,
    done_times,
    mark_applied,
    mark_done,
    pending_entries,
    record,
    self_ended,
)

__all__ = [
    "RECORDING_KINDS",
    "UNDO_LOG_ENV",
    "ReplayOutcome",
    "UndoEntry",
    "all_entries",
    "fault_windows",
    "in_toxiproxy",
    "journal_op",
    "mark_applied",
    "mark_done",
    "on_host",
    "pending_entries",
    "record",
    "replay",
    "revert_entry",
]

RECORDING_KINDS = frozenset({upstream.RECORDING})  # see chaosrun.engine.recording

_REVERTS: Mapping[str, Callable[[Mapping[str, Any], float], bool]] = {
    **{name: kind.undo for name, kind in REGISTRY.items()},
    upstream.RECORDING: upstream.undo,
}
K8S_PREFIX = "k8s_"  # Kubernetes changes (`chaosrun.k8s.changes`, imported only when met)


def k8s_change(entry: UndoEntry) -> Any:
    """The `chaosrun.k8s.changes.Change` that reverts `entry`, or None for any other kind."""
    if not entry.fault.startswith(K8S_PREFIX):
        return None
    from chaosrun.k8s.changes import CHANGES

    return CHANGES.get(entry.fault)


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    entry: UndoEntry
    reverted: bool  # False when there was nothing left to revert
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        """For the journal's `chaosrun.undo` list."""
        return {
            "op": journal_op(self.entry),
            "proxy": self.entry.proxy,
            "toxic": self.entry.params.get("toxic"),
            "reverted_by_supervisor": self.reverted,
            "error": self.error,
        }


def journal_op(entry: UndoEntry) -> str:
    """How the journal names the revert of `entry` (remove_toxic, enable_proxy, ...)."""
    kind = REGISTRY.get(entry.fault)
    if kind is not None:
        return kind.undo_op
    if (change := k8s_change(entry)) is not None:
        return str(change.undo_op)
    return upstream.UNDO_OP if entry.fault == upstream.RECORDING else entry.fault


def on_host(entry: UndoEntry) -> bool:
    """What `entry` changed lives on this host (a cgroup): stopping the target does not undo it."""
    kind = REGISTRY.get(entry.fault)
    return kind is not None and kind.on_host


def in_toxiproxy(entry: UndoEntry) -> bool:
    """What `entry` changed lives in Toxiproxy: its /reset undoes it."""
    kind = REGISTRY.get(entry.fault)
    return kind is not None and kind.in_toxiproxy


def fault_windows(path: Path) -> list[FaultWindow]:
    """When each fault of the run was in effect: applied -> reverted (or its own end)."""
    applied = applied_times(path)
    done = done_times(path)
    windows = []
    for entry in all_entries(path):
        if entry.id not in applied:
            continue  # the action failed before the fault took effect
        start, until = applied[entry.id]
        ends = [t for t in (until, done.get(entry.id)) if t is not None]
        # a region outage: its region; a Kubernetes change: what it changed
        target = str(entry.params.get("region") or entry.proxy or _k8s_target(entry))
        windows.append(FaultWindow(entry.fault, target, start, min(ends) if ends else None))
    return windows


def _k8s_target(entry: UndoEntry) -> str:
    params = entry.params
    for key in ("nodes", "name", "selector"):
        if value := params.get(key):
            return ",".join(value) if isinstance(value, list) else str(value)
    return ""


def revert_entry(entry: UndoEntry, timeout_s: float = 2.0) -> bool:
    """Put back what `entry` records, through the kind that wrote it."""
    change = k8s_change(entry)
    revert = change.undo if change is not None else _REVERTS.get(entry.fault)
    if revert is None:
        raise ChaosrunError(f"no kind '{entry.fault}' to revert undo entry {entry.id}")
    return revert(entry.params, timeout_s)


def replay(
    path: Path,
    timeout_s: float = 2.0,
    everything: bool = False,
    keep: frozenset[str] = frozenset(),
    only: frozenset[str] | None = None,
) -> list[ReplayOutcome]:
    """Revert every entry not yet marked done, newest first. Idempotent: safe to call again.

    `everything` reverts the entries already marked done too: after an early revert while the
    worker was still running, a fault it applied just after that revert is marked done but live.
    Entries whose kind is in `keep` stay as they are (a recording outlives the faults); with
    `only`, nothing but those kinds is reverted.
    """
    outcomes = []
    ended = self_ended(path)
    done = set() if everything else done_ids(path)
    entries = [
        e
        for e in all_entries(path)
        if e.id not in done and e.fault not in keep and (only is None or e.fault in only)
    ]
    for entry in reversed(entries):
        if entry.id in ended:
            mark_done(path, entry.id)
            outcomes.append(ReplayOutcome(entry, False))
            continue
        try:
            reverted = revert_entry(entry, timeout_s)
        except (ChaosrunError, OSError) as exc:
            outcomes.append(ReplayOutcome(entry, False, str(exc)))
            continue
        mark_done(path, entry.id)
        outcomes.append(ReplayOutcome(entry, reverted))
    return outcomes
