"""disk_full and disk_fill on real directories: a tmpfs over a service's data directory gives a
real ENOSPC and is unmounted again (also by replaying the undo log after a killed run); a fill
file takes real blocks and is refused when it would break the margin.

Runs as root (mount); on a host without it the first test fails saying so, rather than skipping.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun import undolog
from chaosrun.engine import undo
from chaosrun.errors import ChaosrunError
from chaosrun.faults import REGISTRY, disk_fill, disk_full
from chaosrun.names import SERVICE_URL_KEY

LISTEN = (
    "import socket, time\n"
    "s = socket.socket()\n"
    "s.bind(('127.0.0.1', 0))\n"
    "s.listen()\n"
    "print(s.getsockname()[1], flush=True)\n"
    "time.sleep(60)\n"
)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[tuple[dict[str, str], Path]]:
    """A process listening on a free port with `--data-dir DIR` on its command line."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "play-history.log").write_text("before\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", LISTEN, "--data-dir", str(data)], stdout=subprocess.PIPE
    )
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        yield {SERVICE_URL_KEY: f"http://127.0.0.1:{port}"}, data
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=5)
        for point, _ in disk_full.mounted():
            if point.startswith(str(tmp_path)):
                disk_full.undo({"directory": point, "source": _}, 1.0)


def _append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def test_this_host_can_mount_a_tmpfs() -> None:
    requires = REGISTRY["disk_full"].requires
    assert requires is not None and requires() is None


def test_the_service_data_dir_fills_up_and_revert_frees_it(
    service: tuple[dict[str, str], Path],
) -> None:
    config, data = service
    result = REGISTRY["disk_full"].inject(configuration=config)
    assert result["path"] == str(data) and result["free_bytes"] == 0
    try:
        assert sorted(os.listdir(data)) == [disk_full.FILLER]  # the old log is hidden, not gone
        with pytest.raises(OSError) as raised:
            _append(data / "play-history.log", "during\n")
        assert raised.value.errno == errno.ENOSPC
        held = open(data / "held", "a", encoding="utf-8")  # noqa: SIM115 - held across revert
    finally:
        reverted = REGISTRY["disk_full"].revert(configuration=config)
    held.close()
    assert reverted == {"path": "", "proxy": "", "reverted": True}
    assert disk_full.mounted() == []
    assert (data / "play-history.log").read_text() == "before\n"
    _append(data / "play-history.log", "after\n")  # writable again


def test_free_kb_leaves_that_much_room(service: tuple[dict[str, str], Path]) -> None:
    config, data = service
    REGISTRY["disk_full"].inject(configuration=config, free_kb=8)
    written = 0
    try:
        with pytest.raises(OSError), open(data / "log", "a", encoding="utf-8") as fh:
            for _ in range(1000):
                fh.write("x" * 100)
                fh.flush()
                written += 100
    finally:
        REGISTRY["disk_full"].revert(configuration=config)
    assert 7 * 1024 <= written <= 8 * 1024


def test_replaying_the_undo_log_unmounts_after_a_killed_run(
    service: tuple[dict[str, str], Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, data = service
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    REGISTRY["disk_full"].inject(configuration=config)
    (entry,) = undolog.pending_entries(log)
    assert (entry.fault, entry.params["directory"]) == ("disk_full", str(data))
    assert disk_full.mounted() == [(str(data), entry.params["source"])]
    (outcome,) = undo.replay(log)  # as the supervisor, `cleanup` or the next run would
    assert (outcome.reverted, outcome.error, outcome.to_dict()["op"]) == (True, None, "unmount")
    assert disk_full.mounted() == []
    assert undo.replay(log) == []


def test_undo_refuses_a_mount_chaosrun_did_not_make() -> None:
    with pytest.raises(ChaosrunError, match="not a mount chaosrun made"):
        disk_full.undo({"directory": "/tmp", "source": "tmpfs"}, 1.0)


def test_a_fill_takes_real_space_and_revert_gives_it_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    before = os.statvfs(tmp_path)
    result = REGISTRY["disk_fill"].inject(path=str(tmp_path), size_mb=32, keep_free_mb=64)
    filled = Path(result["file"])
    during = os.statvfs(tmp_path)
    taken_mb = (before.f_bavail - during.f_bavail) * before.f_frsize / disk_fill.MB
    assert 31 <= taken_mb <= 40, taken_mb  # real blocks, not a sparse file
    assert filled.stat().st_blocks * 512 >= 32 * disk_fill.MB
    (outcome,) = undo.replay(log)
    assert (outcome.reverted, outcome.to_dict()["op"]) == (True, "delete_fill")
    assert not filled.exists()


def test_a_fill_that_would_break_the_margin_writes_nothing(tmp_path: Path) -> None:
    stat = os.statvfs(tmp_path)
    free_mb = stat.f_bavail * stat.f_frsize // disk_fill.MB
    with pytest.raises(ChaosrunError, match=r"below keep_free_mb \d+; nothing written"):
        REGISTRY["disk_fill"].inject(path=str(tmp_path), size_mb=64, keep_free_mb=free_mb)
    assert list(tmp_path.iterdir()) == []


def test_a_directory_holding_the_runs_undo_log_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "run" / "undo.log"
    log.parent.mkdir()
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    with pytest.raises(ChaosrunError, match="holds this run's own undo log"):
        REGISTRY["disk_full"].inject(path=str(tmp_path))
    assert disk_full.mounted() == [] and not log.exists()
