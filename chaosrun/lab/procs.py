"""Start helper processes detached from the terminal and stop them by PID."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "OWNER_ENV",
    "ProcessRef",
    "is_alive",
    "owned_processes",
    "process_start_time",
    "spawn",
    "stop",
]


@dataclass(frozen=True, slots=True)
class ProcessRef:
    """A process we started: its PID plus its kernel start time, so a reused PID is not ours."""

    name: str
    pid: int
    start_time: int | None

    def alive(self) -> bool:
        return is_alive(self.pid, self.start_time)


def process_start_time(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), or None."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat.rsplit(")", 1)[-1].split()
    try:
        return int(fields[19])
    except (IndexError, ValueError):
        return None


def is_alive(pid: int, start_time: int | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0]
    except OSError:
        return False
    if state == "Z":
        return False
    return start_time is None or process_start_time(pid) == start_time


OWNER_ENV = "CHAOSRUN_OWNER"


def owned_processes(owner: str) -> list[ProcessRef]:
    """Live processes whose environment says `CHAOSRUN_OWNER=owner` (exactly).

    Every process chaosrun starts for a run carries the marker, so whoever cleans up after a
    supervisor that died between starting a process and recording its PID still finds it.
    """
    needle = f"{OWNER_ENV}={owner}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if needle in environ.split(b"\0"):
            pid = int(entry.name)
            ref = ProcessRef("owned", pid, process_start_time(pid))
            if ref.alive():
                found.append(ref)
    return found


def spawn(
    name: str,
    argv: Sequence[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    new_session: bool = True,
) -> tuple[ProcessRef, subprocess.Popen[bytes]]:
    """Start `argv` with stdout+stderr to `log_path`; never through a shell."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=new_session,
            close_fds=True,
        )
    return ProcessRef(name, proc.pid, process_start_time(proc.pid)), proc


def stop(ref: ProcessRef, grace_s: float = 2.0, first: int = signal.SIGTERM) -> None:
    """`first` (SIGTERM), wait up to `grace_s`, then SIGKILL. Only signals the process if it is
    still ours (same PID and start time)."""
    if not ref.alive():
        _reap(ref.pid)
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(ref.pid, first)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        _reap(ref.pid)
        if not ref.alive():
            return
        time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.kill(ref.pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and ref.alive():
        _reap(ref.pid)
        time.sleep(0.01)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)
