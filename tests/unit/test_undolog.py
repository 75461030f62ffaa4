"""chaosrun.undolog (the undo log's format) and the engine's replay dispatching to fault kinds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from chaosrun import undolog
from chaosrun.engine import undo
from chaosrun.faults import KIND_NAMES, REGISTRY

API = "http://127.0.0.1:1"


def test_an_entry_holds_its_kind_and_what_its_revert_needs(tmp_path: Path) -> None:
    log = tmp_path / "undo.log"
    entry = undolog.record(log, "latency", toxiproxy_url=API, proxy="catalog", toxic="t")
    (line,) = log.read_text().splitlines()
    assert json.loads(line) == {
        "kind": "undo",
        "id": entry.id,
        "fault": "latency",
        "params": {"toxiproxy_url": API, "proxy": "catalog", "toxic": "t"},
        "at": entry.at,
    }
    assert undolog.all_entries(log) == [entry]
    assert entry.proxy == "catalog"


def test_a_log_written_before_kinds_owned_their_revert_reads_as_the_same_entries(
    tmp_path: Path,
) -> None:
    log = tmp_path / "undo.log"
    old = [
        {"op": "remove_toxic", "toxic": "chaosrun_slow_close_downstream", "fault": ""},
        {"op": "remove_toxic", "toxic": "chaosrun_latency_downstream", "fault": "latency"},
        {"op": "enable_proxy", "toxic": None, "fault": "proxy_down"},
        {"op": "end_failure", "toxic": None, "fault": "fail_for"},
        {"op": "restore_upstream", "toxic": None, "fault": "", "upstream": "127.0.0.1:9"},
    ]
    lines = [
        {"kind": "undo", "id": str(i), "toxiproxy_url": API, "proxy": "p", "at": 1.5, **o}
        for i, o in enumerate(old)
    ]
    log.write_text("".join(json.dumps(line) + "\n" for line in lines))
    entries = undolog.all_entries(log)
    assert [(e.fault, undo.journal_op(e)) for e in entries] == [
        ("slow_close", "remove_toxic"),
        ("latency", "remove_toxic"),
        ("proxy_down", "enable_proxy"),
        ("fail_for", "end_failure"),
        ("recording", "restore_upstream"),
    ]
    assert entries[0].params == {
        "toxiproxy_url": API,
        "proxy": "p",
        "toxic": "chaosrun_slow_close_downstream",
    }
    assert entries[4].params["upstream"] == "127.0.0.1:9"
    assert {e.at for e in entries} == {1.5}


def test_every_kind_reverts_from_its_own_entry_and_names_its_revert() -> None:
    assert set(REGISTRY) == set(KIND_NAMES)
    ops = {name: kind.undo_op for name, kind in REGISTRY.items()}
    assert ops == {
        **dict.fromkeys(
            ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data"),
            "remove_toxic",
        ),
        "proxy_down": "enable_proxy",
        "fail_for": "end_failure",
        "cpu_quota": "remove_cgroup",
        "cpu_stress": "stop_stressors",
        "fd_limit": "restore_rlimit",
        "disk_full": "unmount",
        "disk_fill": "delete_fill",
        "memory_pressure": "restore_memory_limit",
        "hold_connections": "stop_holders",
        "region_outage": "restore_region",
    }
    not_in_toxiproxy = [n for n, k in REGISTRY.items() if not k.in_toxiproxy]
    assert not_in_toxiproxy == [
        "fail_for",
        "cpu_quota",
        "cpu_stress",
        "fd_limit",
        "disk_full",
        "disk_fill",
        "memory_pressure",
        "hold_connections",
    ]
    needing = [n for n, k in REGISTRY.items() if k.requires is not None]
    assert needing == ["cpu_quota", "disk_full", "memory_pressure"]
    on_host = [n for n, k in REGISTRY.items() if k.on_host]
    assert on_host == [
        "cpu_quota",
        "cpu_stress",
        "disk_full",
        "disk_fill",
        "memory_pressure",
        "hold_connections",
    ]
    assert all(k.left is not None for k in REGISTRY.values() if k.in_toxiproxy)


def test_replay_dispatches_each_entry_to_its_kind_newest_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, Mapping[str, Any]]] = []

    def reverter(name: str) -> Any:
        def revert(params: Mapping[str, Any], timeout_s: float) -> bool:
            calls.append((name, dict(params)))
            return name != "fail_for"

        return revert

    monkeypatch.setattr(undo, "_REVERTS", {n: reverter(n) for n in ("latency", "fail_for")})
    log = tmp_path / "undo.log"
    first = undolog.record(log, "latency", proxy="a", toxic="t")
    undolog.record(log, "fail_for", proxy="b")
    unknown = undolog.record(log, "cpu_quota", pid=1)
    outcomes = undo.replay(log)
    assert [(o.entry.fault, o.reverted, o.error) for o in outcomes] == [
        ("cpu_quota", False, f"no kind 'cpu_quota' to revert undo entry {unknown.id}"),
        ("fail_for", False, None),
        ("latency", True, None),
    ]
    assert calls == [("fail_for", {"proxy": "b"}), ("latency", {"proxy": "a", "toxic": "t"})]
    assert [e.fault for e in undolog.pending_entries(log)] == ["cpu_quota"]  # stays for cleanup
    assert outcomes[2].to_dict() == {
        "op": "remove_toxic",
        "proxy": "a",
        "toxic": "t",
        "reverted_by_supervisor": True,
        "error": None,
    }
    assert first.id not in {e.id for e in undolog.pending_entries(log)}


def test_faults_do_not_import_the_engine() -> None:
    import ast

    package = Path(__file__).resolve().parents[2] / "chaosrun" / "faults"
    for module in package.glob("*.py"):
        tree = ast.parse(module.read_text())
        imported = [
            node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        ] + [a.name for node in ast.walk(tree) if isinstance(node, ast.Import) for a in node.names]
        assert not [m for m in imported if m.startswith("chaosrun.engine")], module.name
