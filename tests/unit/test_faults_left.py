"""The final check of a run: what of its faults remains, asked of this host for the kinds that
live on it (here a fill file and a mount that is not there), with no Toxiproxy involved."""

from __future__ import annotations

from pathlib import Path

from chaosrun import undolog
from chaosrun.engine.restore import faults_left
from chaosrun.faults import REGISTRY, disk_fill


def test_what_remains_on_this_host_is_found_and_named(tmp_path: Path) -> None:
    log = tmp_path / "undo.log"
    fill = tmp_path / f"{disk_fill.PREFIX}abc"
    fill.write_bytes(b"x")
    first = undolog.record(log, "disk_fill", file=str(fill), proxy="")
    undolog.mark_applied(log, first.id, 1.0)
    mount = undolog.record(
        log, "disk_full", directory=str(tmp_path), source="chaosrun-disk-full-none", proxy=""
    )
    undolog.mark_applied(log, mount.id, 2.0)
    gone = undolog.record(log, "fd_limit", pid=999_999_999, start_time=1, soft=8, hard=8, proxy="")
    undolog.mark_applied(log, gone.id, 3.0)
    assert faults_left(log).to_dict() == {
        "injected": 3,
        "left": 1,
        "where": [f"fill file {fill}"],
        "on_host": True,
        "on_cluster": False,
    }
    fill.unlink()
    assert faults_left(log).to_dict() == {
        "injected": 3,
        "left": 0,
        "where": [],
        "on_host": True,
        "on_cluster": False,
    }


def test_every_kind_outside_toxiproxy_can_say_what_remains_of_it() -> None:
    lacking = [
        name
        for name, kind in REGISTRY.items()
        if not kind.in_toxiproxy and kind.remains is None and name != "fail_for"
    ]
    assert lacking == []  # (fail_for lives inside the dependency and ends by itself)
