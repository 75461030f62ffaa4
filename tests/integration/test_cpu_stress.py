"""cpu_stress on this host: busy workers at a declared share, marked as the run's, stopped by
revert and by replaying the undo log after a killed run."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from chaosrun import undolog
from chaosrun.engine import undo
from chaosrun.faults import REGISTRY
from chaosrun.faults.cpu_stress import tagged
from chaosrun.lab.procs import OWNER_ENV

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def _gone(tag: str, within_s: float = 3.0) -> bool:
    deadline = time.monotonic() + within_s
    while tagged(tag) and time.monotonic() < deadline:
        time.sleep(0.02)
    return not tagged(tag)


def test_workers_burn_their_share_carry_the_runs_marker_and_stop_on_revert(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(OWNER_ENV, str(tmp_path))  # as the run's worker process has it
    result = REGISTRY["cpu_stress"].inject(workers=2, share_percent=30)
    tag = result["tag"]
    try:
        assert sorted(tagged(tag)) == sorted(result["pids"])
        first = result["pids"][0]
        environ = Path(f"/proc/{first}/environ").read_bytes().split(b"\0")
        assert f"{OWNER_ENV}={tmp_path}".encode() in environ
        before = _cpu_s(first)
        time.sleep(1.0)
        used = _cpu_s(first) - before
        assert 0.05 < used <= 0.55, f"{used:.2f} CPU-s in 1 s at a 30% share"
    finally:
        stopped = REGISTRY["cpu_stress"].revert()  # no undo log: as under plain `chaos run`
    assert stopped == {"proxy": "", "stopped": 2}
    assert _gone(tag)
    assert REGISTRY["cpu_stress"].undo({"tag": tag}, 2.0) is False  # nothing left


def test_replaying_the_undo_log_stops_the_workers_after_a_killed_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    result = REGISTRY["cpu_stress"].inject(workers=1, share_percent=10, proxy="catalog")
    (entry,) = undolog.pending_entries(log)
    assert entry.params == {"tag": result["tag"], "proxy": "catalog"}
    (outcome,) = undo.replay(log)
    assert (outcome.reverted, outcome.error, outcome.to_dict()["op"]) == (
        True,
        None,
        "stop_stressors",
    )
    assert _gone(result["tag"])
    assert undo.replay(log) == []


def test_revert_in_the_run_stops_its_workers_and_marks_the_entry_done(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = tmp_path / "undo.log"
    monkeypatch.setenv(undolog.UNDO_LOG_ENV, str(log))
    result = REGISTRY["cpu_stress"].inject(workers=3, share_percent=5, proxy="auth")
    assert REGISTRY["cpu_stress"].revert(proxy="auth") == {"proxy": "auth", "stopped": 3}
    assert _gone(result["tag"])
    assert undolog.pending_entries(log) == []
