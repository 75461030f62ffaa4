"""cpu_quota: starve a process of CPU: a cgroup v1 CPU quota of `quota_percent` of one core.

The process is the one listening behind `proxy` (its upstream; through the recording relay when
one runs), or without `proxy` the service under test (the listener of the service URL's port).
Inject writes the undo entry (the cgroup and each process's own cgroup) first, then makes
`/sys/fs/cgroup/cpu/chaosrun_cpu_quota_<pid>` with the quota and moves the whole process (every
thread: `cgroup.procs`) into it. Revert moves what is still in it back where it was and removes
it. Needs root and a writable cgroup v1 `cpu` controller: checked before the run starts.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaosrun import undolog
from chaosrun.errors import ChaosrunError
from chaosrun.faults._host import CPU_ROOT, cgroup_path, cgroup_procs, cpu_cgroup_problem
from chaosrun.faults._target import target_process

__all__ = ["describe", "inject", "requires", "revert", "undo"]

LIMITS = {"quota_percent": (1, 400), "period_ms": (1, 1000)}
UNDO_OP = "remove_cgroup"  # how the journal names its revert
IN_TOXIPROXY = False
ON_HOST = True  # a cgroup outlives the lab whose process was in it
PREFIX = "chaosrun_cpu_quota_"
RMDIR_TRIES = 20  # a thread leaving a cgroup is not always gone from it at once


def requires() -> str | None:
    """What the host lacks for this kind, None when nothing."""
    return cpu_cgroup_problem()


def inject(
    *,
    quota_percent: int,
    proxy: str = "",
    period_ms: int = 100,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    lacking = requires()
    if lacking is not None:
        raise ChaosrunError(f"cpu_quota needs {lacking}")
    pid, what = target_process("cpu_quota", proxy, configuration)
    group = CPU_ROOT / f"{PREFIX}{pid}"
    own = _cgroup_of(pid)
    log = undolog.log_from_env()
    entry = (
        undolog.record(log, "cpu_quota", cgroup=str(group), pids={str(pid): own}, proxy=proxy)
        if log
        else None
    )
    group.mkdir(exist_ok=True)
    period_us = period_ms * 1000
    (group / "cpu.cfs_period_us").write_text(str(period_us))
    (group / "cpu.cfs_quota_us").write_text(str(period_us * quota_percent // 100))
    (group / "cgroup.procs").write_text(str(pid))
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    return {
        "pid": pid,
        "process": what,
        "cgroup": str(group),
        "quota_percent": quota_percent,
        "period_ms": period_ms,
        "undo_id": entry.id if entry else None,
    }


def revert(*, proxy: str = "", configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    log = undolog.log_from_env()
    reverted = False
    if log is not None:
        for entry in undolog.pending_entries(log):
            if entry.fault == "cpu_quota" and entry.params.get("proxy") == proxy:
                reverted = undo(entry.params, 2.0) or reverted
                undolog.mark_done(log, entry.id)
    else:  # outside chaosrun (`chaos run`): the cgroup is named after the process
        pid, _ = target_process("cpu_quota", proxy, configuration)
        group = CPU_ROOT / f"{PREFIX}{pid}"
        reverted = undo({"cgroup": str(group)}, 2.0)  # each process back to the root cgroup
    return {"proxy": proxy, "reverted": reverted}


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Move every process still in the cgroup back to its own, and remove the cgroup; False
    when the cgroup was gone already."""
    group = Path(str(params["cgroup"]))
    if not group.name.startswith(PREFIX) or group.parent != CPU_ROOT:
        raise ChaosrunError(f"cpu_quota: {group} is not a cgroup chaosrun made")
    if not group.is_dir():
        return False
    own = params.get("pids") or {}
    for _ in range(RMDIR_TRIES):
        for pid in cgroup_procs(group):
            back = CPU_ROOT / str(own.get(str(pid), "/")).lstrip("/")
            with contextlib.suppress(ProcessLookupError, OSError):
                (back / "cgroup.procs").write_text(str(pid))
        try:
            group.rmdir()
            return True
        except OSError:
            time.sleep(min(0.05, timeout_s / RMDIR_TRIES))
    raise ChaosrunError(f"cpu_quota: cannot remove {group}: processes still in it")


def remains(params: Mapping[str, Any]) -> str | None:
    group = Path(str(params["cgroup"]))
    return f"cgroup {group}" if group.is_dir() else None


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    who = f"the process behind proxy {proxy}" if proxy else "the service under test"
    if func == "revert":
        return (
            f"move {who} back to its own cgroup and remove {PREFIX}<pid>",
            f"write {CPU_ROOT}/<its cgroup>/cgroup.procs, rmdir",
        )
    quota = args.get("quota_percent")
    effect = f"limit {who} to {quota}% of one core (cgroup v1 cpu quota)"
    return effect, f"mkdir {CPU_ROOT}/{PREFIX}<pid>, write cpu.cfs_quota_us and cgroup.procs"


def _cgroup_of(pid: int) -> str:
    text = Path(f"/proc/{pid}/cgroup").read_text()
    return cgroup_path(text, "cpu") or "/"
