"""memory_pressure: squeeze a service's memory: its cgroup's limit lowered near its working set,
and an allocation beside it.

The service is the process listening behind `proxy`, or the service under test; it must run in
a memory cgroup of its own, as a systemd unit or a container does (the lab's keeper gives each
service one). Inject writes the undo entry (the cgroup, its limit, the allocation's tag) first,
then lowers the cgroup v1 limit to what the cgroup holds + `headroom_mb`, and starts a bounded
allocation of `allocate_mb` in the same cgroup, over `ramp_ms`. An allocation larger than the
headroom makes the kernel choose: the OOM killer kills the service (the allocation's OOM score
is the lowest a killable process can have: it stands for the service's own growth), and its
supervisor may restart it -- in the same squeezed cgroup, as a kubelet would, until the fault is
reverted. A smaller one is pressure only (reclaim). Revert stops the allocation, puts the limit
back and reports the OOM kills the cgroup saw meanwhile. Refused, nothing changed, when the
service shares its cgroup with chaosrun, and when the allocation would leave this host less than
`HOST_RESERVE_MB` (or a tenth of its memory) available. Needs root and a writable cgroup v1
memory controller: checked before the run starts.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chaosrun import undolog
from chaosrun.errors import ChaosrunError
from chaosrun.faults._host import (
    MEMORY_ROOT,
    cgroup_path,
    cgroup_procs,
    memory_cgroup_problem,
    processes_tagged,
)
from chaosrun.faults._target import target_process
from chaosrun.faults._workers import stop_tagged
from chaosrun.lab.keeper import SERVICE_PREFIX, remove_cgroup
from chaosrun.lab.procs import is_alive

__all__ = ["describe", "host_refusal", "inject", "oom_kills", "requires", "revert", "undo"]

LIMITS = {"headroom_mb": (1, 65536), "allocate_mb": (0, 65536), "ramp_ms": (0, 60000)}
UNDO_OP = "restore_memory_limit"  # how the journal names its revert
IN_TOXIPROXY = False
ON_HOST = True  # the allocation outlives the lab
MODULE = "chaosrun.faults._hog"
HOST_RESERVE_MB = 512
START_WAIT_S = 5.0
MIB = 1024 * 1024


def requires() -> str | None:
    """What the host lacks for this kind, None when nothing."""
    return memory_cgroup_problem()


def host_refusal(meminfo: str, allocate_mb: int) -> str | None:
    """Why allocating `allocate_mb` would push this host toward OOM (None: it would not), from
    the text of /proc/meminfo."""
    values = {}
    for line in meminfo.splitlines():
        key, _, rest = line.partition(":")
        fields = rest.split()
        if fields and fields[0].isdigit():
            values[key] = int(fields[0]) // 1024  # kB -> MiB
    available, total = values.get("MemAvailable"), values.get("MemTotal")
    if available is None or total is None:
        return "this host's available memory is unknown (/proc/meminfo without MemAvailable)"
    reserve = max(HOST_RESERVE_MB, total // 10)
    if allocate_mb > available - reserve:
        return (
            f"allocate_mb {allocate_mb} would leave less than {reserve} MiB of this host's "
            f"{available} MiB available"
        )
    return None


def inject(
    *,
    proxy: str = "",
    headroom_mb: int = 16,
    allocate_mb: int = 0,
    ramp_ms: int = 500,
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    lacking = requires()
    if lacking is not None:
        raise ChaosrunError(f"memory_pressure needs {lacking}")
    refusal = host_refusal(Path("/proc/meminfo").read_text(), allocate_mb)
    if refusal is not None:
        raise ChaosrunError(f"memory_pressure: {refusal}; nothing changed")
    pid, what = target_process("memory_pressure", proxy, configuration)
    group = _own_cgroup(pid, what)
    old_limit = int((group / "memory.limit_in_bytes").read_text())
    working_set_mb = int((group / "memory.usage_in_bytes").read_text()) // MIB
    limit_mb = working_set_mb + headroom_mb
    tag = f"memory_pressure-{proxy or 'service'}-{uuid.uuid4().hex[:12]}"
    log = undolog.log_from_env()
    entry = (
        undolog.record(
            log,
            "memory_pressure",
            cgroup=str(group),
            limit_bytes=old_limit,
            oom_kills=oom_kills(group),
            tag=tag,
            proxy=proxy,
        )
        if log
        else None
    )
    try:
        (group / "memory.limit_in_bytes").write_text(str(limit_mb * MIB))
    except OSError as exc:  # it grew past the new limit meanwhile and could not be reclaimed
        if log and entry:
            undolog.mark_done(log, entry.id)
        raise ChaosrunError(f"memory_pressure: cannot limit {group}: {exc}") from None
    hog = _start_allocation(group, allocate_mb, ramp_ms, tag) if allocate_mb else None
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    return {
        "pid": pid,
        "process": what,
        "cgroup": str(group),
        "working_set_mb": working_set_mb,
        "limit_mb": limit_mb,
        "allocate_mb": allocate_mb,
        "allocation_pid": hog,
        "undo_id": entry.id if entry else None,
    }


def revert(*, proxy: str = "", configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    log = undolog.log_from_env()
    reverted = False
    killed = 0
    if log is not None:
        for entry in undolog.pending_entries(log):
            if entry.fault == "memory_pressure" and entry.params.get("proxy") == proxy:
                group = Path(str(entry.params["cgroup"]))
                killed += max(0, oom_kills(group) - int(entry.params.get("oom_kills", 0)))
                reverted = undo(entry.params, 2.0) or reverted
                undolog.mark_done(log, entry.id)
    else:  # outside chaosrun (`chaos run`): the old limit is unknown: no limit
        pid, what = target_process("memory_pressure", proxy, configuration)
        tag = f"memory_pressure-{proxy or 'service'}-"
        params = {"cgroup": str(_own_cgroup(pid, what)), "limit_bytes": -1, "tag": tag}
        reverted = undo(params, 2.0)
    return {"proxy": proxy, "reverted": reverted, "oom_kills": killed}


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Stop the allocation and put the cgroup's limit back; False when there was nothing left
    to undo (the allocation gone, the cgroup gone with its service)."""
    group = Path(str(params["cgroup"]))
    if MEMORY_ROOT not in group.parents:
        raise ChaosrunError(f"memory_pressure: {group} is not a memory cgroup")
    done = bool(stop_tagged(MODULE, str(params["tag"]), timeout_s))
    with contextlib.suppress(FileNotFoundError):
        (group / "memory.limit_in_bytes").write_text(str(params["limit_bytes"]))
        done = True
    _remove_orphan(group)
    return done


def _remove_orphan(group: Path) -> None:
    """A lab service's cgroup whose keeper is gone could not be removed while the allocation was
    in it: remove it now that it is empty."""
    prefix, _, keeper = group.name.rpartition("_")
    if prefix.startswith(SERVICE_PREFIX) and keeper.isdigit() and not is_alive(int(keeper)):
        remove_cgroup(group)


def remains(params: Mapping[str, Any]) -> str | None:
    found = []
    hogs = processes_tagged(MODULE, str(params["tag"]))
    if hogs:
        found.append(f"allocation process(es) {', '.join(map(str, hogs))}")
    limit = Path(str(params["cgroup"])) / "memory.limit_in_bytes"
    with contextlib.suppress(OSError, ValueError):
        if int(limit.read_text()) != int(params["limit_bytes"]):
            found.append(f"memory limit of {limit.parent} at {limit.read_text().strip()}")
    return "; ".join(found) or None


def oom_kills(group: Path) -> int:
    """How many processes the OOM killer has killed in `group` (0 when unknown)."""
    try:
        text = (group / "memory.oom_control").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        if key == "oom_kill" and value.strip().isdigit():
            return int(value)
    return 0


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    who = f"the process behind proxy {proxy}" if proxy else "the service under test"
    if func == "revert":
        return (
            f"stop the allocation and put back the memory limit of {who}'s cgroup",
            "SIGTERM the allocation by its tag, write memory.limit_in_bytes",
        )
    headroom, allocate = args.get("headroom_mb"), args.get("allocate_mb")
    effect = (
        f"limit {who}'s memory cgroup to what it holds + {headroom} MiB and allocate "
        f"{allocate} MiB beside it in that cgroup"
    )
    return effect, (
        f"write <its memory cgroup>/memory.limit_in_bytes; python -m {MODULE} --mb {allocate}"
    )


def _own_cgroup(pid: int, what: str) -> Path:
    """The memory cgroup `pid` runs in, refused when chaosrun shares it (or it is the root)."""
    own = cgroup_path(Path(f"/proc/{pid}/cgroup").read_text(), "memory") or "/"
    ours = cgroup_path(Path("/proc/self/cgroup").read_text(), "memory") or "/"
    if own == ours or own == "/":
        raise ChaosrunError(
            f"memory_pressure needs {what} (pid {pid}) in a memory cgroup of its own, as a "
            f"systemd unit or a container is: it shares {own} with chaosrun"
        )
    return MEMORY_ROOT / own.lstrip("/")


def _start_allocation(group: Path, allocate_mb: int, ramp_ms: int, tag: str) -> int:
    argv = [sys.executable, "-m", MODULE, "--mb", str(allocate_mb), "--cgroup", str(group)]
    proc = subprocess.Popen(
        [*argv, "--ramp-ms", str(ramp_ms), "--tag", tag],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + START_WAIT_S
    while proc.pid not in cgroup_procs(group):  # applied once it is in the cgroup
        if proc.poll() is not None or time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise ChaosrunError(
                f"memory_pressure: the allocation process did not enter {group} "
                f"(exit {proc.poll()})"
            )
        time.sleep(0.01)
    return proc.pid
