"""memory_pressure on the lab's catalog (its keeper gives it a memory cgroup of its own): the
limit is lowered to what the cgroup holds + the headroom, an allocation beside it gets the
catalog OOM-killed and its keeper restarts it; revert (or replaying the undo log after a killed
run) stops the allocation and puts the limit back. A process that shares chaosrun's cgroup is
refused with nothing changed.

Runs as root with the cgroup v1 memory controller (this project's machines and CI); on a host
without them the first test fails with what is missing, rather than skipping.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun import undolog
from chaosrun.engine import undo
from chaosrun.errors import ChaosrunError
from chaosrun.faults import REGISTRY, memory_pressure
from chaosrun.faults._host import MEMORY_ROOT, cgroup_path, pid_listening_on, processes_tagged
from chaosrun.lab.lab import LabInfo, lab_down, lab_up
from chaosrun.names import SERVICE_URL_KEY, TOXIPROXY_URL_KEY

MIB = 1024 * 1024


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[LabInfo]:
    info = lab_up(tmp_path / "lab")
    try:
        yield info
    finally:
        assert lab_down(info) == []


def _config(info: LabInfo) -> dict[str, str]:
    return {SERVICE_URL_KEY: info.service_url, TOXIPROXY_URL_KEY: info.toxiproxy_url}


def _catalog(info: LabInfo) -> int:
    upstream = next(p.upstream for p in info.proxies if p.name == "catalog")
    pid = pid_listening_on(int(upstream.rsplit(":", 1)[1]))
    assert pid is not None
    return pid


def _group(pid: int) -> Path:
    own = cgroup_path(Path(f"/proc/{pid}/cgroup").read_text(), "memory")
    assert own is not None
    return MEMORY_ROOT / own.lstrip("/")


def _limit(group: Path) -> int:
    return int((group / "memory.limit_in_bytes").read_text())


def test_this_host_can_limit_memory() -> None:
    requires = REGISTRY["memory_pressure"].requires
    assert requires is not None and requires() is None


def test_a_process_sharing_chaosruns_cgroup_is_refused(tmp_path: Path) -> None:
    code = "import socket,time;s=socket.socket();s.bind(('127.0.0.1',0));s.listen();"
    code += "print(s.getsockname()[1],flush=True);time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        ours = _group(proc.pid)
        before = _limit(ours)
        with pytest.raises(ChaosrunError, match="in a memory cgroup of its own, as a systemd"):
            REGISTRY["memory_pressure"].inject(
                configuration={SERVICE_URL_KEY: f"http://127.0.0.1:{port}"}, allocate_mb=8
            )
        assert _limit(ours) == before
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)


def test_the_limit_follows_the_working_set_and_revert_puts_it_back(lab: LabInfo) -> None:
    pid = _catalog(lab)
    group = _group(pid)
    assert group.name.startswith("chaosrun_svc_catalog_")
    before = _limit(group)
    result = REGISTRY["memory_pressure"].inject(
        proxy="catalog", headroom_mb=64, allocate_mb=0, configuration=_config(lab)
    )
    try:
        assert result["cgroup"] == str(group) and result["allocation_pid"] is None
        assert result["limit_mb"] == result["working_set_mb"] + 64
        assert _limit(group) == result["limit_mb"] * MIB
        assert 5 <= result["working_set_mb"] <= 200  # a Python service, really charged here
    finally:
        reverted = REGISTRY["memory_pressure"].revert(proxy="catalog", configuration=_config(lab))
    assert reverted == {"proxy": "catalog", "reverted": True, "oom_kills": 0}
    assert _limit(group) == before
    assert _catalog(lab) == pid  # no pressure: nothing killed


def test_an_allocation_past_the_headroom_gets_the_catalog_oom_killed_and_restarted(
    lab: LabInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    pid = _catalog(lab)
    group = _group(pid)
    result = REGISTRY["memory_pressure"].inject(
        proxy="catalog", headroom_mb=8, allocate_mb=32, ramp_ms=200, configuration=_config(lab)
    )
    deadline = time.monotonic() + 10
    while (now := pid_listening_on(int(lab.proxies[0].upstream.rsplit(":", 1)[1]))) in (pid, None):
        assert time.monotonic() < deadline, "the catalog was not killed and restarted"
        time.sleep(0.02)
    reverted = REGISTRY["memory_pressure"].revert(proxy="catalog", configuration=_config(lab))
    assert reverted["reverted"] is True and reverted["oom_kills"] >= 1
    assert now != pid and _group(now) == group  # restarted, in its own cgroup again
    restarts = Path(lab.directory) / "logs" / "catalog.restarts"
    first = json.loads(restarts.read_text().splitlines()[0])
    assert (first["pid"], first["signal"], first["restarted"]) == (pid, "SIGKILL", True)
    assert result["allocation_pid"] not in processes_tagged(memory_pressure.MODULE, "")
    assert undolog.pending_entries(log) == []


def test_replaying_the_undo_log_stops_the_allocation_after_a_killed_run(
    lab: LabInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    group = _group(_catalog(lab))
    before = _limit(group)
    result = REGISTRY["memory_pressure"].inject(
        proxy="catalog", headroom_mb=64, allocate_mb=4, ramp_ms=0, configuration=_config(lab)
    )
    (entry,) = undolog.pending_entries(log)
    assert processes_tagged(memory_pressure.MODULE, str(entry.params["tag"])) == [
        result["allocation_pid"]
    ]
    (outcome,) = undo.replay(log)  # as the supervisor, `cleanup` or the next run would
    assert (outcome.reverted, outcome.error, outcome.to_dict()["op"]) == (
        True,
        None,
        "restore_memory_limit",
    )
    assert processes_tagged(memory_pressure.MODULE, str(entry.params["tag"])) == []
    assert _limit(group) == before
    assert undo.replay(log) == []


def test_a_lab_stopped_under_pressure_leaves_nothing_to_revert(tmp_path: Path) -> None:
    info = lab_up(tmp_path / "lab")
    try:
        result = REGISTRY["memory_pressure"].inject(
            proxy="catalog", headroom_mb=64, allocate_mb=4, configuration=_config(info)
        )
    finally:
        assert lab_down(info) == []
    group = Path(result["cgroup"])
    assert group.is_dir()  # its keeper could not remove it: the allocation is in it
    params = {"cgroup": str(group), "limit_bytes": -1, "tag": "memory_pressure-catalog-"}
    assert memory_pressure.undo(params, 1.0) is True  # the allocation was still there
    assert not group.exists()  # removed once empty
    assert memory_pressure.undo(params, 1.0) is False
