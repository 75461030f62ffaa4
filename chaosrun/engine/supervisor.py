"""The supervisor: owns a run from target to journal, whatever happens to the worker.

validate (done by the caller) -> reconcile dead runs -> resolve the target (running lab, or an
ephemeral one) -> start the worker -> follow its events, enforce the deadline, forward Ctrl-C ->
replay the undo log -> write the journal atomically -> stop the ephemeral lab.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

from chaosrun.atomic import write_atomic
from chaosrun.engine import undo
from chaosrun.engine.guardian import Guardian
from chaosrun.engine.journal import compose_journal
from chaosrun.engine.lock import RunLock, acquire
from chaosrun.engine.measurement import Measurement, begin_measurement, end_measurement
from chaosrun.engine.reconcile import reconcile_dead_runs
from chaosrun.engine.restore import Restoration, restore
from chaosrun.engine.rundir import RunRecord, me, new_run_dir, update_state, write_record
from chaosrun.engine.safeguards import Firing
from chaosrun.engine.target import Target, ephemeral_lab_dir, release_target, resolve_target
from chaosrun.engine.worker import EVENTS_FILE, EXPERIMENT_FILE, WORKER_JOURNAL_FILE
from chaosrun.lab.procs import OWNER_ENV, ProcessRef, process_start_time
from chaosrun.model import Experiment
from chaosrun.probes.sli import LOAD_RATE_ENV, TIMELINE_ENV

__all__ = ["INTERRUPT_GRACE_S", "RunOutcome", "supervise"]

INTERRUPT_GRACE_S = 15.0
POLL_S = 0.05

EventSink = Callable[[dict[str, Any]], None]


@dataclass(frozen=True, slots=True)
class RunOutcome:
    status: str  # completed | failed | interrupted | aborted
    deviated: bool
    reason: str | None
    run_dir: Path
    journal_path: Path
    journal: dict[str, Any]
    checks_failed: int = 0


@dataclass(slots=True)
class _Signals:
    received: int | None = None
    count: int = 0

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        self.count += 1


@contextlib.contextmanager
def _trap_signals(state: _Signals) -> Iterator[None]:
    previous = {s: signal.signal(s, state.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def supervise(
    experiment: Experiment,
    home: Path,
    journal_path: Path | None = None,
    variant: str | None = None,
    on_event: EventSink = lambda event: None,
) -> RunOutcome:
    home.mkdir(parents=True, exist_ok=True)
    reconciled = reconcile_dead_runs(home, by="the next run")
    run_id, run_dir = new_run_dir(home)
    record = RunRecord(run_id, str(experiment.path), "running", me(), started_at=time.time())
    write_record(run_dir, record)
    signals = _Signals()
    started = time.time()
    with _trap_signals(signals):
        target: Target | None = None
        measurement: Measurement | None = None
        measured: dict[str, Any] | None = None
        lock: RunLock | None = None
        abort = _Abort()
        restoration: Restoration | None = None
        try:
            on_event({"event": "target", "phase": "starting"})
            # Recorded before it may start: a supervisor killed mid-start leaves it findable.
            record = replace(record, ephemeral_lab=str(ephemeral_lab_dir(run_dir)))
            write_record(run_dir, record)
            target = resolve_target(experiment, home, run_dir, variant)
            if not target.ephemeral:
                record = replace(record, ephemeral_lab=None)
                write_record(run_dir, record)
            lock = acquire(target.toxiproxy_url, run_id, str(experiment.path))
            on_event({"event": "target", "phase": "ready", "target": target.describe()})
            measurement = begin_measurement(experiment, target, run_dir, on_event)
            if measurement is not None:
                record = replace(record, load=measurement.load.ref)
                write_record(run_dir, record)
            worker_result = _run_worker(
                experiment, run_dir, target, record, signals, on_event, measurement, abort
            )
        except BaseException:
            update_state(run_dir, record, "finished")
            raise
        finally:
            if target is not None:
                if abort.early is not None:
                    target = abort.early.target
                restoration = restore(
                    run_dir / "undo.log", target, everything=abort.early is not None
                )
                target = restoration.target
                if restoration.outcomes or restoration.fallback:
                    on_event(
                        {"event": "undo", "outcomes": [_outcome(o) for o in restoration.outcomes]}
                    )
            if measurement is not None and target is not None:
                measured = end_measurement(
                    measurement, experiment, target, run_dir, signals.received is None, on_event
                )
            if target is not None:
                release_target(target)
            if lock is not None:
                lock.release()
    events = _read_events(run_dir / EVENTS_FILE)
    journal = compose_journal(
        document=experiment.document,
        worker_journal=_read_json(run_dir / WORKER_JOURNAL_FILE),
        events=events,
        chaosrun={
            "run_id": run_id,
            "run_dir": str(run_dir),
            "experiment_file": str(experiment.path),
            "target": target.describe() if target else None,
            "worker": worker_result,
            "undo": [_outcome(o) for o in (restoration.outcomes if restoration else ())],
            "restore": _restore_summary(restoration, abort),
            "safeguard": abort.firing.to_dict() if abort.firing else None,
            "reconciled_dead_runs": [str(r.run_dir) for r in reconciled],
            "supervisor_duration_s": round(time.time() - started, 3),
            **(measured or {}),
        },
        started_at=started,
        override_status=worker_result.get("status_override"),
    )
    final_path = journal_path or run_dir / "journal.json"
    text = json.dumps(journal, indent=2, default=str)
    write_atomic(run_dir / "journal.json", text)
    if final_path != run_dir / "journal.json":
        write_atomic(final_path, text)
    left = restoration.unreverted if restoration else 0
    update_state(run_dir, record, "needs-revert" if left else "finished")
    return RunOutcome(
        status=str(journal["status"]),
        deviated=bool(journal.get("deviated")),
        reason=worker_result.get("reason"),
        run_dir=run_dir,
        journal_path=final_path,
        journal=journal,
        checks_failed=int((measured or {}).get("checks_failed", 0)),
    )


def _run_worker(
    experiment: Experiment,
    run_dir: Path,
    target: Target,
    record: RunRecord,
    signals: _Signals,
    on_event: EventSink,
    measurement: Measurement | None,
    abort: _Abort,
) -> dict[str, Any]:
    document = dict(experiment.document)
    configuration = dict(document.get("configuration") or {})
    configuration["service_url"] = target.service_url
    configuration["toxiproxy_url"] = target.toxiproxy_url
    document["configuration"] = configuration
    write_atomic(run_dir / EXPERIMENT_FILE, json.dumps(document))  # 0600: it holds secrets
    (run_dir / "undo.log").touch()
    env = {
        **os.environ,
        undo.UNDO_LOG_ENV: str(run_dir / "undo.log"),
        "CHAOSRUN_TOXIPROXY_URL": target.toxiproxy_url,
        "CHAOSRUN_SERVICE_URL": target.service_url,
        "PYTHONUNBUFFERED": "1",
        OWNER_ENV: str(run_dir),
    }
    if measurement is not None:
        env[TIMELINE_ENV] = str(measurement.load.timeline)
        env[LOAD_RATE_ENV] = f"{measurement.rate:g}"
    with open(run_dir / "worker.out", "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "chaosrun.engine.worker", str(run_dir)],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # Ctrl-C reaches the supervisor only; it decides.
        )
    worker = ProcessRef("worker", proc.pid, process_start_time(proc.pid))
    write_record(run_dir, replace(record, worker=worker))
    deadline = time.monotonic() + experiment.chaosrun.deadline_s
    reason: str | None = None
    status_override: str | None = None
    interrupted_at: float | None = None
    offset = 0
    guardian = Guardian(
        experiment,
        target,
        measurement.load.timeline if measurement is not None else None,
        measurement.rate if measurement is not None else 0.0,
        configuration,
        measurement.load.ref if measurement is not None else None,
    )
    guardian.start()
    try:
        while proc.poll() is None:
            offset = _pump_events(run_dir / EVENTS_FILE, offset, on_event)
            now = time.monotonic()
            firing = guardian.poll(time.time()) if interrupted_at is None else None
            if signals.received is not None and interrupted_at is None:
                name = signal.Signals(signals.received).name
                reason = f"{name} received: interrupted by the user"
                status_override = "interrupted"
                interrupted_at = now
                on_event({"event": "interrupt", "signal": name})
                _send(proc, signal.SIGINT)
            elif firing is not None:
                reason = firing.reason
                status_override = "aborted"
                interrupted_at = now
                abort.firing = firing
                on_event({"event": "safeguard", **firing.to_dict()})
                # Revert first (the worker may take a while to notice), then stop the worker;
                # the final restore sweeps whatever it applies in between.
                abort.early = restore(run_dir / "undo.log", target)
                target = abort.early.target
                _send(proc, signal.SIGINT)
            elif interrupted_at is None and now > deadline:
                reason = f"deadline of {experiment.chaosrun.deadline_s:g} s exceeded"
                status_override = "aborted"
                interrupted_at = now
                on_event({"event": "deadline", "deadline_s": experiment.chaosrun.deadline_s})
                _send(proc, signal.SIGINT)
            elif interrupted_at is not None and (
                now - interrupted_at > INTERRUPT_GRACE_S or signals.count > 1
            ):
                _send(proc, signal.SIGKILL)
            time.sleep(POLL_S)
    finally:
        guardian.close()
    _pump_events(run_dir / EVENTS_FILE, offset, on_event)
    code = proc.returncode
    result: dict[str, Any] = {
        "pid": proc.pid,
        "exit_code": code,
        "signal": signal.Signals(-code).name if code < 0 else None,
        "reason": reason,
        "status_override": status_override,
    }
    if code != 0 and reason is None:
        how = f"killed by {result['signal']}" if code < 0 else f"exited with {code}"
        result["reason"] = f"worker {how}; see {run_dir / 'worker.out'}"
        result["status_override"] = "failed"
    return result


@dataclass(slots=True)
class _Abort:
    """Why and how a stop condition ended the run early."""

    firing: Firing | None = None
    early: Restoration | None = None  # the revert done as soon as it fired


def _restore_summary(restoration: Restoration | None, abort: _Abort) -> dict[str, Any] | None:
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


def _send(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signum)


def _pump_events(path: Path, offset: int, on_event: EventSink) -> int:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            chunk = handle.read()
    except FileNotFoundError:
        return offset
    end = chunk.rfind(b"\n")
    if end < 0:
        return offset
    for line in chunk[: end + 1].splitlines():
        with contextlib.suppress(ValueError):
            on_event(json.loads(line))
    return offset + end + 1


def _read_events(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    _pump_events(path, 0, events.append)
    return events


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _outcome(o: undo.ReplayOutcome) -> dict[str, Any]:
    return {
        "op": o.entry.op,
        "proxy": o.entry.proxy,
        "toxic": o.entry.toxic,
        "reverted_by_supervisor": o.reverted,
        "error": o.error,
    }
