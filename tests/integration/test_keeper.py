"""The lab's keeper on real processes: it restarts a service that died of a failure, leaves one
that ended cleanly, stops it on SIGTERM, takes it along when killed, and gives it a memory cgroup
of its own (this host: root, cgroup v1) that it removes again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from chaosrun.lab.keeper import SERVICE_PREFIX, remove_cgroup, restart_wanted
from chaosrun.lab.procs import is_alive

SLEEPER = "import time; time.sleep(60)"


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def _wait(condition: Callable[[], object], timeout_s: float = 5.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


@pytest.fixture
def keeper(tmp_path: Path) -> Iterator[Callable[..., tuple[subprocess.Popen[bytes], Path]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(
        code: str = SLEEPER, restart: str = "on-failure"
    ) -> tuple[subprocess.Popen[bytes], Path]:
        restarts = tmp_path / f"svc{len(started)}.restarts"
        argv = [sys.executable, "-m", "chaosrun.lab.keeper", "--name", f"svc{len(started)}"]
        argv += [
            "--restarts",
            str(restarts),
            "--restart",
            restart,
            "--",
            sys.executable,
            "-c",
            code,
        ]
        proc = subprocess.Popen(argv)
        started.append(proc)
        _wait(lambda: _children(proc.pid))
        return proc, restarts

    yield start
    for proc in started:
        proc.terminate()  # the keeper stops its service and removes its cgroup
        proc.wait(timeout=5)
    for named in tmp_path.glob("*.restarts.cgroup"):  # what a killed keeper left
        group = Path(named.read_text())
        remove_cgroup(group)  # (its last process may take a moment to leave it)
        assert not group.exists()


def _exits(restarts: Path) -> list[dict[str, object]]:
    if not restarts.exists():
        return []
    return [json.loads(line) for line in restarts.read_text().splitlines()]


def test_restart_policy() -> None:
    assert restart_wanted("on-failure", -signal.SIGKILL)  # the OOM killer
    assert restart_wanted("on-failure", 1)
    assert not restart_wanted("on-failure", 0)
    assert not restart_wanted("on-failure", -signal.SIGTERM)
    assert not restart_wanted("on-failure", -signal.SIGINT)
    assert not restart_wanted("never", -signal.SIGKILL)


def test_a_killed_service_is_restarted_and_the_exit_recorded(keeper) -> None:  # type: ignore[no-untyped-def]
    proc, restarts = keeper()
    (first,) = _children(proc.pid)
    os.kill(first, signal.SIGKILL)
    _wait(lambda: _children(proc.pid) not in ([], [first]))
    (second,) = _children(proc.pid)
    assert second != first
    (exit_,) = _exits(restarts)
    assert exit_["pid"] == first and exit_["signal"] == "SIGKILL" and exit_["restarted"] is True
    assert exit_["exit"] is None


def test_a_clean_exit_is_not_restarted(keeper) -> None:  # type: ignore[no-untyped-def]
    proc, restarts = keeper("import time; time.sleep(0.3)")
    _wait(lambda: _exits(restarts))
    time.sleep(0.3)
    assert _children(proc.pid) == [] and proc.poll() is None  # the keeper stays
    assert _exits(restarts) == [{**_exits(restarts)[0], "exit": 0, "restarted": False}]


def test_never_leaves_a_killed_service_down(keeper) -> None:  # type: ignore[no-untyped-def]
    proc, restarts = keeper(restart="never")
    (child,) = _children(proc.pid)
    os.kill(child, signal.SIGKILL)
    _wait(lambda: _exits(restarts))
    time.sleep(0.3)
    assert _children(proc.pid) == []
    assert _exits(restarts)[0]["restarted"] is False


def test_sigterm_stops_the_service_and_removes_its_cgroup(keeper) -> None:  # type: ignore[no-untyped-def]
    proc, restarts = keeper()
    (child,) = _children(proc.pid)
    group = Path(Path(f"{restarts}.cgroup").read_text())
    assert group.name == f"{SERVICE_PREFIX}svc0_{proc.pid}" and group.is_dir()
    _wait(lambda: str(child) in (group / "cgroup.procs").read_text().split())  # its own cgroup
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=5) == 0
    assert not is_alive(child) and not group.exists()
    assert _exits(restarts) == []  # asked to stop: not an exit to record


def test_a_killed_keeper_takes_its_service_along(keeper) -> None:  # type: ignore[no-untyped-def]
    proc, restarts = keeper()
    (child,) = _children(proc.pid)
    group = Path(Path(f"{restarts}.cgroup").read_text())
    # Set up (PR_SET_PDEATHSIG, then its cgroup) before exec: a kill before that is the
    # keeper's own race, closed by the child checking its parent.
    _wait(lambda: str(child) in (group / "cgroup.procs").read_text().split())
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=5)
    _wait(lambda: not is_alive(child))
