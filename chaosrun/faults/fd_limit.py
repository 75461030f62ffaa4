"""fd_limit: starve a process of file descriptors: its RLIMIT_NOFILE soft limit set to `max_open`.

The process is the one listening behind `proxy` (its upstream; through the recording relay when
one runs), or without `proxy` the service under test (the listener of the service URL's port).
Inject reads the process's (soft, hard) limit and writes the undo entry (pid, start time, both
limits) first, then lowers the soft limit with prlimit(2), keeping the hard one: once `max_open`
descriptors are open, its accept() and open() fail with EMFILE. Revert sets both limits back if
the process is still the one that was limited (same start time); a process that exited took
its limit with it, so there is nothing to put back. Lowering a soft limit needs no privilege
beyond being the process's user (or root).
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Mapping
from typing import Any

from chaosrun import undolog
from chaosrun.errors import ChaosrunError
from chaosrun.faults._target import target_process
from chaosrun.lab.procs import is_alive, process_start_time

__all__ = ["describe", "inject", "open_fds", "refusal", "revert", "undo"]

LIMITS = {"max_open": (16, 65536)}
UNDO_OP = "restore_rlimit"  # how the journal names its revert
IN_TOXIPROXY = False
ON_HOST = False  # the limit lives in the process and ends with it


def refusal(max_open: int, hard: int) -> str | None:
    """Why `max_open` cannot be the soft limit under hard limit `hard` (None: it can)."""
    if hard != resource.RLIM_INFINITY and max_open > hard:
        return f"fd_limit: max_open {max_open} is above the process's hard limit {hard}"
    return None


def inject(
    *, max_open: int, proxy: str = "", configuration: dict[str, Any] | None = None
) -> dict[str, Any]:
    pid, what = target_process("fd_limit", proxy, configuration)
    soft, hard = _prlimit(pid, what)
    problem = refusal(max_open, hard)
    if problem is not None:
        raise ChaosrunError(problem)
    in_use = open_fds(pid)
    log = undolog.log_from_env()
    entry = (
        undolog.record(
            log,
            "fd_limit",
            pid=pid,
            start_time=process_start_time(pid),
            soft=soft,
            hard=hard,
            proxy=proxy,
        )
        if log
        else None
    )
    try:
        _prlimit(pid, what, (max_open, hard))
    except ChaosrunError:
        if log and entry:
            undolog.mark_done(log, entry.id)  # nothing changed
        raise
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    return {
        "pid": pid,
        "process": what,
        "old_limits": [soft, hard],
        "new_limits": [max_open, hard],
        "open_fds": in_use,
        "undo_id": entry.id if entry else None,
    }


def revert(*, proxy: str = "", configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    log = undolog.log_from_env()
    if log is not None:
        reverted = False
        for entry in undolog.pending_entries(log):
            if entry.fault == "fd_limit" and entry.params.get("proxy") == proxy:
                reverted = undo(entry.params, 2.0) or reverted
                undolog.mark_done(log, entry.id)
        return {"proxy": proxy, "reverted": reverted}
    # Outside chaosrun (`chaos run`): the limit before inject is not known; the most the
    # process may have is its hard limit.
    try:
        pid, what = target_process("fd_limit", proxy, configuration)
    except ChaosrunError as exc:
        return {"proxy": proxy, "reverted": False, "note": f"{exc}: its limit ended with it"}
    _, hard = _prlimit(pid, what)
    _prlimit(pid, what, (hard, hard))
    return {
        "proxy": proxy,
        "reverted": True,
        "limits": [hard, hard],
        "note": "no undo log: the soft limit was raised to the hard limit (the one before "
        "inject is not known)",
    }


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Set the process's limits back; False when it is gone or its pid is another process's
    (its limit ended with it)."""
    pid, start = int(params["pid"]), params.get("start_time")
    if start is None or not is_alive(pid, int(start)):
        return False
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (int(params["soft"]), int(params["hard"])))
    except ProcessLookupError:
        return False
    return True


def remains(params: Mapping[str, Any]) -> str | None:
    pid = int(params["pid"])
    if process_start_time(pid) != params.get("start_time"):
        return None  # gone: its limit went with it
    try:
        soft = resource.prlimit(pid, resource.RLIMIT_NOFILE)[0]
    except OSError:
        return None
    return f"descriptor limit {soft} on pid {pid}" if soft != int(params["soft"]) else None


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    who = f"the process behind proxy {proxy}" if proxy else "the service under test"
    if func == "revert":
        return (
            f"set the RLIMIT_NOFILE limits of {who} back to what they were",
            "prlimit(<pid>, RLIMIT_NOFILE, (<soft>, <hard>)) from the undo entry",
        )
    limit = args.get("max_open")
    effect = f"limit {who} to {limit} open files (RLIMIT_NOFILE soft limit)"
    return effect, f"prlimit(<pid>, RLIMIT_NOFILE, ({limit}, <hard>))"


def open_fds(pid: int) -> int | None:
    """How many descriptors `pid` has open (None: gone or not readable)."""
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return None


def _prlimit(pid: int, what: str, limits: tuple[int, int] | None = None) -> tuple[int, int]:
    """prlimit(2) on RLIMIT_NOFILE: read it, or set it and return the old one."""
    try:
        if limits is None:
            return resource.prlimit(pid, resource.RLIMIT_NOFILE)
        return resource.prlimit(pid, resource.RLIMIT_NOFILE, limits)
    except PermissionError:
        raise ChaosrunError(f"fd_limit needs root or the same user as {what} (pid {pid})") from None
    except ProcessLookupError:
        raise ChaosrunError(f"fd_limit: {what} (pid {pid}) exited") from None
