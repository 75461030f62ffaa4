"""The kill matrix: kill a real run at a random moment, then prove nothing outlived it.

Shared by `tests/e2e/test_kill_matrix.py` (a sample of every kind in `make test`) and
`bench/safety.py` (many trials, printed figures, in `make bench`).

A trial starts `chaosrun run` on experiments/kill-target.yaml (or kill-region.yaml: region
outages in turn on the two-region lab, every proxy of both regions checked after) (faults in
turn under load: toxics,
a proxy down, a CPU quota's cgroup beside a CPU stressor process, a tmpfs over the gateway's data
directory, a fill file, a lowered memory limit with an allocation, a descriptor limit, held
connections; recorded by the relay between Toxiproxy and the dependencies),
waits a random delay, delivers one kind of kill, lets whatever recovers recover (the supervisor
itself, or `chaosrun cleanup`, or the next run), and then checks: no toxic, no disabled proxy and
no proxy whose upstream is not its own on the lab, no cgroup the run made, no mount, fill file,
lowered limit, allocation or connection holder of its resource faults, none of the run's
processes alive (supervisor, worker, load, relay, an ephemeral lab), no process whose command
line names the run's directory or whose environment marks it as the run's (CHAOSRUN_OWNER), no
ephemeral lab port listening, and a journal that is valid JSON with a Chaos Toolkit status.
Time-to-restore runs from the kill to the first moment all of that holds.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from chaosrun import undolog
from chaosrun.engine import undo
from chaosrun.engine.journal import JOURNAL_STATUSES
from chaosrun.engine.lock import lock_dir
from chaosrun.engine.recording import relay_owner
from chaosrun.engine.rundir import RunRecord, list_runs, read_record
from chaosrun.errors import ChaosrunError, ToxiproxyError
from chaosrun.faults import disk_full, hold_connections, memory_pressure
from chaosrun.faults._host import processes_tagged
from chaosrun.lab.lab import LabInfo, listening_ports, load_lab_info
from chaosrun.lab.procs import ProcessRef, owned_processes, process_start_time
from chaosrun.lab.toxiproxy import ToxiproxyClient

__all__ = [
    "EXPERIMENT",
    "K8S_EXPERIMENT",
    "KINDS",
    "REGION_EXPERIMENT",
    "SUITE_KINDS",
    "SuiteTrial",
    "Trial",
    "run_suite_trial",
    "run_trial",
]

REPO = Path(__file__).resolve().parents[2]
EXPERIMENT = REPO / "tests" / "e2e" / "experiments" / "kill-target.yaml"
# The two-region lab's target: region outages in turn (run on a lab up --profile two-region).
REGION_EXPERIMENT = REPO / "tests" / "e2e" / "experiments" / "kill-region.yaml"
# The k8s lab's target: Kubernetes changes in turn (run on a lab up --profile k8s).
K8S_EXPERIMENT = REPO / "tests" / "e2e" / "experiments" / "kill-k8s.yaml"
NEXT_RUN = REPO / "tests" / "e2e" / "experiments" / "probe-only.yaml"

KINDS = (
    "sigint-supervisor",
    "sigterm-supervisor",
    "sigkill-worker",
    "sigkill-load",
    "sigkill-relay",
    "sigkill-supervisor+cleanup",
    "sigkill-supervisor+next-run",
)
_SETTLE_TIMEOUT_S = 60.0


@dataclass
class Trial:
    kind: str
    delay_s: float
    ephemeral: bool
    exit_code: int | None = None
    restore_s: float | None = None
    leftovers: list[str] = field(default_factory=list)
    journal_status: str | None = None
    missed: bool = False  # the run had already ended when the kill was due
    before_run: bool = False  # killed before it created its run directory

    @property
    def clean(self) -> bool:
        if self.before_run:
            return not self.leftovers
        return not self.leftovers and self.journal_status in JOURNAL_STATUSES


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "CHAOSRUN_HOME": str(home)}


def _cli(home: Path, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "chaosrun", *args],
        env=_env(home),
        cwd=REPO,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _the_run(home: Path, before: set[Path]) -> Path | None:
    new = [r for r in list_runs(home) if r not in before]
    return new[0] if new else None


def _wait_for_ref(run_dir: Path | None, home: Path, before: set[Path], which: str) -> ProcessRef:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        run_dir = run_dir or _the_run(home, before)
        record = read_record(run_dir) if run_dir else None
        ref = getattr(record, which, None) if record else None
        if ref is not None:
            return ref  # type: ignore[no-any-return]
        time.sleep(0.01)
    raise AssertionError(f"the run never started its {which}")


def run_trial(
    kind: str, delay_s: float, home: Path, ephemeral: bool, experiment: Path = EXPERIMENT
) -> Trial:
    """One kill; `home` holds a running lab unless `ephemeral` (then each run starts its own)."""
    trial = Trial(kind, delay_s, ephemeral)
    before = set(list_runs(home))
    proc = _cli(home, "run", str(experiment), "--json")
    time.sleep(delay_s)
    run_dir = _the_run(home, before)
    if proc.poll() is not None:
        trial.missed = True
    elif kind == "sigint-supervisor":
        proc.send_signal(signal.SIGINT)
    elif kind == "sigterm-supervisor":
        proc.send_signal(signal.SIGTERM)
    elif kind in ("sigkill-worker", "sigkill-load", "sigkill-relay"):
        ref = _wait_for_ref(run_dir, home, before, kind.split("-")[1])
        if ref.alive():
            os.kill(ref.pid, signal.SIGKILL)
    else:
        proc.kill()
    killed_at = time.monotonic()
    try:
        _, err = proc.communicate(timeout=_SETTLE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        trial.leftovers.append(f"supervisor still running {_SETTLE_TIMEOUT_S:g} s after the kill")
    trial.exit_code = proc.returncode
    if b"Traceback" in err:
        trial.leftovers.append("traceback on stderr: " + err.decode(errors="replace")[-300:])
    run_dir = run_dir or _the_run(home, before)
    if run_dir is None:
        # Killed while still importing, before it created its run: nothing can be left behind.
        trial.before_run = True
        return trial
    if kind.endswith("+cleanup"):
        subprocess.run(
            [sys.executable, "-m", "chaosrun", "cleanup"],
            env=_env(home),
            cwd=REPO,
            capture_output=True,
            timeout=_SETTLE_TIMEOUT_S,
            check=False,
        )
    elif kind.endswith("+next-run"):
        subprocess.run(
            [sys.executable, "-m", "chaosrun", "run", str(NEXT_RUN)],
            env=_env(home),
            cwd=REPO,
            capture_output=True,
            timeout=_SETTLE_TIMEOUT_S,
            check=False,
        )
    deadline = time.monotonic() + 30
    while (problems := _leftovers(home, run_dir)) and time.monotonic() < deadline:
        time.sleep(0.01)
    trial.restore_s = time.monotonic() - killed_at if not problems else None
    trial.leftovers += problems
    trial.journal_status = _journal_status(run_dir, trial)
    return trial


def _leftovers(home: Path, run_dir: Path) -> list[str]:
    problems: list[str] = []
    record = read_record(run_dir)
    if record is None:
        return ["no run record"]
    problems += _proxy_problems(home, record)
    refs = [record.supervisor, record.worker, record.load, record.relay]
    problems += [f"{r.name} (pid {r.pid}) alive" for r in refs if r is not None and r.alive()]
    if record.ephemeral_lab:
        info = load_lab_info(Path(record.ephemeral_lab))
        if info is not None:
            problems.append(f"ephemeral lab {record.ephemeral_lab} still recorded")
            problems += _lab_problems(info)
    problems += [f"process {pid} names the run dir" for pid in _processes_naming(run_dir)]
    problems += [f"lock file {path} left" for path in _locks_of(run_dir.name)]
    problems += [f"cgroup {path} left" for path in _cgroups_of(run_dir)]
    problems += _resource_leftovers(run_dir)
    problems += _cluster_leftovers(run_dir, ephemeral=bool(record.ephemeral_lab))
    owners = [
        str(run_dir),
        relay_owner(run_dir),
        *([record.ephemeral_lab] if record.ephemeral_lab else []),
    ]
    problems += [
        f"process {ref.pid} owned by {owner}" for owner in owners for ref in owned_processes(owner)
    ]
    return problems


def _cgroups_of(run_dir: Path) -> list[Path]:
    """The cgroups the run's faults made (each recorded in its undo log before it was made)."""
    entries = undolog.all_entries(run_dir / "undo.log")
    made = [Path(str(e.params["cgroup"])) for e in entries if e.fault == "cpu_quota"]
    return [path for path in made if path.exists()]


def _resource_leftovers(run_dir: Path) -> list[str]:
    """What of the run's resource faults is still in effect, from its undo log: a mount, a fill
    file, a lowered memory limit or descriptor limit, an allocation, stressor or holder process."""
    problems = []
    mounted = disk_full.mounted()
    for e in undolog.all_entries(run_dir / "undo.log"):
        p = e.params
        if e.fault == "disk_full" and (p["directory"], p["source"]) in mounted:
            problems.append(f"tmpfs {p['source']} over {p['directory']} left")
        elif e.fault == "disk_fill" and Path(str(p["file"])).exists():
            problems.append(f"fill file {p['file']} left")
        elif e.fault == "memory_pressure":
            limit = Path(str(p["cgroup"])) / "memory.limit_in_bytes"
            if limit.exists() and int(limit.read_text()) != int(p["limit_bytes"]):
                problems.append(f"memory limit of {p['cgroup']} left at {limit.read_text()}")
            problems += [
                f"allocation {pid} left"
                for pid in processes_tagged(memory_pressure.MODULE, str(p["tag"]))
            ]
        elif e.fault == "fd_limit":
            pid = int(p["pid"])
            if process_start_time(pid) == p["start_time"]:
                soft = resource.prlimit(pid, resource.RLIMIT_NOFILE)[0]
                if soft != p["soft"]:
                    problems.append(f"descriptor limit of {pid} left at {soft}")
        elif e.fault == "hold_connections":
            holders = processes_tagged(hold_connections.MODULE, str(p["tag"]))
            problems += [f"connection holder {pid} left" for pid in holders]
    return problems


def _cluster_leftovers(run_dir: Path, ephemeral: bool) -> list[str]:
    """What of the run's Kubernetes changes is still in effect, asked of the API server (an
    ephemeral lab's cluster is gone with its lab: `_lab_problems` checks that)."""
    problems = []
    for entry in undolog.all_entries(run_dir / "undo.log"):
        change = undo.k8s_change(entry)
        if change is None or ephemeral:
            continue
        try:
            found = change.remains(entry.params)
        except ChaosrunError as exc:
            found = f"{entry.fault}: not checked ({exc})"
        if found is not None:
            problems.append(found)
    return problems


def _locks_of(run_id: str) -> list[Path]:
    found = []
    for path in lock_dir().glob("*.lock"):
        try:
            if json.loads(path.read_text() or "{}").get("run_id") == run_id:
                found.append(path)
        except (OSError, ValueError):
            continue
    return found


def _proxy_problems(home: Path, record: RunRecord) -> list[str]:
    info = load_lab_info(home / "lab")
    if info is None:
        return []
    proxies = {}
    for url in [r.toxiproxy_url for r in info.regions] or [info.toxiproxy_url]:
        try:
            proxies.update(ToxiproxyClient(url, timeout_s=1.0).proxies())
        except ToxiproxyError as exc:
            return [f"lab toxiproxy {url} unreachable: {exc}"]
    problems = [f"proxy {p.name} disabled" for p in proxies.values() if not p.enabled]
    own = {p.name: p.upstream for p in info.proxies}
    problems += [
        f"proxy {p.name} points at {p.upstream}, not its own {own[p.name]}"
        for p in proxies.values()
        if p.name in own and p.upstream != own[p.name]
    ]
    problems += [f"proxy {p.name} has toxic {t.name}" for p in proxies.values() for t in p.toxics]
    return problems


def _lab_problems(info: LabInfo) -> list[str]:
    alive = [f"lab {p.name} (pid {p.pid}) alive" for p in info.processes if p.alive()]
    listening = [f"lab port {port} listening" for port in listening_ports(info.ports())]
    return alive + listening


def _processes_naming(run_dir: Path) -> list[int]:
    needle = str(run_dir).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[-1].split()[0]
        except OSError:
            continue
        if needle in cmdline and state != "Z":
            found.append(int(entry.name))
    return found


def _journal_status(run_dir: Path, trial: Trial) -> str | None:
    try:
        journal = json.loads((run_dir / "journal.json").read_text())
    except FileNotFoundError:
        trial.leftovers.append("no journal.json")
        return None
    except ValueError as exc:
        trial.leftovers.append(f"journal.json is not valid JSON: {exc}")
        return None
    status = journal.get("status")
    if status not in JOURNAL_STATUSES:
        trial.leftovers.append(f"journal status {status!r}")
    return str(status)


SUITE_KINDS = ("sigint-suite", "sigterm-suite", "sigkill-suite")
_SUITE_SIGNALS = {
    "sigint-suite": signal.SIGINT,
    "sigterm-suite": signal.SIGTERM,
    "sigkill-suite": signal.SIGKILL,
}


@dataclass
class SuiteTrial:
    kind: str
    delay_s: float
    runs: int = 0
    exit_code: int | None = None
    restore_s: float | None = None
    leftovers: list[str] = field(default_factory=list)
    journal_statuses: list[str | None] = field(default_factory=list)


def run_suite_trial(
    kind: str, delay_s: float, home: Path, experiments: list[Path], parallel: int
) -> SuiteTrial:
    """Kill a `chaosrun suite` once every experiment of it has started, `delay_s` later; then
    every run of it must be restored as one killed `chaosrun run` would be -- for SIGKILL,
    by its own supervisor (the kernel's death signal from the suite), with nothing else run."""
    trial = SuiteTrial(kind, delay_s)
    before = set(list_runs(home))
    proc = _cli(home, "suite", *map(str, experiments), "--parallel", str(parallel))
    deadline = time.monotonic() + 60
    while len(set(list_runs(home)) - before) < len(experiments):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise AssertionError(f"the suite never started all its runs: {proc.poll()}")
        time.sleep(0.02)
    time.sleep(delay_s)
    runs = sorted(set(list_runs(home)) - before)
    trial.runs = len(runs)
    proc.send_signal(_SUITE_SIGNALS[kind])
    killed_at = time.monotonic()
    try:
        _, err = proc.communicate(timeout=_SETTLE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        trial.leftovers.append(f"suite still running {_SETTLE_TIMEOUT_S:g} s after the signal")
    trial.exit_code = proc.returncode
    if b"Traceback" in err:
        trial.leftovers.append("traceback on stderr: " + err.decode(errors="replace")[-300:])
    deadline = time.monotonic() + _SETTLE_TIMEOUT_S
    while (problems := [p for r in runs for p in _leftovers(home, r)]) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.02)
    trial.restore_s = time.monotonic() - killed_at if not problems else None
    trial.leftovers += problems
    for run_dir in runs:
        probe = Trial(kind, delay_s, True)
        trial.journal_statuses.append(_journal_status(run_dir, probe))
        trial.leftovers += [f"{run_dir.name}: {p}" for p in probe.leftovers]
    return trial
