"""The processes a fault starts on this host (stressors, allocations, connection holders): each
is ``python -m MODULE ... --tag TAG``, found again by its module and tag, and stopped by it."""

from __future__ import annotations

from chaosrun.faults._host import processes_tagged
from chaosrun.lab.procs import ProcessRef, process_start_time, stop

__all__ = ["stop_tagged"]


def stop_tagged(module: str, tag: str, grace_s: float = 2.0) -> list[int]:
    """SIGTERM every live process of `module` whose tag is or starts with `tag`, SIGKILL what is
    left after `grace_s`; the pids found."""
    pids = processes_tagged(module, tag)
    for pid in pids:
        stop(ProcessRef(module, pid, process_start_time(pid)), grace_s=grace_s)
    return pids
