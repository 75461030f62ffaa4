"""cpu_quota on a real process: a busy loop listening on a free port of 127.0.0.1 is starved by
a cgroup v1 CPU quota, then put back; replaying the undo log (a killed run) does the same.

Runs as root with the cgroup v1 cpu controller mounted (this project's machines and CI); on a
host without them the first test fails with what is missing, rather than skipping.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun import undolog
from chaosrun.engine import undo
from chaosrun.faults import REGISTRY
from chaosrun.faults._host import CPU_ROOT
from chaosrun.faults.cpu_quota import PREFIX
from chaosrun.names import SERVICE_URL_KEY

BUSY = (
    "import socket\n"
    "s = socket.socket()\n"
    "s.bind(('127.0.0.1', 0))\n"
    "s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "while True:\n"
    "    pass\n"
)
TICKS = os.sysconf("SC_CLK_TCK")


@pytest.fixture
def busy() -> Iterator[tuple[int, int]]:
    """(pid, port) of a busy loop that listens on a free port; stopped by PID."""
    proc = subprocess.Popen([sys.executable, "-c", BUSY], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield proc.pid, port
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _cpu_over(pid: int, seconds: float) -> float:
    before = _cpu_s(pid)
    time.sleep(seconds)
    return _cpu_s(pid) - before


def _cgroup(pid: int) -> str:
    for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        if "cpu" in controllers.split(","):
            return path
    raise AssertionError("no cpu cgroup")


def test_this_host_can_make_a_cpu_quota() -> None:
    assert REGISTRY["cpu_quota"].requires is not None
    assert REGISTRY["cpu_quota"].requires() is None


def test_a_quota_starves_the_process_and_revert_puts_it_back(busy: tuple[int, int]) -> None:
    pid, port = busy
    config = {SERVICE_URL_KEY: f"http://127.0.0.1:{port}"}
    own = _cgroup(pid)
    result = REGISTRY["cpu_quota"].inject(quota_percent=20, configuration=config)
    group = CPU_ROOT / f"{PREFIX}{pid}"
    try:
        assert (result["pid"], result["cgroup"]) == (pid, str(group))
        assert _cgroup(pid) == f"/{PREFIX}{pid}"
        assert (group / "cpu.cfs_quota_us").read_text().strip() == "20000"
        used = _cpu_over(pid, 1.0)
        throttled = int((group / "cpu.stat").read_text().split("nr_throttled")[1].split()[0])
        assert used <= 0.3, f"{used:.2f} CPU-s in 1 s under a 20% quota"
        assert throttled > 0  # the quota, not a busy host, held it back
    finally:
        reverted = REGISTRY["cpu_quota"].revert(configuration=config)
    assert reverted == {"proxy": "", "reverted": True}
    assert not group.exists()
    assert _cgroup(pid) == own


def test_replaying_the_undo_log_reverts_it_after_a_killed_run(
    busy: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, port = busy
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    config = {SERVICE_URL_KEY: f"http://127.0.0.1:{port}"}
    REGISTRY["cpu_quota"].inject(quota_percent=10, configuration=config)
    (entry,) = undolog.pending_entries(log)
    assert entry.fault == "cpu_quota"
    assert entry.params == {
        "cgroup": str(CPU_ROOT / f"{PREFIX}{pid}"),
        "pids": {str(pid): "/"},
        "proxy": "",
    }
    (window,) = undo.fault_windows(log)
    assert window.kind == "cpu_quota"
    (outcome,) = undo.replay(log)  # as the supervisor, `cleanup` or the next run would
    assert (outcome.reverted, outcome.error, outcome.to_dict()["op"]) == (
        True,
        None,
        "remove_cgroup",
    )
    assert not (CPU_ROOT / f"{PREFIX}{pid}").exists()
    assert _cgroup(pid) == "/"
    assert undo.replay(log) == []


def test_a_process_that_died_in_its_quota_leaves_nothing(
    busy: tuple[int, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, port = busy
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    REGISTRY["cpu_quota"].inject(
        quota_percent=50, configuration={SERVICE_URL_KEY: f"http://127.0.0.1:{port}"}
    )
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.2)
    (outcome,) = undo.replay(log)
    assert (outcome.reverted, outcome.error) == (True, None)
    assert not (CPU_ROOT / f"{PREFIX}{pid}").exists()
