"""The supervisor: owns a run from target to journal, whatever happens to the worker.

validate (done by the caller) -> reconcile dead runs -> resolve the target (running lab, or an
ephemeral one) -> check it against the experiment (`chaosrun.engine.preflight`: a refusal is
journaled, then raised, exit 2, before anything is injected) -> start the worker -> follow its
events, enforce the deadline, forward Ctrl-C -> replay the undo log -> write the journal
atomically -> stop the ephemeral lab.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from chaosrun.atomic import write_atomic
from chaosrun.checks.outcome import RunVerdict, facts_from_journal, judge_run
from chaosrun.engine.follow import (
    INTERRUPT_GRACE_S,
    Abort,
    EventSink,
    Signals,
    read_events,
    run_worker,
    trap_signals,
)
from chaosrun.engine.journal import JOURNAL_FILE, compose_journal, read_json_object
from chaosrun.engine.lock import RunLock, acquire
from chaosrun.engine.measurement import Measurement, begin_measurement, end_measurement
from chaosrun.engine.options import RunOptions
from chaosrun.engine.preflight import target_refusal
from chaosrun.engine.reconcile import reconcile_dead_runs
from chaosrun.engine.recording import end_recording
from chaosrun.engine.restore import FaultsLeft, Restoration, faults_left, restore
from chaosrun.engine.rundir import RunRecord, me, new_run_dir, update_state, write_record
from chaosrun.engine.target import Target, ephemeral_lab_dir, release_target, resolve_target
from chaosrun.engine.worker import EVENTS_FILE, WORKER_JOURNAL_FILE
from chaosrun.errors import ChaosrunError
from chaosrun.model import Experiment

__all__ = ["INTERRUPT_GRACE_S", "RunOutcome", "supervise"]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    status: str  # completed | failed | interrupted | aborted
    deviated: bool
    reason: str | None
    run_dir: Path
    journal_path: Path
    journal: dict[str, Any]
    verdict: RunVerdict


def supervise(
    experiment: Experiment,
    home: Path,
    journal_path: Path | None = None,
    variant: str | None = None,
    on_event: EventSink = lambda event: None,
    options: RunOptions | None = None,
    options_environ: Mapping[str, str] | None = None,
    own_lab: bool = False,
) -> RunOutcome:
    """Run `experiment`; `options_environ`: variables of .env var files, for the worker only;
    `own_lab`: start an ephemeral lab even when `chaosrun lab up` runs one."""
    home.mkdir(parents=True, exist_ok=True)
    reconciled = reconcile_dead_runs(home, by="the next run")
    run_id, run_dir = new_run_dir(home)
    record = RunRecord(run_id, str(experiment.path), "running", me(), started_at=time.time())
    write_record(run_dir, record)
    signals = Signals()
    started = time.time()
    with trap_signals(signals):
        target: Target | None = None
        measurement: Measurement | None = None
        measured: dict[str, Any] | None = None
        lock: RunLock | None = None
        refused: ChaosrunError | None = None
        abort = Abort()
        restoration: Restoration | None = None
        left: FaultsLeft | None = None
        try:
            if experiment.needs_target:
                on_event({"event": "target", "phase": "starting"})
                # Recorded before it may start: a supervisor killed mid-start leaves it findable.
                record = replace(record, ephemeral_lab=str(ephemeral_lab_dir(run_dir)))
                write_record(run_dir, record)
                target = resolve_target(experiment, home, run_dir, variant, own_lab)
                if not target.ephemeral:
                    record = replace(record, ephemeral_lab=None)
                    write_record(run_dir, record)
                lock = acquire(target.lock_key(), run_id, str(experiment.path))
                on_event({"event": "target", "phase": "ready", "target": target.describe()})
                refused = target_refusal(experiment, target.toxiproxy_url, target.service_url)
            else:
                on_event({"event": "target", "phase": "none"})
                refused = None
            if refused is not None:  # nothing started, nothing injected: journal, then exit 2|3
                worker_result = {"status_override": "failed", "reason": str(refused)}
            else:
                if target is not None:
                    measurement = begin_measurement(experiment, target, run_dir, on_event)
                if measurement is not None:
                    relay = measurement.recording.ref if measurement.recording else None
                    record = replace(record, load=measurement.load.ref, relay=relay)
                    write_record(run_dir, record)
                worker_result = run_worker(
                    experiment,
                    run_dir,
                    target,
                    record,
                    signals,
                    on_event,
                    measurement,
                    abort,
                    options or RunOptions(),
                    options_environ or {},
                )
        except BaseException:
            update_state(run_dir, record, "finished")
            raise
        finally:
            try:
                if target is not None:
                    if abort.early is not None:
                        target = abort.early.target
                    restoration = restore(
                        run_dir / "undo.log", target, everything=abort.early is not None
                    )
                    target = restoration.target
                    left = faults_left(run_dir / "undo.log")
                    if restoration.outcomes or restoration.fallback:
                        on_event(
                            {
                                "event": "undo",
                                "outcomes": [o.to_dict() for o in restoration.outcomes],
                            }
                        )
                events = read_events(run_dir / EVENTS_FILE)  # the worker has ended: all of them
                if measurement is not None and target is not None:
                    measured = end_measurement(
                        measurement,
                        experiment,
                        target,
                        run_dir,
                        lambda: signals.received is not None,
                        on_event,
                        method_ran=any(e.get("event") == "method" for e in events),
                    )
            finally:
                if measurement is not None and measurement.recording is not None:
                    end_recording(measurement.recording)  # idempotent: the upstreams go back
            if target is not None:
                release_target(target)
            if lock is not None:
                lock.release()
    if signals.received is not None and worker_result.get("status_override") is None:
        # Ctrl-C after the experiment itself ended (cooldown, journal): still an interruption.
        name = signal.Signals(signals.received).name
        worker_result["reason"] = f"{name} received after the experiment: cooldown cut short"
        worker_result["status_override"] = "interrupted"
    journal = compose_journal(
        document=experiment.document,
        worker_journal=read_json_object(run_dir / WORKER_JOURNAL_FILE),
        events=events,
        chaosrun={
            "run_id": run_id,
            "run_dir": str(run_dir),
            "experiment_file": str(experiment.path),
            "target": target.describe() if target else None,
            "worker": worker_result,
            "undo": [o.to_dict() for o in (restoration.outcomes if restoration else ())],
            "restore": _restore_summary(restoration, abort),
            "faults": left.to_dict() if left else None,
            "safeguard": abort.firing.to_dict() if abort.firing else None,
            "reconciled_dead_runs": [str(r.run_dir) for r in reconciled],
            "supervisor_duration_s": round(time.time() - started, 3),
            **(measured or {}),
        },
        started_at=started,
        override_status=worker_result.get("status_override"),
    )
    verdict = judge_run(facts_from_journal(journal))
    journal["chaosrun"]["outcome"] = verdict.to_dict()
    final_path = journal_path or run_dir / JOURNAL_FILE
    text = json.dumps(journal, indent=2, default=str)
    write_atomic(run_dir / JOURNAL_FILE, text)
    if final_path != run_dir / JOURNAL_FILE:
        write_atomic(final_path, text)
    unreverted = restoration.unreverted if restoration else 0
    update_state(run_dir, record, "needs-revert" if unreverted else "finished")
    if refused is not None:
        raise refused
    return RunOutcome(
        status=str(journal["status"]),
        deviated=bool(journal.get("deviated")),
        reason=worker_result.get("reason"),
        run_dir=run_dir,
        journal_path=final_path,
        journal=journal,
        verdict=verdict,
    )


def _restore_summary(restoration: Restoration | None, abort: Abort) -> dict[str, Any] | None:
    if restoration is None:
        return None
    summary: dict[str, Any] = {
        "fallback": restoration.fallback,
        "fallback_error": restoration.fallback_error,
        "unreverted": restoration.unreverted,
    }
    if abort.early is not None and abort.firing is not None:
        early = abort.early
        summary["early"] = {
            "fallback": early.fallback,
            "fallback_error": early.fallback_error,
            "reverted": sum(1 for o in early.outcomes if o.reverted),
            "started": round(early.started, 6),
            "finished": round(early.finished, 6),
            "fired_to_reverted_s": round(early.finished - abort.firing.at, 4),
        }
    if restoration.unreverted:
        summary["advice"] = (
            f"{restoration.unreverted} fault(s) could not be reverted; "
            "`chaosrun cleanup` retries them once the target answers again"
        )
    return summary
