"""Revert what dead runs left behind: their undo logs, their workers, their ephemeral labs."""

from __future__ import annotations

import signal
from dataclasses import dataclass
from pathlib import Path

from chaosrun.engine import undo
from chaosrun.engine.rundir import list_runs, read_record, update_state
from chaosrun.lab.lab import lab_down, load_lab_info
from chaosrun.lab.procs import stop

__all__ = ["Reconciled", "reconcile_dead_runs"]


@dataclass(frozen=True, slots=True)
class Reconciled:
    run_dir: Path
    active: int  # faults the dead run still had in place when we found it
    reverted: int  # of those, reverted by replaying the undo log (the rest by the worker)
    errors: tuple[str, ...]
    stopped_lab: bool


def reconcile_dead_runs(home: Path) -> list[Reconciled]:
    """Every run still marked `running` whose supervisor is gone gets reverted, then marked."""
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
        log = run_dir / "undo.log"
        outcomes = undo.replay(log)
        stopped_lab = False
        if record.ephemeral_lab:
            info = load_lab_info(Path(record.ephemeral_lab))
            if info is not None:
                lab_down(info)
                stopped_lab = True
            for entry in undo.pending_entries(log):
                undo.mark_done(log, entry.id)  # its faults went away with the lab
        if undo.pending_entries(log):
            # The target still does not answer: the next cleanup or run tries again.
            results.append(_result(run_dir, active, outcomes, stopped_lab))
            continue
        update_state(run_dir, record, "reconciled")
        results.append(_result(run_dir, active, outcomes, stopped_lab))
    return results


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
