"""Revert what dead runs left behind: their undo logs, their workers, their ephemeral labs."""

from __future__ import annotations

import json
import signal
import time
from dataclasses import dataclass, replace
from pathlib import Path

from chaosrun.atomic import write_atomic
from chaosrun.engine import undo
from chaosrun.engine.follow import read_events
from chaosrun.engine.journal import JOURNAL_FILE, compose_journal, read_json_object
from chaosrun.engine.lock import sweep_stale
from chaosrun.engine.recording import relay_owner
from chaosrun.engine.rundir import RunRecord, list_runs, read_record, update_state
from chaosrun.engine.worker import EVENTS_FILE, EXPERIMENT_FILE, WORKER_JOURNAL_FILE
from chaosrun.lab.lab import lab_down, load_lab_info
from chaosrun.lab.procs import owned_processes, stop

__all__ = ["Reconciled", "reconcile_dead_runs"]


@dataclass(frozen=True, slots=True)
class Reconciled:
    run_dir: Path
    active: int  # faults the dead run still had in place when we found it
    reverted: int  # of those, reverted by replaying the undo log (the rest by the worker)
    errors: tuple[str, ...]
    stopped_lab: bool
    pending: int = 0  # faults still not reverted (the target does not answer yet)


def reconcile_dead_runs(home: Path, by: str = "chaosrun cleanup") -> list[Reconciled]:
    """Every run still marked `running` whose supervisor is gone gets reverted, then marked
    (with a journal, status aborted); runs that ended with faults they could not revert
    (`needs-revert`) get another try."""
    results = []
    for run_dir in list_runs(home):
        record = read_record(run_dir)
        if record is None:
            continue
        dead = record.state == "running" and not record.supervisor.alive()
        if not dead and record.state != "needs-revert":
            continue
        active = len(undo.pending_entries(run_dir / "undo.log"))
        if record.worker is not None:
            # SIGINT lets Chaos Toolkit run its rollbacks; the replay below covers the rest.
            stop(record.worker, grace_s=5.0, first=signal.SIGINT)
        if record.load is not None:
            stop(record.load, grace_s=1.0)
        for ref in owned_processes(str(run_dir)):  # started but not recorded yet
            stop(ref, grace_s=2.0, first=signal.SIGINT)
        log = run_dir / "undo.log"
        outcomes = undo.replay(log)
        stopped_lab = False
        if record.ephemeral_lab:
            info = load_lab_info(Path(record.ephemeral_lab))
            if info is not None:
                lab_down(info)
                stopped_lab = True
            for ref in owned_processes(record.ephemeral_lab):  # a lab killed mid-start
                stop(ref)
                stopped_lab = True
            outcomes += undo.replay(log, only=_on_host(log))  # a cgroup outlives the lab
            for entry in undo.pending_entries(log):
                if not undo.on_host(entry):
                    undo.mark_done(log, entry.id)  # its faults went away with the lab
        if not any(e.fault in undo.RECORDING_KINDS for e in undo.pending_entries(log)):
            for ref in owned_processes(relay_owner(run_dir)):  # its upstreams are back (or gone)
                stop(ref, grace_s=2.0)
        if undo.pending_entries(log):
            # The target still does not answer: the next cleanup or run tries again.
            result = _result(run_dir, active, outcomes, stopped_lab)
            results.append(replace(result, pending=len(undo.pending_entries(log))))
            continue
        if dead and not (run_dir / JOURNAL_FILE).exists():
            _write_journal(run_dir, record, outcomes, by)
        update_state(run_dir, record, "reconciled")
        results.append(_result(run_dir, active, outcomes, stopped_lab))
    if results:
        sweep_stale()  # a killed supervisor could not remove its lock file
    return results


def _write_journal(
    run_dir: Path, record: RunRecord, outcomes: list[undo.ReplayOutcome], by: str
) -> None:
    """The dead supervisor could not write its journal: compose one from what the run left."""
    document = read_json_object(run_dir / EXPERIMENT_FILE) or {"title": record.experiment}
    events = read_events(run_dir / EVENTS_FILE)
    worker_journal = read_json_object(run_dir / WORKER_JOURNAL_FILE)
    reason = f"supervisor (pid {record.supervisor.pid}) died; faults reverted by {by}"
    journal = compose_journal(
        document=document,
        worker_journal=worker_journal,
        events=events,
        chaosrun={
            "run_id": record.run_id,
            "run_dir": str(run_dir),
            "experiment_file": record.experiment,
            "worker": {"reason": reason},
            "undo": [o.to_dict() for o in outcomes],
            "reconciled": {"by": by, "at": time.time()},
        },
        started_at=record.started_at or time.time(),
        override_status="aborted",
    )
    write_atomic(run_dir / JOURNAL_FILE, json.dumps(journal, indent=2, default=str))


def _on_host(log: Path) -> frozenset[str]:
    return frozenset(e.fault for e in undo.pending_entries(log) if undo.on_host(e))


def _result(
    run_dir: Path, active: int, outcomes: list[undo.ReplayOutcome], stopped_lab: bool
) -> Reconciled:
    return Reconciled(
        run_dir=run_dir,
        active=active,
        reverted=sum(1 for o in outcomes if o.reverted),
        errors=tuple(o.error for o in outcomes if o.error),
        stopped_lab=stopped_lab,
    )
