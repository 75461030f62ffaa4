"""The run journal: Chaos Toolkit's journal plus a `chaosrun` section (pure composition).

When the worker died before writing its journal, one is rebuilt from the events it streamed, so the
journal always exists and always has the Chaos Toolkit keys. Whatever its source, the composed
journal has the experiment's secrets masked (`chaosrun.engine.redact`): the worker already masks
what it writes; this is the last line of defence before the journal is written and summarised.
"""

from __future__ import annotations

import json
import os
import platform
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from chaosrun.engine.redact import Redactor

__all__ = ["JOURNAL_FILE", "JOURNAL_STATUSES", "compose_journal", "read_json_object"]

JOURNAL_FILE = "journal.json"  # in the run directory

JOURNAL_STATUSES = ("completed", "failed", "aborted", "interrupted")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat()


def _rebuilt(
    document: dict[str, Any] | Any, events: list[dict[str, Any]], started_at: float
) -> dict[str, Any]:
    from chaoslib import __version__ as chaoslib_version

    before = next((e["state"] for e in events if e["event"] == "hypothesis-before-completed"), None)
    after = next((e["state"] for e in events if e["event"] == "hypothesis-after-completed"), None)
    in_rollbacks = False
    method_runs: list[Any] = []
    rollback_runs: list[Any] = []
    for event in events:
        if event["event"] == "rollbacks":
            in_rollbacks = True
        elif event["event"] == "activity":
            (rollback_runs if in_rollbacks else method_runs).append(event["run"])
    ended = max([started_at, *(float(e.get("at", 0)) for e in events)])
    deviated = any(
        state is not None and state.get("steady_state_met") is False for state in (before, after)
    )
    return {
        "chaoslib-version": chaoslib_version,
        "platform": platform.platform(),
        "node": socket.gethostname(),
        "experiment": document,
        "start": _iso(started_at),
        "status": "failed",
        "deviated": deviated,
        "steady_states": {"before": before, "after": after, "during": []},
        "run": method_runs,
        "rollbacks": rollback_runs,
        "end": _iso(ended),
        "duration": round(ended - started_at, 3),
    }


def compose_journal(
    document: Any,
    worker_journal: dict[str, Any] | None,
    events: list[dict[str, Any]],
    chaosrun: dict[str, Any],
    started_at: float,
    override_status: str | None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The final journal; secret values are resolved from `environ` (default: os.environ)."""
    journal = dict(worker_journal) if worker_journal else _rebuilt(document, events, started_at)
    chaosrun = {**chaosrun, "journal_rebuilt_from_events": worker_journal is None}
    if override_status is not None:
        journal["status"] = override_status
    if journal.get("status") not in JOURNAL_STATUSES:
        journal["status"] = "failed"
    journal["chaosrun"] = chaosrun
    redactor = Redactor.for_experiment(document, os.environ if environ is None else environ)
    redacted: dict[str, Any] = redactor.data(journal)
    return redacted


def read_json_object(path: Path) -> dict[str, Any] | None:
    """A JSON object from a file a worker may have left half-written or not at all."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
