"""A lab service's supervisor: runs it, restarts it when it dies of a failure, stops it on signal.

CLI::

    python -m chaosrun.lab.keeper --name NAME --restarts FILE
        [--restart on-failure|never] -- ARGV...

As systemd's ``Restart=on-failure``: a service that exits non-zero or is killed by a signal other
than SIGTERM/SIGINT (the OOM killer's SIGKILL, a crash) is started again after a backoff (0.1 s,
doubling up to 2 s, back to 0.1 s after 10 s up); a clean exit, or one that SIGTERM asked for, is
left as is. ``never`` restarts nothing (the keeper stays, as systemd stays after a unit failed).
Each exit is appended to FILE as one JSON line ``{"at", "name", "pid", "exit", "signal",
"restarted"}``: the service's own account of its restarts. SIGTERM/SIGINT to the keeper is passed
to the service (SIGKILL after 2 s) and the keeper exits 0. The service gets PR_SET_PDEATHSIG, so a
keeper killed outright takes its service along.

As a systemd unit or a container, the service runs in a memory cgroup of its own when this host
allows it (root, a writable cgroup v1 memory controller): ``chaosrun_svc_<name>_<keeper pid>``
under the keeper's own memory cgroup, unlimited, each restart in it again; the keeper removes it
when it exits, and names it in ``<restarts FILE>.cgroup`` (`lab_down` removes the one a killed
keeper left). A memory limit on the service
(`chaosrun.faults.memory_pressure`) is then a limit on what it really holds.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["main", "remove_cgroup", "restart_wanted", "service_cgroup"]

BACKOFF_FIRST_S = 0.1
BACKOFF_MAX_S = 2.0
STABLE_S = 10.0
STOP_GRACE_S = 2.0
_PR_SET_PDEATHSIG = 1
_CLEAN_SIGNALS = (signal.SIGTERM, signal.SIGINT)
MEMORY_ROOT = Path("/sys/fs/cgroup/memory")
SERVICE_PREFIX = "chaosrun_svc_"


def service_cgroup(name: str, keeper_pid: int, keeper_cgroup_text: str) -> Path | None:
    """The memory cgroup of a kept service, from the keeper's /proc/PID/cgroup text (None when
    the keeper is in no v1 memory cgroup)."""
    for line in keeper_cgroup_text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and "memory" in parts[1].split(","):
            return MEMORY_ROOT / parts[2].lstrip("/") / f"{SERVICE_PREFIX}{name}_{keeper_pid}"
    return None


def _own_cgroup(name: str) -> Path | None:
    """Make the service's memory cgroup; None when this host does not allow it."""
    if os.geteuid() != 0 or not os.access(MEMORY_ROOT, os.W_OK):
        return None
    try:
        group = service_cgroup(name, os.getpid(), Path("/proc/self/cgroup").read_text())
        if group is not None:
            group.mkdir(exist_ok=True)
        return group
    except OSError:
        return None


def remove_cgroup(group: Path | None, tries: int = 50) -> None:
    """Remove an empty cgroup, retrying while its last process is leaving it."""
    for _ in range(tries):
        if group is None or not group.is_dir():
            return
        with contextlib.suppress(OSError):
            group.rmdir()
            return
        time.sleep(0.02)


def restart_wanted(policy: str, returncode: int) -> bool:
    """Whether a service that ended with `returncode` (negative: killed by that signal) restarts."""
    if policy == "never" or returncode == 0:
        return False
    return not (returncode < 0 and -returncode in _CLEAN_SIGNALS)


def _child_setup(group: Path | None, keeper: int) -> None:
    """Runs in the forked child before exec: die with the keeper, enter the service's cgroup."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != keeper:  # the keeper died before the line above took effect
        os._exit(1)
    if group is not None:
        with contextlib.suppress(OSError):
            (group / "cgroup.procs").write_text(str(os.getpid()))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaosrun.lab.keeper")
    parser.add_argument("--name", required=True)
    parser.add_argument("--restarts", required=True, help="JSON lines: one per exit")
    parser.add_argument("--restart", choices=("on-failure", "never"), default="on-failure")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command after --")
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    group = _own_cgroup(args.name)
    if group is not None:
        Path(f"{args.restarts}.cgroup").write_text(str(group))
    try:
        return _keep(args.name, args.restarts, args.restart, command, group, lambda: stopping)
    finally:
        remove_cgroup(group)


def _keep(
    name: str,
    restarts: str,
    policy: str,
    command: Sequence[str],
    group: Path | None,
    stopping: Callable[[], bool],
) -> int:
    backoff = BACKOFF_FIRST_S
    keeper = os.getpid()
    child: subprocess.Popen[bytes] | None = None
    while not stopping():
        if child is None:
            started = time.monotonic()
            child = subprocess.Popen(list(command), preexec_fn=lambda: _child_setup(group, keeper))
        code = child.poll()
        if code is None:
            time.sleep(0.02)
            continue
        again = restart_wanted(policy, code)
        _record(restarts, name, child.pid, code, again)
        if not again:
            child = None
            while not stopping():
                time.sleep(0.05)
            return 0
        if time.monotonic() - started >= STABLE_S:
            backoff = BACKOFF_FIRST_S
        deadline = time.monotonic() + backoff
        while not stopping() and time.monotonic() < deadline:
            time.sleep(0.01)
        backoff = min(backoff * 2, BACKOFF_MAX_S)
        child = None
    if child is not None and child.poll() is None:
        child.terminate()
        try:
            child.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
    return 0


def _record(path: str, name: str, pid: int, code: int, restarted: bool) -> None:
    line = {
        "at": time.time(),
        "name": name,
        "pid": pid,
        "exit": code if code >= 0 else None,
        "signal": signal.Signals(-code).name if code < 0 else None,
        "restarted": restarted,
    }
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    print(f"keeper: {name} (pid {pid}) ended: {line}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    sys.exit(main())
