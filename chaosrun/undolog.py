"""The run's append-only undo log: its format, nothing else (a bottom layer: stdlib only).

Whatever chaosrun changes on a target is recorded here *before* it is changed: an `UndoEntry`
names the kind that knows how to put it back (a fault kind of `chaosrun.faults.REGISTRY`, or
`recording` for an upstream moved to the recording relay) and the parameters its revert needs.
After the change took effect an `applied` record gives its time (and, for a change that ends by
itself, when it ends); after it was put back a `done` record. Whoever replays the log
(`chaosrun.engine.undo`) dispatches each pending entry to its kind.

One JSON object per line, fsynced: ``{"kind": "undo", "id", "fault", "params", "at"}``,
``{"kind": "applied", "id", "at", "until"}``, ``{"kind": "done", "id", "at"}``. Logs written
before kinds owned their revert (``"op"`` with ``toxiproxy_url``/``proxy``/``toxic``/``upstream``
fields) read as the same entries.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "UNDO_LOG_ENV",
    "UndoEntry",
    "all_entries",
    "applied_times",
    "done_ids",
    "done_times",
    "log_from_env",
    "mark_applied",
    "mark_done",
    "pending_entries",
    "read_records",
    "record",
    "self_ended",
]

UNDO_LOG_ENV = "CHAOSRUN_UNDO_LOG"

# Logs of earlier versions: what each operation was, as the kind that reverts it now.
_LEGACY_KINDS = {"enable_proxy": "proxy_down", "end_failure": "fail_for"}
_LEGACY_PARAMS = ("toxiproxy_url", "proxy", "toxic", "upstream")


@dataclass(frozen=True, slots=True)
class UndoEntry:
    id: str
    fault: str  # the kind that reverts it: a fault kind's name, or "recording"
    params: Mapping[str, Any] = field(default_factory=dict)  # what its revert needs
    at: float = 0.0

    @property
    def proxy(self) -> str:
        """The Toxiproxy proxy it changed ("" when it changed none)."""
        return str(self.params.get("proxy") or "")


def log_from_env() -> Path | None:
    """The undo log of the run this process works for (`UNDO_LOG_ENV`), if any."""
    path = os.environ.get(UNDO_LOG_ENV)
    return Path(path) if path else None


def _append(path: Path, line_record: Mapping[str, object]) -> None:
    line = (json.dumps(line_record, separators=(",", ":")) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def record(path: Path, fault: str, **params: Any) -> UndoEntry:
    """Write the entry that reverts what is about to change; call before changing it."""
    entry = UndoEntry(uuid.uuid4().hex, fault, dict(params), time.time())
    _append(
        path,
        {"kind": "undo", "id": entry.id, "fault": fault, "params": entry.params, "at": entry.at},
    )
    return entry


def mark_applied(path: Path, entry_id: str, at: float, until: float | None = None) -> None:
    """The change took effect at `at` (and, for one that ends by itself, ends at `until`)."""
    _append(path, {"kind": "applied", "id": entry_id, "at": at, "until": until})


def mark_done(path: Path, entry_id: str) -> None:
    _append(path, {"kind": "done", "id": entry_id, "at": time.time()})


def read_records(path: Path) -> Iterator[tuple[str, dict[str, object]]]:
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


def _entry(data: Mapping[str, object]) -> UndoEntry | None:
    at = data.get("at")
    when = float(at) if isinstance(at, int | float) else 0.0
    params = data.get("params")
    if isinstance(params, dict):
        return UndoEntry(str(data.get("id")), str(data.get("fault")), params, when)
    op = data.get("op")
    if not isinstance(op, str):
        return None
    legacy = {k: data[k] for k in _LEGACY_PARAMS if data.get(k) is not None}
    if op == "restore_upstream":
        kind = "recording"
    elif op == "remove_toxic":
        kind = _kind_of_toxic(str(data.get("toxic")))
    else:
        kind = _LEGACY_KINDS.get(op, op)
    return UndoEntry(str(data.get("id")), kind, legacy, when)


def _kind_of_toxic(name: str) -> str:
    """chaosrun_slow_close_downstream -> slow_close (`chaosrun.faults.toxic_name`)."""
    return name.removeprefix("chaosrun_").rsplit("_", 1)[0]


def all_entries(path: Path) -> list[UndoEntry]:
    entries = [_entry(data) for kind, data in read_records(path) if kind == "undo"]
    return [e for e in entries if e is not None]


def done_times(path: Path) -> dict[str, float]:
    """Entry id -> when it was first marked done."""
    done: dict[str, float] = {}
    for kind, data in read_records(path):
        at = data.get("at")
        if kind == "done" and isinstance(at, int | float):
            done.setdefault(str(data["id"]), float(at))
    return done


def done_ids(path: Path) -> set[str]:
    return {str(d["id"]) for kind, d in read_records(path) if kind == "done"}


def pending_entries(path: Path) -> list[UndoEntry]:
    done = done_ids(path)
    return [e for e in all_entries(path) if e.id not in done]


def applied_times(path: Path) -> dict[str, tuple[float, float | None]]:
    """Entry id -> (when it took effect, when it ends by itself or None)."""
    applied: dict[str, tuple[float, float | None]] = {}
    for kind, data in read_records(path):
        if kind == "applied":
            until = data.get("until")
            applied[str(data["id"])] = (
                float(str(data["at"])),
                None if until is None else float(str(until)),
            )
    return applied


def self_ended(path: Path, now: float | None = None) -> set[str]:
    """Entries of changes that end by themselves (a failure window) and already have."""
    moment = time.time() if now is None else now
    return {
        i for i, (_, until) in applied_times(path).items() if until is not None and until <= moment
    }
