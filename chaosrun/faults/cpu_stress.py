"""cpu_stress: busy `workers` processes on this host, each busy `share_percent` of its time.

The stressor form of CPU starvation, for hosts without cgroups or root: it competes for the
CPUs the services run on instead of limiting one of them. Worker i is pinned to CPU i (modulo
the CPUs this process may use). Inject writes the undo entry (its tag) first, then starts the
workers; each carries the run's CHAOSRUN_OWNER marker (inherited) and the tag on its command
line. Revert stops every live process carrying that tag, whoever started it; after a killed run
the replay of the undo log does the same.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from typing import Any

from chaosrun import undolog
from chaosrun.errors import ChaosrunError
from chaosrun.faults._host import processes_tagged
from chaosrun.faults._toxic import mark_reverted
from chaosrun.faults._workers import stop_tagged

__all__ = ["describe", "inject", "revert", "undo"]

LIMITS = {"workers": (1, 64), "share_percent": (1, 100)}
UNDO_OP = "stop_stressors"  # how the journal names its revert
IN_TOXIPROXY = False
ON_HOST = True  # its processes outlive a stopped lab
MODULE = "chaosrun.faults._burn"
STOP_WAIT_S = 2.0
START_WAIT_S = 5.0


def inject(
    *,
    workers: int = 1,
    share_percent: int = 100,
    proxy: str = "",
    configuration: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`proxy` is not used (the stress is host-wide); it names what the experiment starves."""
    tag = f"{_label(proxy)}{uuid.uuid4().hex[:12]}"
    log = undolog.log_from_env()
    entry = undolog.record(log, "cpu_stress", tag=tag, proxy=proxy) if log else None
    argv = [sys.executable, "-m", MODULE, "--share", str(share_percent), "--tag", tag]
    procs = [
        subprocess.Popen(
            [*argv, "--cpu", str(i)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for i in range(workers)
    ]
    pids = [proc.pid for proc in procs]
    # Applied once every worker is findable by its tag (what revert and the replay look for).
    deadline = time.monotonic() + START_WAIT_S
    while not set(pids) <= set(tagged(tag)):
        exited = [proc for proc in procs if proc.poll() is not None]
        if exited or time.monotonic() > deadline:
            _stop(tag)
            why = f"exited with {exited[0].returncode}" if exited else "not seen running"
            raise ChaosrunError(f"cpu_stress: a worker {why}")
        time.sleep(0.01)
    if log and entry:
        undolog.mark_applied(log, entry.id, time.time())
    return {
        "tag": tag,
        "pids": pids,
        "workers": workers,
        "share_percent": share_percent,
        "undo_id": entry.id if entry else None,
    }


def revert(*, proxy: str = "", configuration: dict[str, Any] | None = None) -> dict[str, Any]:
    log = undolog.log_from_env()
    if log is None:  # outside chaosrun (`chaos run`): every worker started for this proxy
        return {"proxy": proxy, "stopped": len(_stop(_label(proxy)))}
    stopped = 0
    for entry in undolog.pending_entries(log):
        if entry.fault == "cpu_stress" and entry.params.get("proxy") == proxy:
            stopped += len(_stop(str(entry.params["tag"])))
    mark_reverted("cpu_stress", proxy=proxy)
    return {"proxy": proxy, "stopped": stopped}


def undo(params: Mapping[str, Any], timeout_s: float) -> bool:
    """Stop every worker carrying the entry's tag; False when none was left."""
    return bool(_stop(str(params["tag"]), timeout_s))


def remains(params: Mapping[str, Any]) -> str | None:
    pids = tagged(str(params["tag"]))
    return f"CPU stressor(s) {', '.join(map(str, pids))}" if pids else None


def describe(
    func: str, proxy: str, args: Mapping[str, Any], base: str, upstream: str | None
) -> tuple[str, str]:
    if func == "revert":
        return "stop the CPU stressors this fault started", "SIGTERM, then SIGKILL, by their tag"
    workers, share = args.get("workers"), args.get("share_percent")
    effect = f"start {workers} busy worker(s) on this host, each busy {share}% of its time"
    return effect, f"python -m {MODULE} --share {share} (pinned, one per CPU)"


def tagged(tag: str) -> list[int]:
    """Live workers of this kind whose tag is `tag` or starts with it."""
    return processes_tagged(MODULE, tag)


def _label(proxy: str) -> str:
    """The tag prefix of the workers started for `proxy` (its revert finds them by it)."""
    return f"cpu_stress-{proxy or 'host'}-"


def _stop(tag: str, grace_s: float = STOP_WAIT_S) -> list[int]:
    """SIGTERM each worker carrying `tag`, SIGKILL what is left after `grace_s`."""
    return stop_tagged(MODULE, tag, grace_s)
