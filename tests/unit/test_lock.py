"""The run lock: exclusive per Toxiproxy server, names its holder, leaves no file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaosrun.engine.lock import LOCK_DIR_ENV, acquire, holder, sweep_stale
from chaosrun.errors import TargetBusy

URL = "http://127.0.0.1:20001"


def test_a_second_acquire_is_refused_naming_the_holder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path))
    first = acquire(URL, "run-1", "exp.yaml")
    with pytest.raises(TargetBusy) as caught:
        acquire("http://127.0.0.1:20001/", "run-2", "other.yaml")
    assert caught.value.holder.startswith(f"run run-1 (pid {os.getpid()}, exp.yaml, since ")
    assert holder(URL) == caught.value.holder
    assert holder("http://127.0.0.1:20002") is None  # another server is free
    first.release()
    assert holder(URL) is None
    again = acquire(URL, "run-3", "exp.yaml")
    again.release()
    assert list(tmp_path.iterdir()) == []  # released locks leave no file behind


def test_sweep_removes_only_unheld_lock_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOCK_DIR_ENV, str(tmp_path))
    (tmp_path / "127.0.0.1_20009.lock").write_text('{"run_id": "killed"}')  # holder died
    held = acquire(URL, "run-1", "exp.yaml")
    assert sweep_stale() == 1
    assert [p.name for p in tmp_path.iterdir()] == ["127.0.0.1_20001.lock"]
    held.release()
