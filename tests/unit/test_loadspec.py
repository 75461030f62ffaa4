"""chaosrun.measure.loadspec: the load process's command line and its summary, field by field.

(test_schedule.py covers `short_reason` and the summary's verdict on short runs.)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from chaosrun.measure.loadspec import LoadSummary, load_command, read_summary, summarize
from chaosrun.measure.schedule import LoadPlan

PLAN = LoadPlan(
    rate=4.0, duration_s=2.0, endpoints=(("/a", 1.0), ("/b", 1.0)), seed=3, timeout_s=1.5
)  # 8 requests


def test_load_command_is_exact() -> None:
    plan = LoadPlan(rate=200, duration_s=2.5, endpoints=(("/api/play", 3), ("/b", 0.5)), seed=7)
    argv = load_command(
        plan,
        base_url="http://127.0.0.1:1",
        timeline=Path("run/t.csv"),
        summary=Path("run/s.json"),
        start_at=1796017541,
        python="py",
    )
    assert argv == [
        "py",
        "-m",
        "chaosrun.measure.load",
        "--base-url",
        "http://127.0.0.1:1",
        "--rate",
        "200.0",
        "--duration-s",
        "2.5",
        "--seed",
        "7",
        "--timeout-s",
        "2.0",
        "--timeline",
        "run/t.csv",
        "--summary",
        "run/s.json",
        "--endpoint",
        "/api/play:3",
        "--endpoint",
        "/b:0.5",
        "--start-at",
        "1796017541.0",
    ]
    default = load_command(PLAN, base_url="u", timeline=Path("t"), summary=Path("s"))
    assert default[0] == sys.executable
    assert "--start-at" not in default


def _full_summary(**changes: object) -> LoadSummary:
    fields: dict[str, object] = {
        "start": 1796017541.123456,
        "elapsed_s": 1.90000049,
        "stopped_by": "duration",
        "scheduled": 8,
        # sorted: 0.0004 0.25 0.5 0.75049 1.00049 2.0001 3.14159
        "lags_ms": [3.14159, 0.0004, 1.00049, 0.25, 0.5, 0.75049, 2.0001],
        "completed": 5,
        "ok": 4,
        "degraded": 1,
        "unfinished": 1,
        "errors": {"timeout": 1, "reset": 1},
        "statuses": {503: 1, 200: 4},
        "sent_by_endpoint": {"/a": 7},
        "reached": {"/b": 3},
        "timeline": "t.csv",
        "extra": {"seed": 3},
    }
    fields.update(changes)
    return summarize(PLAN, **fields)  # type: ignore[arg-type]


def test_summarize_fills_every_field() -> None:
    assert _full_summary() == LoadSummary(
        target_rate=4.0,
        duration_s=2.0,
        elapsed_s=1.9,  # 1.90000049 to 6 decimals
        stopped_by="duration",
        start=1796017541.123456,
        planned=8,
        scheduled=8,
        sent=7,
        completed=5,
        ok=4,
        degraded=1,
        unfinished=1,
        errors={"timeout": 1, "connect": 0, "reset": 1, "other": 0},
        statuses={"200": 4, "503": 1},
        sent_by_endpoint={"/a": 7, "/b": 0},
        reached={"/a": 0, "/b": 3},
        achieved_rate=3.684,  # 7 / 1.90000049 s = 3.68421 req/s, to 3 decimals
        p50_lag_ms=0.75,  # rank ceil(3.5) = 4: 0.75049, to 3 decimals
        p99_lag_ms=3.142,  # rank ceil(6.93) = 7: 3.14159
        max_lag_ms=3.142,
        short=True,  # 3.684 < 0.95 x 4 = 3.8
        short_reason="achieved 3.7 req/s < 95% of the 4 req/s target",
        timeline="t.csv",
        extra={"seed": 3},
    )


def test_a_run_stopped_at_its_start_covered_one_interval() -> None:
    # One request sent, no time elapsed: it covered 1 / 4 req/s = 0.25 s, so 4 req/s.
    summary = _full_summary(elapsed_s=0.0, lags_ms=[1.0])
    assert (summary.elapsed_s, summary.sent, summary.achieved_rate) == (0.0, 1, 4.0)
    assert (summary.p50_lag_ms, summary.p99_lag_ms, summary.max_lag_ms) == (1.0, 1.0, 1.0)
    assert (summary.short, summary.short_reason) == (False, None)


def _empty_summary() -> LoadSummary:
    return summarize(
        PLAN,
        start=0.0,
        elapsed_s=0.0,
        stopped_by="signal",
        scheduled=0,
        lags_ms=[],
        completed=0,
        ok=0,
        degraded=0,
        unfinished=0,
        errors={},
        statuses={},
        sent_by_endpoint={},
        reached={},
    )


def test_summary_of_nothing_sent() -> None:
    summary = _empty_summary()
    assert (summary.sent, summary.achieved_rate) == (0, 0.0)
    assert (summary.p50_lag_ms, summary.p99_lag_ms, summary.max_lag_ms) == (0.0, 0.0, 0.0)
    assert summary.short_reason == "achieved 0.0 req/s < 95% of the 4 req/s target"
    assert (summary.timeline, summary.extra) == ("", {})


EMPTY_JSON = """{
  "target_rate": 4.0,
  "duration_s": 2.0,
  "elapsed_s": 0.0,
  "stopped_by": "signal",
  "start": 0.0,
  "planned": 8,
  "scheduled": 0,
  "sent": 0,
  "completed": 0,
  "ok": 0,
  "degraded": 0,
  "unfinished": 0,
  "errors": {
    "timeout": 0,
    "connect": 0,
    "reset": 0,
    "other": 0
  },
  "statuses": {},
  "sent_by_endpoint": {
    "/a": 0,
    "/b": 0
  },
  "reached": {
    "/a": 0,
    "/b": 0
  },
  "achieved_rate": 0.0,
  "p50_lag_ms": 0.0,
  "p99_lag_ms": 0.0,
  "max_lag_ms": 0.0,
  "short": true,
  "short_reason": "achieved 0.0 req/s < 95% of the 4 req/s target",
  "timeline": "",
  "seed": 3
}
"""


def test_to_json_is_indented_in_field_order_with_extras_flattened_last() -> None:
    summary = _empty_summary()
    with_extra = LoadSummary.from_dict({**json.loads(summary.to_json()), "seed": 3})
    assert with_extra.extra == {"seed": 3}
    assert with_extra.to_json() == EMPTY_JSON


def test_from_dict_keeps_unknown_keys_as_extra_and_ignores_one_named_extra() -> None:
    data = json.loads(_full_summary().to_json())
    assert data["seed"] == 3 and "extra" not in data
    assert LoadSummary.from_dict(data) == _full_summary()
    data["extra"] = {"x": 1}  # not a summary field: the file still reads
    assert LoadSummary.from_dict(data) == _full_summary()


def test_read_summary(tmp_path: Path) -> None:
    path = tmp_path / "summary.json"
    assert read_summary(path) is None  # not written yet
    path.write_text(_full_summary().to_json(), encoding="utf-8")
    assert read_summary(path) == _full_summary()
    for unreadable in ["{", '{"target_rate": 4.0}', "null", "[]", '"text"', "7"]:
        path.write_text(unreadable, encoding="utf-8")
        assert read_summary(path) is None, unreadable
