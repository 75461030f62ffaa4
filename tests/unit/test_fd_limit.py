"""fd_limit on child processes of this test: undo puts the recorded limits back on the same
process only, inject refuses a limit above the hard one, and the dry-run plan names the call."""

from __future__ import annotations

import resource
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun import undolog
from chaosrun.errors import ChaosrunError
from chaosrun.faults import REGISTRY, fd_limit
from chaosrun.lab.procs import process_start_time
from chaosrun.names import SERVICE_URL_KEY

NOFILE = resource.RLIMIT_NOFILE
LISTENER = (
    "import socket, time\n"
    "s = socket.socket()\n"
    "s.bind(('127.0.0.1', 0))\n"
    "s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=5)


@pytest.fixture
def listener() -> Iterator[tuple[int, dict[str, str]]]:
    """(pid, configuration naming it the service under test) of a child listening on 127.0.0.1."""
    proc = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield proc.pid, {SERVICE_URL_KEY: f"http://127.0.0.1:{port}"}
    finally:
        proc.kill()
        proc.wait(timeout=5)


def test_undo_on_a_gone_process_puts_nothing_back() -> None:
    proc = subprocess.Popen(["true"])
    start = process_start_time(proc.pid)
    assert start is not None
    proc.wait(timeout=5)
    params = {"pid": proc.pid, "start_time": start, "soft": 1024, "hard": 4096, "proxy": ""}
    assert fd_limit.undo(params, 1.0) is False


def test_undo_on_a_reused_pid_leaves_that_process_alone(
    sleeper: subprocess.Popen[bytes],
) -> None:
    before = resource.prlimit(sleeper.pid, NOFILE)
    start = process_start_time(sleeper.pid)
    assert start is not None
    params = {"pid": sleeper.pid, "start_time": start - 1, "soft": 20, "hard": before[1]}
    assert fd_limit.undo(params, 1.0) is False
    assert resource.prlimit(sleeper.pid, NOFILE) == before


def test_undo_on_the_same_live_process_restores_the_recorded_limits(
    sleeper: subprocess.Popen[bytes],
) -> None:
    soft, hard = resource.prlimit(sleeper.pid, NOFILE)
    assert soft > 32  # else lowering it below proves nothing
    resource.prlimit(sleeper.pid, NOFILE, (32, hard))
    assert resource.prlimit(sleeper.pid, NOFILE) == (32, hard)
    params = {
        "pid": sleeper.pid,
        "start_time": process_start_time(sleeper.pid),
        "soft": soft,
        "hard": hard,
        "proxy": "",
    }
    assert fd_limit.undo(params, 1.0) is True
    assert resource.prlimit(sleeper.pid, NOFILE) == (soft, hard)


def test_a_limit_above_the_hard_one_is_refused() -> None:
    assert fd_limit.refusal(64, 64) is None
    assert fd_limit.refusal(65, 64) == "fd_limit: max_open 65 is above the process's hard limit 64"
    assert fd_limit.refusal(65536, resource.RLIM_INFINITY) is None


def test_inject_refuses_above_the_hard_limit_before_recording_anything(
    listener: tuple[int, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, config = listener
    resource.prlimit(pid, NOFILE, (48, 64))
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    with pytest.raises(ChaosrunError, match=r"^fd_limit: max_open 100 is above .* limit 64$"):
        fd_limit.inject(max_open=100, configuration=config)
    assert not log.exists()
    assert resource.prlimit(pid, NOFILE) == (48, 64)


def test_inject_records_first_lowers_only_the_soft_limit_and_revert_puts_it_back(
    listener: tuple[int, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, config = listener
    soft, hard = resource.prlimit(pid, NOFILE)
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    result = fd_limit.inject(max_open=20, configuration=config)
    (entry,) = undolog.pending_entries(log)
    assert entry.fault == "fd_limit"
    assert entry.params == {
        "pid": pid,
        "start_time": process_start_time(pid),
        "soft": soft,
        "hard": hard,
        "proxy": "",
    }
    assert entry.id in undolog.applied_times(log)
    assert resource.prlimit(pid, NOFILE) == (20, hard)
    assert result["pid"] == pid
    assert (result["old_limits"], result["new_limits"]) == ([soft, hard], [20, hard])
    assert result["open_fds"] == len(list(Path(f"/proc/{pid}/fd").iterdir()))
    assert result["undo_id"] == entry.id
    assert fd_limit.revert(configuration=config) == {"proxy": "", "reverted": True}
    assert resource.prlimit(pid, NOFILE) == (soft, hard)
    assert undolog.pending_entries(log) == []


def test_without_an_undo_log_revert_raises_the_soft_limit_to_the_hard_one(
    listener: tuple[int, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, config = listener
    monkeypatch.delenv(undolog.UNDO_LOG_ENV, raising=False)
    resource.prlimit(pid, NOFILE, (500, 1000))
    assert fd_limit.inject(max_open=30, configuration=config)["undo_id"] is None
    assert resource.prlimit(pid, NOFILE) == (30, 1000)
    reverted = fd_limit.revert(configuration=config)
    assert reverted["reverted"] is True and reverted["limits"] == [1000, 1000]
    assert "soft limit was raised to the hard limit" in reverted["note"]
    assert resource.prlimit(pid, NOFILE) == (1000, 1000)


def test_a_refused_prlimit_says_who_may_set_it(
    listener: tuple[int, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    pid, config = listener

    def refuse(*_args: object) -> tuple[int, int]:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(fd_limit.resource, "prlimit", refuse)
    with pytest.raises(ChaosrunError) as refused:
        fd_limit.inject(max_open=20, configuration=config)
    port = config[SERVICE_URL_KEY].rsplit(":", 1)[1]
    assert str(refused.value) == (
        f"fd_limit needs root or the same user as the service listening on port {port} (pid {pid})"
    )


def test_the_dry_run_description_of_an_fd_limit() -> None:
    kind = REGISTRY["fd_limit"]
    assert (kind.undo_op, kind.in_toxiproxy, kind.on_host, kind.toxic) == (
        "restore_rlimit",
        False,
        False,
        None,
    )
    assert kind.limits == {"max_open": (16, 65536)}
    assert kind.describe("inject", "", {"max_open": 64}, "", None) == (
        "limit the service under test to 64 open files (RLIMIT_NOFILE soft limit)",
        "prlimit(<pid>, RLIMIT_NOFILE, (64, <hard>))",
    )
    assert kind.describe("revert", "catalog", {}, "", None)[0] == (
        "set the RLIMIT_NOFILE limits of the process behind proxy catalog back to what they were"
    )
