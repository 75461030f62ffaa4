"""Record what reaches each dependency: a relay between the target's Toxiproxy and its upstreams.

start: one relay process (`chaosrun.record.relay`) with a route per proxy, on free ports of
       127.0.0.1; then each proxy's upstream is moved to its route, after an undo entry
       (`restore_upstream`, holding the old upstream) that says how to move it back.
end:   move every upstream back (replay of those entries only), then stop the relay.

The faults' own restore leaves these entries alone (the recording keeps going through the
cooldown); a supervisor that dies leaves them to `chaosrun cleanup` or the next run, which
replays every pending entry, then stops the relay (`relay_owner`) -- not before: while an
upstream cannot be moved back, the relay still carries its traffic.
Toxiproxy restarts a proxy's listener when its upstream changes: connections the service held
through it are closed, so recording starts before the load and its warm-up.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from chaosrun.engine import undo
from chaosrun.errors import LabError, ToxiproxyError
from chaosrun.lab.ports import free_ports
from chaosrun.lab.procs import OWNER_ENV, ProcessRef, spawn
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.record.relay import Route, relay_argv
from chaosrun.record.upstream import RECORDING

__all__ = [
    "RECORDING_FILE",
    "Recording",
    "end_recording",
    "relay_owner",
    "start_recording",
]

RECORDING_FILE = "recording.jsonl"
_READY_TIMEOUT_S = 10.0
_STOP_TIMEOUT_S = 5.0


def relay_owner(run_dir: Path) -> str:
    """The relay's owner marker: not the run's own, so whoever reverts a dead run stops the
    relay only once every upstream is moved back (until then it still carries the traffic)."""
    return f"{run_dir}#relay"


@dataclass(slots=True)
class Recording:
    ref: ProcessRef
    proc: subprocess.Popen[bytes]
    path: Path
    routes: tuple[Route, ...]
    undo_log: Path
    ended: bool = False


def start_recording(toxiproxy_url: str, run_dir: Path) -> Recording | None:
    """Relay and record every proxy of the target; None when it has none. Raises LabError when
    the relay does not start or a proxy cannot be moved (what was moved is moved back)."""
    client = ToxiproxyClient(toxiproxy_url)
    try:
        proxies = client.proxies()
    except ToxiproxyError as exc:
        raise LabError(f"cannot list the proxies to record them: {exc}") from exc
    if not proxies:
        return None
    names = sorted(proxies)
    ports = free_ports(len(names))
    routes = tuple(
        Route(name, port, proxies[name].upstream) for name, port in zip(names, ports, strict=True)
    )
    path = run_dir / RECORDING_FILE
    log = run_dir / "relay.log"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", OWNER_ENV: relay_owner(run_dir)}
    ref, proc = spawn("relay", relay_argv(list(routes), path), log, env=env)
    recording = Recording(ref, proc, path, routes, run_dir / "undo.log")
    try:
        _wait_ready(proc, log)
        for route in routes:
            undo.record(
                recording.undo_log,
                RECORDING,
                toxiproxy_url=toxiproxy_url,
                proxy=route.name,
                upstream=route.upstream,
            )
            client.set_upstream(route.name, f"127.0.0.1:{route.port}")
    except (LabError, ToxiproxyError) as exc:
        end_recording(recording)
        if isinstance(exc, LabError):
            raise
        raise LabError(f"cannot move a proxy's upstream to the recording relay: {exc}") from exc
    return recording


def _wait_ready(proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise LabError(f"the recording relay exited with {proc.returncode}; see {log}")
        with contextlib.suppress(OSError):
            if b"READY" in log.read_bytes():
                return
        time.sleep(0.02)
    raise LabError(f"the recording relay was not ready within {_READY_TIMEOUT_S:g} s; see {log}")


def end_recording(recording: Recording) -> list[str]:
    """Move the upstreams back, then stop the relay (idempotent). Returns problems, one line
    each: an upstream that could not be moved back stays pending in the undo log."""
    if recording.ended:
        return []
    problems = [
        f"upstream of {o.entry.proxy} not restored: {o.error}"
        for o in undo.replay(recording.undo_log, only=undo.RECORDING_KINDS)
        if o.error
    ]
    if recording.proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            recording.proc.send_signal(signal.SIGTERM)
        try:
            recording.proc.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            recording.proc.kill()
            recording.proc.wait(timeout=_STOP_TIMEOUT_S)
    recording.ended = True
    return problems
