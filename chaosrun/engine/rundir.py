"""Where chaosrun keeps state: the running lab and one directory per run.

$CHAOSRUN_HOME (default ~/.local/state/chaosrun)
  lab/lab.json            the lab started by `chaosrun lab up`
  runs/<run-id>/run.json  who runs it (supervisor and worker PIDs) and its state
               undo.log   append-only undo entries of every fault (and of moved upstreams)
               recording.jsonl  what reached each dependency (the recording relay)
               events.jsonl, worker.log, worker-journal.json, journal.json
               lab/       an ephemeral lab started for this run only
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Literal

from chaosrun.atomic import write_atomic
from chaosrun.lab.procs import ProcessRef, process_start_time

__all__ = [
    "RunRecord",
    "RunState",
    "chaosrun_home",
    "list_runs",
    "new_run_dir",
    "read_record",
    "write_record",
]

RunState = Literal["running", "finished", "needs-revert", "reconciled"]
RUN_FILE = "run.json"


def chaosrun_home() -> Path:
    explicit = os.environ.get("CHAOSRUN_HOME")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "chaosrun"


@dataclass(frozen=True, slots=True)
class RunRecord:
    run_id: str
    experiment: str
    state: RunState
    supervisor: ProcessRef
    worker: ProcessRef | None = None
    load: ProcessRef | None = None
    ephemeral_lab: str | None = None
    started_at: float = 0.0
    relay: ProcessRef | None = None  # the recording relay (chaosrun.engine.recording)


def new_run_dir(home: Path) -> tuple[str, Path]:
    run_id = time.strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(3)
    path = home / "runs" / run_id
    path.mkdir(parents=True, mode=0o700)
    return run_id, path


def me() -> ProcessRef:
    return ProcessRef("supervisor", os.getpid(), process_start_time(os.getpid()))


def write_record(run_dir: Path, record: RunRecord) -> None:
    write_atomic(run_dir / RUN_FILE, json.dumps(asdict(record), indent=2))


def read_record(run_dir: Path) -> RunRecord | None:
    try:
        data = json.loads((run_dir / RUN_FILE).read_text())
        worker = data.get("worker")
        load = data.get("load")
        relay = data.get("relay")
        return RunRecord(
            run_id=data["run_id"],
            experiment=data["experiment"],
            state=data["state"],
            supervisor=ProcessRef(**data["supervisor"]),
            worker=ProcessRef(**worker) if worker else None,
            load=ProcessRef(**load) if load else None,
            ephemeral_lab=data.get("ephemeral_lab"),
            started_at=float(data.get("started_at", 0.0)),
            relay=ProcessRef(**relay) if relay else None,
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def update_state(run_dir: Path, record: RunRecord, state: RunState) -> RunRecord:
    updated = replace(record, state=state)
    write_record(run_dir, updated)
    return updated


def list_runs(home: Path) -> list[Path]:
    runs = home / "runs"
    if not runs.is_dir():
        return []
    return sorted(p for p in runs.iterdir() if p.is_dir())
