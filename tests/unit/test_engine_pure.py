"""Pure parts of the engine and reports: journal composition, undo log parsing, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chaosrun.engine import undo
from chaosrun.engine.journal import compose_journal
from chaosrun.errors import LabError
from chaosrun.lab import server
from chaosrun.report.summary import summarise_run

DOC = {"title": "t", "description": "d", "method": []}


def _run(name: str, status: str = "succeeded") -> dict[str, object]:
    return {"activity": {"name": name, "type": "action"}, "status": status, "duration": 0.1}


def test_journal_is_rebuilt_from_events_when_the_worker_died() -> None:
    events = [
        {
            "event": "hypothesis-before-completed",
            "at": 11.0,
            "state": {"steady_state_met": True, "probes": []},
        },
        {"event": "method", "at": 11.5},
        {"event": "activity", "at": 12.0, "run": _run("inject")},
        {"event": "rollbacks", "at": 13.0},
        {"event": "activity", "at": 14.0, "run": _run("revert")},
    ]
    journal = compose_journal(DOC, None, events, {"run_id": "r"}, 10.0, "failed")
    assert journal["status"] == "failed" and journal["deviated"] is False
    assert [r["activity"]["name"] for r in journal["run"]] == ["inject"]
    assert [r["activity"]["name"] for r in journal["rollbacks"]] == ["revert"]
    assert journal["duration"] == 4.0
    assert journal["chaosrun"] == {"run_id": "r", "journal_rebuilt_from_events": True}
    for key in (
        "chaoslib-version",
        "platform",
        "node",
        "experiment",
        "start",
        "end",
        "steady_states",
    ):
        assert key in journal
    json.dumps(journal)


def test_worker_journal_wins_and_status_is_overridden_for_interrupts() -> None:
    worker = {"status": "completed", "deviated": False, "run": []}
    journal = compose_journal(DOC, worker, [], {}, 0.0, "interrupted")
    assert journal["status"] == "interrupted"
    assert journal["chaosrun"]["journal_rebuilt_from_events"] is False
    assert compose_journal(DOC, {"status": "weird"}, [], {}, 0.0, None)["status"] == "failed"


def test_summary_lists_probes_with_their_tolerance() -> None:
    probe = {
        "activity": {
            "name": "p99",
            "tolerance": {"type": "range", "range": [0, 500], "target": "p99_ms"},
        },
        "status": "succeeded",
        "tolerance_met": False,
        "output": {"p99_ms": 812.0, "availability": 1.0, "path": "/api/play"},
    }
    journal = {
        "status": "completed",
        "deviated": True,
        "experiment": {"title": "T"},
        "steady_states": {
            "before": {"steady_state_met": True, "probes": []},
            "after": {"steady_state_met": False, "probes": [probe]},
        },
        "run": [_run("inject", "failed") | {"exception": ["Trace", "ValueError: boom\n"]}],
        "chaosrun": {"undo": [{"reverted_by_supervisor": True, "error": None}]},
    }
    summary = summarise_run(journal, 1, "/j.json")
    # the method failed first: that is the cause, not the deviation it led to
    assert summary["verdict"] == "failed"
    assert summary["reason"] == "the method failed: action 'inject' failed: ValueError: boom"
    assert summary["steady_state"] == {"before": True, "after": False}
    assert summary["probes"] == [
        {
            "phase": "after",
            "name": "p99",
            "status": "succeeded",
            "tolerance_met": False,
            "tolerance": "between 0 and 500 (on p99_ms)",
            "error": None,
            "output": {"availability": 1.0, "p99_ms": 812.0},
            "miss": "probe 'p99' gave 812 for p99_ms, tolerance: between 0 and 500 (on p99_ms)",
        }
    ]
    assert summary["activities"][0]["error"] == "ValueError: boom"
    assert summary["leftovers_reverted"] == 1


def test_undo_log_ignores_a_torn_last_line(tmp_path: Path) -> None:
    log = tmp_path / "undo.log"
    api = "http://127.0.0.1:1"
    first = undo.record(log, "latency", toxiproxy_url=api, proxy="catalog", toxic="t")
    second = undo.record(log, "proxy_down", toxiproxy_url=api, proxy="auth")
    undo.mark_done(log, first.id)
    with open(log, "a") as handle:
        handle.write('{"kind": "undo", "id": "torn", "op": "remo')
    assert undo.pending_entries(log) == [second]
    assert undo.pending_entries(tmp_path / "missing.log") == []


def test_missing_toxiproxy_server_says_how_to_get_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TOXIPROXY_SERVER", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(server, "TOOLS_DIR", tmp_path)
    with pytest.raises(LabError, match=r"^toxiproxy-server not found: run 'make setup'"):
        server.find_toxiproxy_server()
    monkeypatch.setenv("TOXIPROXY_SERVER", str(tmp_path / "nope"))
    with pytest.raises(LabError, match=r"TOXIPROXY_SERVER=.*nope is not an executable file"):
        server.find_toxiproxy_server()
