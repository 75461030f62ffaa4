"""The open-loop load process against the real lab: bounded traffic to 127.0.0.1 only."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chaosrun.faults import latency, proxy_down
from chaosrun.lab.lab import LabInfo, ProxyInfo, lab_down, lab_up
from chaosrun.measure.loadspec import SHORT_P99_LAG_MS, SHORT_RATE_FRACTION
from chaosrun.measure.timeline import HEADER, RequestRecord, read_timeline

pytestmark = pytest.mark.timeout(90)

LAG_ATTEMPTS = 3


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabInfo]:
    info = lab_up(tmp_path_factory.mktemp("lab"))
    try:
        yield info
    finally:
        assert lab_down(info) == []


def _proxy(info: LabInfo, name: str) -> ProxyInfo:
    return next(p for p in info.proxies if p.name == name)


def _config(info: LabInfo) -> dict[str, Any]:
    return {"chaosrun_toxiproxy_url": info.toxiproxy_url}


def _argv(base_url: str, out: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "chaosrun.measure.load",
        "--base-url",
        base_url,
        "--timeline",
        str(out / "timeline.csv"),
        "--summary",
        str(out / "summary.json"),
        *extra,
    ]


def _run(base_url: str, out: Path, *extra: str, timeout_s: float = 30.0) -> dict[str, Any]:
    proc = subprocess.run(
        _argv(base_url, out, *extra),
        capture_output=True,
        text=True,
        timeout=timeout_s,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    summary: dict[str, Any] = json.loads((out / "summary.json").read_text())
    return summary


def _records(out: Path) -> list[RequestRecord]:
    return read_timeline(out / "timeline.csv")


def _has_uvloop() -> bool:
    return importlib.util.find_spec("uvloop") is not None


@pytest.mark.parametrize(
    "loop",
    [
        "asyncio",
        pytest.param(
            "uvloop", marks=pytest.mark.skipif(not _has_uvloop(), reason="uvloop not installed")
        ),
    ],
)
def test_steady_rate_every_request_recorded_and_ok(lab: LabInfo, tmp_path: Path, loop: str) -> None:
    """200 req/s for 2 s: every request recorded, the rate kept, the summary not short.

    The lag half of "short" (p99 > 25 ms) measures the box as much as the process: on a small box
    busy with other workers and labs, the scheduler can wait for a CPU for tens of ms (even at
    niceness -5). So a run short on lag is tried again, up to 3 times; if every one is short, each
    must be explained by starvation: the process waited for a CPU (`cpu_wait_ms`) at least as long
    as its p99 lag. Short on rate, or on lag without starvation, is a bug.
    """
    attempts = []
    for attempt in range(LAG_ATTEMPTS):
        out = tmp_path / f"attempt-{attempt}"
        summary = _run(
            lab.service_url,
            out,
            *("--rate", "200", "--duration-s", "2", "--endpoint", "/api/play", "--seed", "7"),
            *("--loop", loop),
        )
        assert summary["achieved_rate"] == pytest.approx(200.0, rel=0.05)
        if not summary["short"]:
            break
        attempts.append(summary)
    else:
        for short in attempts:
            assert short["short_reason"].startswith("scheduler lag p99"), short
            if short["cpu_wait_ms"] is not None:  # Linux schedstat: tell starvation from a bug
                assert short["cpu_wait_ms"] >= short["p99_lag_ms"], short
    assert summary["loop"] == loop
    if os.geteuid() == 0:  # the process asks for niceness -5 by default, granted to root
        assert summary["nice"] == -5
    records = _records(out)
    assert abs(len(records) - 400) <= 2
    assert all(r.ok and r.status == 200 and r.endpoint == "/api/play" for r in records)
    assert summary["sent"] == summary["completed"] == summary["ok"] == len(records)
    assert (summary["short_reason"] is None) is (summary["short"] is False)
    assert summary["reached"] == {"/api/play": len(records)}
    assert summary["errors"] == {"timeout": 0, "connect": 0, "reset": 0, "other": 0}
    text = (out / "timeline.csv").read_text()
    assert text.startswith(HEADER + "\n") and text.endswith("\n")
    # Never sent early; latency is measured from the scheduled time, which comes before the send.
    assert all(r.sent >= r.scheduled and r.latency_ms >= r.lag_ms for r in records)


def test_no_coordinated_omission_behind_a_slow_dependency(lab: LabInfo, tmp_path: Path) -> None:
    """A 200 ms stall on every response: the scheduler keeps sending on time regardless."""
    catalog = _proxy(lab, "catalog")
    latency.inject(proxy="catalog", latency_ms=200, configuration=_config(lab))
    try:
        summary = _run(
            f"http://{catalog.listen}",
            tmp_path,
            *("--rate", "100", "--duration-s", "2", "--endpoint", "/item", "--timeout-s", "2"),
        )
    finally:
        latency.revert(proxy="catalog", configuration=_config(lab))
    records = _records(tmp_path)
    assert len(records) == 200 == summary["sent"]
    assert all(r.ok for r in records)
    assert min(r.latency_ms for r in records) >= 200.0
    # Evenly spaced at 1/rate: the schedule did not wait for a single response.
    gaps = [b.scheduled - a.scheduled for a, b in itertools.pairwise(records)]
    assert all(abs(g - 0.01) < 1e-5 for g in gaps), (min(gaps), max(gaps))
    # ... and the sends kept to it (the median: a busy box may stall a few), ~20 in flight.
    assert summary["p50_lag_ms"] < 5.0
    in_flight = sum(1 for r in records if r.scheduled <= records[100].sent < r.completed)
    assert in_flight >= 15


def test_fallback_answers_are_recorded_as_degraded(lab: LabInfo, tmp_path: Path) -> None:
    proxy_down.inject(proxy="auth", configuration=_config(lab))
    try:
        summary = _run(
            lab.service_url,
            tmp_path,
            *("--rate", "50", "--duration-s", "1", "--endpoint", "/api/profile"),
        )
    finally:
        proxy_down.revert(proxy="auth", configuration=_config(lab))
    records = _records(tmp_path)
    assert len(records) == 50
    assert all(r.ok and r.degraded for r in records)
    assert summary["degraded"] == 50


def test_sigterm_stops_at_once_and_leaves_complete_records(lab: LabInfo, tmp_path: Path) -> None:
    """Every response stalls for 5 s: SIGTERM cuts those in flight at timeout_s, and exits 0."""
    recommendations = _proxy(lab, "recommendations")
    latency.inject(proxy="recommendations", latency_ms=5000, configuration=_config(lab))
    timeout_s = 1.0
    try:
        proc = subprocess.Popen(
            _argv(
                f"http://{recommendations.listen}",
                tmp_path,
                *("--rate", "100", "--duration-s", "30", "--timeout-s", str(timeout_s)),
                *("--endpoint", "/slow"),
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            timeline = tmp_path / "timeline.csv"
            deadline = time.monotonic() + 15
            while len(read_timeline(timeline)) < 50:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, "no records within 15 s"
                time.sleep(0.05)
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            _, stderr = proc.communicate(timeout=timeout_s + 5)
            took = time.monotonic() - signalled
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        latency.revert(proxy="recommendations", configuration=_config(lab))
    assert proc.returncode == 0, stderr
    assert took <= timeout_s + 1.0
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["stopped_by"] == "signal"
    assert summary["elapsed_s"] < 15
    text = timeline.read_text()
    assert text.endswith("\n")
    records = _records(tmp_path)
    assert len(text.splitlines()) == 1 + len(records) == 1 + summary["sent"]
    # Nothing answered: every request sent, including those in flight at the signal, timed out.
    assert summary["errors"]["timeout"] == summary["sent"] >= 100
    assert summary["completed"] == 0
    # uvloop's millisecond timers may fire the client timeout a fraction of a millisecond early.
    bad = [r for r in records if r.error != "timeout" or r.latency_ms < 1000 * timeout_s - 2]
    assert not bad, bad[:5]
    assert summary["scheduled"] - summary["sent"] <= 1


def test_a_rate_beyond_the_box_is_flagged_short(lab: LabInfo, tmp_path: Path) -> None:
    """20000 req/s is beyond any 2-core box running the lab too: the run must say it fell short.

    Whatever the box, the verdict must agree with the figures the summary prints.
    """
    summary = _run(
        lab.service_url,
        tmp_path,
        *("--rate", "20000", "--duration-s", "1", "--endpoint", "/health", "--timeout-s", "2"),
    )
    computed = (
        summary["achieved_rate"] < SHORT_RATE_FRACTION * summary["target_rate"]
        or summary["p99_lag_ms"] > SHORT_P99_LAG_MS
    )
    assert summary["short"] is computed
    assert (summary["short_reason"] is not None) is computed
    if (os.cpu_count() or 1) <= 8:
        assert summary["short"] is True, summary
    assert len(_records(tmp_path)) == summary["sent"] <= summary["scheduled"] == 20000


def test_start_at_puts_the_first_slot_at_that_wall_clock_time(lab: LabInfo, tmp_path: Path) -> None:
    start_at = round(time.time() + 1.5, 3)
    summary = _run(
        lab.service_url,
        tmp_path,
        *("--rate", "100", "--duration-s", "0.5", "--endpoint", "/health"),
        *("--start-at", str(start_at)),
    )
    records = _records(tmp_path)
    assert len(records) == 50
    assert records[0].scheduled == pytest.approx(start_at, abs=1e-5)
    assert summary["start"] == pytest.approx(start_at, abs=1e-5)
    assert records[0].sent >= start_at


def test_a_start_at_already_past_keeps_the_schedule_and_shows_the_lag(
    lab: LabInfo, tmp_path: Path
) -> None:
    start_at = round(time.time() - 0.3, 3)
    summary = _run(
        lab.service_url,
        tmp_path,
        *("--rate", "100", "--duration-s", "3", "--endpoint", "/health"),
        *("--start-at", str(start_at)),
    )
    records = _records(tmp_path)
    assert len(records) == 300 == summary["sent"]
    assert records[0].scheduled == pytest.approx(start_at, abs=1e-5)
    assert records[0].lag_ms >= 300.0
    assert summary["max_lag_ms"] >= 300.0


BAD_ARGS = {
    "zero-rate": (
        ["--rate", "0", "--duration-s", "1", "--endpoint", "/health"],
        "rate must be a finite number of req/s > 0, got 0.0",
    ),
    "no-endpoint": (
        ["--rate", "1", "--duration-s", "1"],
        "the following arguments are required: --endpoint",
    ),
    "bad-weight": (
        ["--rate", "1", "--duration-s", "1", "--endpoint", "/a:x"],
        "argument --endpoint: expected PATH[:WEIGHT], got '/a:x'",
    ),
}


@pytest.mark.parametrize("name", sorted(BAD_ARGS))
def test_bad_arguments_exit_2_with_one_line(name: str, tmp_path: Path) -> None:
    args, message = BAD_ARGS[name]
    proc = subprocess.run(
        _argv("http://127.0.0.1:9", tmp_path, *args), capture_output=True, text=True, timeout=20
    )
    assert proc.returncode == 2
    assert proc.stderr == f"python -m chaosrun.measure.load: error: {message}\n"
    assert not (tmp_path / "summary.json").exists()


def test_bad_base_url_exits_2(tmp_path: Path) -> None:
    proc = subprocess.run(
        _argv("ftp://x", tmp_path, "--rate", "1", "--duration-s", "1", "--endpoint", "/"),
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "--base-url must be http://HOST:PORT" in proc.stderr


def test_refused_connections_are_recorded_as_connect_errors(tmp_path: Path) -> None:
    from chaosrun.lab.ports import free_ports

    (port,) = free_ports(1)  # nothing listens there
    summary = _run(
        f"http://127.0.0.1:{port}",
        tmp_path,
        *("--rate", "50", "--duration-s", "0.5", "--endpoint", "/x"),
    )
    assert summary["errors"]["connect"] == summary["sent"] == 25
    assert all(r.error == "connect" and r.status == 0 for r in _records(tmp_path))
