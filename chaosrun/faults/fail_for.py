"""fail_for: the lab dependency behind `proxy` answers 500 for exactly `duration_ms` (lab only).

Decided inside the dependency process (no proxy, no network fault): the ground truth against
which chaosrun's recovery measurements are checked.
"""

from __future__ import annotations

from typing import Any

from chaosrun.engine import undo
from chaosrun.faults._toxic import client_for, undo_log
from chaosrun.lab.failure import end_failure, start_failure

__all__ = ["inject", "revert"]

LIMITS = {"duration_ms": (0, 3_600_000)}


def inject(
    *, proxy: str, duration_ms: int, configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    client = client_for(configuration)
    log = undo_log()
    entry = undo.record(log, "end_failure", client.url, proxy, fault="fail_for") if log else None
    window = start_failure(client, proxy, duration_ms)
    if log and entry:
        undo.mark_applied(log, entry.id, float(window["start"]), float(window["end"]))
    return {
        "proxy": proxy,
        "start": window.get("start"),
        "end": window.get("end"),
        "duration_ms": duration_ms,
    }


def revert(*, proxy: str, configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    client = client_for(configuration)
    end_failure(client, proxy)
    log = undo_log()
    if log:
        for entry in undo.pending_entries(log):
            if entry.op == "end_failure" and entry.proxy == proxy:
                undo.mark_done(log, entry.id)
    return {"proxy": proxy, "ended": True}
