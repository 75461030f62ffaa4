"""Start the worker and follow it until it ends: stream its events, forward Ctrl-C, enforce the
deadline, and abort when a stop condition or the infrastructure watch fires (reverting first).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType
from typing import Any

from chaosrun.atomic import write_atomic
from chaosrun.engine import undo
from chaosrun.engine.guardian import Guardian
from chaosrun.engine.measurement import Measurement
from chaosrun.engine.options import OPTIONS_FILE, RunOptions
from chaosrun.engine.restore import Restoration, restore
from chaosrun.engine.rundir import RunRecord, write_record
from chaosrun.engine.safeguards import Firing
from chaosrun.engine.target import Target
from chaosrun.engine.worker import EVENTS_FILE, EXPERIMENT_FILE
from chaosrun.lab.procs import OWNER_ENV, ProcessRef, process_start_time
from chaosrun.model import Experiment
from chaosrun.names import (
    SERVICE_URL_ENV,
    SERVICE_URL_KEY,
    TOXIPROXY_REGIONS_ENV,
    TOXIPROXY_REGIONS_KEY,
    TOXIPROXY_URL_ENV,
    TOXIPROXY_URL_KEY,
    regions_value,
)
from chaosrun.probes.sli import LOAD_RATE_ENV, TIMELINE_ENV
from chaosrun.schema.shell import runnable_document
from chaosrun.tail import read_appended

__all__ = [
    "INTERRUPT_GRACE_S",
    "Abort",
    "EventSink",
    "Signals",
    "read_events",
    "run_document",
    "run_worker",
    "trap_signals",
]

INTERRUPT_GRACE_S = 15.0
POLL_S = 0.05

EventSink = Callable[[dict[str, Any]], None]


@dataclass(slots=True)
class Signals:
    received: int | None = None
    count: int = 0

    def handler(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        self.count += 1


@contextlib.contextmanager
def trap_signals(state: Signals) -> Iterator[None]:
    previous = {s: signal.signal(s, state.handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@dataclass(slots=True)
class Abort:
    """Why and how a stop condition ended the run early."""

    firing: Firing | None = None
    early: Restoration | None = None  # the revert done as soon as it fired


def run_document(
    experiment: Experiment, target: Target | None, allow_shell: bool = False
) -> dict[str, Any]:
    """The document the worker runs: the experiment's own, plus chaosrun's `chaosrun_` keys,
    with process arguments given as one string split into a list (no shell) unless the user
    allowed a shell for them (`chaosrun.schema.shell`).

    The experiment's configuration and secrets are never changed: chaosrun's values travel
    under their own names (`chaosrun.names`), and only when the run has a target."""
    document = runnable_document(experiment.document, allow_shell)
    if target is not None:
        configuration = dict(document.get("configuration") or {})
        configuration[SERVICE_URL_KEY] = target.service_url
        configuration[TOXIPROXY_URL_KEY] = target.toxiproxy_url
        if regions := target.toxiproxy_regions:
            configuration[TOXIPROXY_REGIONS_KEY] = regions_value(regions)
        document["configuration"] = configuration
    return document


def run_worker(
    experiment: Experiment,
    run_dir: Path,
    target: Target | None,
    record: RunRecord,
    signals: Signals,
    on_event: EventSink,
    measurement: Measurement | None,
    abort: Abort,
    options: RunOptions,
    options_environ: Mapping[str, str],
) -> dict[str, Any]:
    document = run_document(experiment, target, options.allow_shell)
    write_atomic(run_dir / EXPERIMENT_FILE, json.dumps(document))  # 0600: it holds secrets
    write_atomic(run_dir / OPTIONS_FILE, options.to_json())  # 0600: var files hold secrets
    (run_dir / "undo.log").touch()
    env = {
        **os.environ,
        **options_environ,
        undo.UNDO_LOG_ENV: str(run_dir / "undo.log"),
        "PYTHONUNBUFFERED": "1",
        OWNER_ENV: str(run_dir),
    }
    if target is not None:
        env.update({TOXIPROXY_URL_ENV: target.toxiproxy_url, SERVICE_URL_ENV: target.service_url})
        env.update(target.environment())
        if target.toxiproxy_regions:
            env[TOXIPROXY_REGIONS_ENV] = regions_value(target.toxiproxy_regions)
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
            preexec_fn=_yield_to_the_load,
        )
    worker = ProcessRef("worker", proc.pid, process_start_time(proc.pid))
    write_record(run_dir, replace(record, worker=worker))
    deadline = time.monotonic() + experiment.chaosrun.deadline_s
    reason: str | None = None
    status_override: str | None = None
    interrupted_at: float | None = None
    offset = 0
    guardian = (
        Guardian(
            experiment,
            target,
            measurement.load.timeline if measurement is not None else None,
            measurement.rate if measurement is not None else 0.0,
            dict(document.get("configuration") or {}),
            measurement.load.ref if measurement is not None else None,
            measurement.recording.ref
            if measurement is not None and measurement.recording is not None
            else None,
        )
        if target is not None
        else None
    )
    if guardian is not None:
        guardian.start()
    try:
        while proc.poll() is None:
            offset = _pump_events(run_dir / EVENTS_FILE, offset, on_event)
            now = time.monotonic()
            firing = None
            if guardian is not None and interrupted_at is None:
                firing = guardian.poll(time.time())
            while guardian is not None and guardian.readings:
                on_event(guardian.readings.pop(0).to_event())
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
                if target is not None:
                    # A dead relay cut the dependencies off: move their upstreams back now.
                    keep = frozenset() if firing.kind == "relay" else undo.RECORDING_KINDS
                    abort.early = restore(run_dir / "undo.log", target, keep=keep)
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
        if guardian is not None:
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


WORKER_NICENESS = 5


def _yield_to_the_load() -> None:
    """Starting Chaos Toolkit costs ~0.4 s of CPU just as the method begins; on a 2-core host
    it delayed the open-loop load's sends by up to 48 ms (p99 lag over its 25 ms limit). The
    fault times are recorded when they take effect, so a slightly later injection costs nothing
    the measurement relies on."""
    os.nice(WORKER_NICENESS)


def _send(proc: subprocess.Popen[bytes], signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signum)


def _pump_events(path: Path, offset: int, on_event: EventSink) -> int:
    chunk, offset = read_appended(path, offset)
    for line in chunk.splitlines():
        with contextlib.suppress(ValueError):
            on_event(json.loads(line))
    return offset


def read_events(path: Path) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    _pump_events(path, 0, events.append)
    return events
