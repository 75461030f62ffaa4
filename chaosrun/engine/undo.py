"""The run's append-only undo log.

A fault appends an entry that says how to revert it *before* it acts; after reverting it appends a
`done` record. Whoever replays the log (the supervisor at the end of a run, `chaosrun cleanup`, the
next run after a crash) reverts every pending entry; each operation is idempotent.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

from chaosrun.checks.observation import FaultWindow
from chaosrun.errors import ToxiproxyError
from chaosrun.lab.toxiproxy import ToxiproxyClient

__all__ = [
    "UNDO_LOG_ENV",
    "ReplayOutcome",
    "UndoEntry",
    "all_entries",
    "fault_windows",
    "mark_applied",
    "mark_done",
    "pending_entries",
    "read_entries",
    "record",
    "replay",
    "revert_entry",
]

UNDO_LOG_ENV = "CHAOSRUN_UNDO_LOG"
Op = Literal["remove_toxic", "enable_proxy", "end_failure", "restore_upstream"]
RECORDING_OPS: frozenset[Op] = frozenset({"restore_upstream"})  # see chaosrun.engine.recording


@dataclass(frozen=True, slots=True)
class UndoEntry:
    id: str
    op: Op
    toxiproxy_url: str
    proxy: str
    toxic: str | None
    at: float
    fault: str = ""  # the fault kind, e.g. "latency"
    upstream: str | None = None  # restore_upstream: the proxy's upstream before it was moved


@dataclass(frozen=True, slots=True)
class ReplayOutcome:
    entry: UndoEntry
    reverted: bool  # False when there was nothing left to revert
    error: str | None = None

    def to_dict(self) -> dict[str, object]:
        """For the journal's `chaosrun.undo` list."""
        return {
            "op": self.entry.op,
            "proxy": self.entry.proxy,
            "toxic": self.entry.toxic,
            "reverted_by_supervisor": self.reverted,
            "error": self.error,
        }


def _append(path: Path, record_: dict[str, object]) -> None:
    line = (json.dumps(record_, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def record(
    path: Path,
    op: Op,
    toxiproxy_url: str,
    proxy: str,
    toxic: str | None = None,
    fault: str = "",
    upstream: str | None = None,
) -> UndoEntry:
    entry = UndoEntry(
        uuid.uuid4().hex, op, toxiproxy_url, proxy, toxic, time.time(), fault, upstream
    )
    _append(path, {"kind": "undo", **asdict(entry)})
    return entry


def mark_applied(path: Path, entry_id: str, at: float, until: float | None = None) -> None:
    """The fault took effect at `at` (and, for self-ending faults, ends at `until`)."""
    _append(path, {"kind": "applied", "id": entry_id, "at": at, "until": until})


def fault_windows(path: Path) -> list[FaultWindow]:
    """When each fault of the run was in effect: applied -> reverted (or its own end)."""
    applied: dict[str, tuple[float, float | None]] = {}
    done: dict[str, float] = {}
    for kind, data in read_entries(path):
        if kind == "applied":
            until = data.get("until")
            applied[str(data["id"])] = (
                float(str(data["at"])),
                None if until is None else float(str(until)),
            )
        elif kind == "done":
            done.setdefault(str(data["id"]), float(str(data["at"])))
    windows = []
    for entry in all_entries(path):
        if entry.id not in applied:
            continue  # the action failed before the fault took effect
        start, until = applied[entry.id]
        ends = [t for t in (until, done.get(entry.id)) if t is not None]
        windows.append(
            FaultWindow(entry.fault or entry.op, entry.proxy, start, min(ends) if ends else None)
        )
    return windows


def mark_done(path: Path, entry_id: str) -> None:
    _append(path, {"kind": "done", "id": entry_id, "at": time.time()})


def read_entries(path: Path) -> Iterator[tuple[str, dict[str, object]]]:
    """(kind, record) pairs; a torn last line (crash mid-write) is ignored."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and isinstance(data.get("kind"), str):
            yield str(data["kind"]), data


def all_entries(path: Path) -> list[UndoEntry]:
    entries = []
    for kind, data in read_entries(path):
        if kind == "undo":
            fields = {k: data[k] for k in UndoEntry.__dataclass_fields__ if k in data}
            entries.append(UndoEntry(**fields))  # type: ignore[arg-type]
    return entries


def pending_entries(path: Path) -> list[UndoEntry]:
    done = {str(d["id"]) for kind, d in read_entries(path) if kind == "done"}
    return [e for e in all_entries(path) if e.id not in done]


def revert_entry(entry: UndoEntry, timeout_s: float = 2.0) -> bool:
    client = ToxiproxyClient(entry.toxiproxy_url, timeout_s=timeout_s)
    if entry.op == "end_failure":
        from chaosrun.lab.failure import end_failure

        return end_failure(client, entry.proxy, timeout_s)
    if entry.op == "remove_toxic":
        assert entry.toxic is not None
        return client.remove_toxic(entry.proxy, entry.toxic, missing_ok=True)
    try:
        proxy = client.proxy(entry.proxy)
    except ToxiproxyError as exc:
        if exc.status == 404:
            return False
        raise
    if entry.op == "restore_upstream":
        if entry.upstream is None or proxy.upstream == entry.upstream:
            return False
        client.set_upstream(entry.proxy, entry.upstream)
        return True
    if proxy.enabled:
        return False
    client.set_enabled(entry.proxy, True)
    return True


def replay(
    path: Path,
    timeout_s: float = 2.0,
    everything: bool = False,
    keep: frozenset[Op] = frozenset(),
    only: frozenset[Op] | None = None,
) -> list[ReplayOutcome]:
    """Revert every entry not yet marked done, newest first. Idempotent: safe to call again.

    `everything` reverts the entries already marked done too: after an early revert while the
    worker was still running, a fault it applied just after that revert is marked done but live.
    Entries whose op is in `keep` stay as they are (a recording outlives the faults); with
    `only`, nothing but those ops is reverted.
    """
    outcomes = []
    ended = _self_ended(path)
    entries = all_entries(path) if everything else pending_entries(path)
    entries = [e for e in entries if e.op not in keep and (only is None or e.op in only)]
    for entry in reversed(entries):
        if entry.id in ended:
            mark_done(path, entry.id)
            outcomes.append(ReplayOutcome(entry, False))
            continue
        try:
            reverted = revert_entry(entry, timeout_s)
        except ToxiproxyError as exc:
            outcomes.append(ReplayOutcome(entry, False, str(exc)))
            continue
        mark_done(path, entry.id)
        outcomes.append(ReplayOutcome(entry, reverted))
    return outcomes


def _self_ended(path: Path) -> set[str]:
    """Entries of faults that end by themselves (a failure window) and already have."""
    now = time.time()
    return {
        str(data["id"])
        for kind, data in read_entries(path)
        if kind == "applied" and data.get("until") is not None and float(str(data["until"])) <= now
    }
