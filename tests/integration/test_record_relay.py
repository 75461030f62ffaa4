"""The recording relay as a real process between a client and a real backend (127.0.0.1)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from chaosrun.lab.ports import free_ports, is_listening
from chaosrun.record.relay import Route, relay_argv

REPO = Path(__file__).resolve().parents[2]
BACKEND = REPO / "bench" / "external" / "backend.py"


def _start(argv: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10.0
    while not is_listening(port):
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.02)
    return proc


@pytest.fixture
def relayed(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    relay_port, backend_port = free_ports(2)
    out = tmp_path / "exchanges.jsonl"
    backend = _start(
        [
            sys.executable,
            str(BACKEND),
            "--name",
            "b",
            "--port",
            str(backend_port),
            "--latency-ms",
            "50",
        ],
        backend_port,
        tmp_path / "backend.log",
    )
    relay = _start(
        relay_argv([Route("b", relay_port, f"127.0.0.1:{backend_port}")], out),
        relay_port,
        tmp_path / "relay.log",
    )
    try:
        yield relay_port, out
    finally:
        for proc in (relay, backend):
            os.kill(proc.pid, signal.SIGTERM)
            assert proc.wait(timeout=5) == 0
    assert not is_listening(relay_port) and not is_listening(backend_port)


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines()]


def test_every_exchange_is_recorded_with_its_ids_on_a_kept_alive_connection(
    relayed: tuple[int, Path],
) -> None:
    port, out = relayed
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for attempt in (1, 2, 3):
        conn.request(
            "GET",
            f"/item/{attempt}",
            headers={"X-Chaosrun-Request": "r-7", "X-Chaosrun-Attempt": str(attempt)},
        )
        response = conn.getresponse()
        assert response.status == 200 and response.read()
    conn.close()
    time.sleep(0.2)
    records = _records(out)
    exchanges = [r for r in records if "path" in r]
    assert [(e["path"], e["request_id"], e["attempt"], e["status"]) for e in exchanges] == [
        ("/item/1", "r-7", 1, 200),
        ("/item/2", "r-7", 2, 200),
        ("/item/3", "r-7", 3, 200),
    ]
    assert {r["route"] for r in records} == {"b"}
    (connection,) = {e["connection"] for e in exchanges}  # one kept-alive connection
    for e in exchanges:
        assert 0.045 <= e["ended"] - e["started"] < 1.0  # the backend's 50 ms, seen from outside
    ends = [r for r in records if connection in (r.get("open"), r.get("close"))]
    assert [("open" in r, "close" in r) for r in ends] == [(True, False), (False, True)]


def test_concurrency_at_the_dependency_is_what_the_recording_shows(
    relayed: tuple[int, Path],
) -> None:
    port, out = relayed

    def one(i: int) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", f"/c/{i}")
        status = conn.getresponse().status
        conn.close()
        return status

    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(one, range(6))) == [200] * 6
    time.sleep(0.2)
    exchanges = [r for r in _records(out) if "path" in r]
    assert len(exchanges) == 6
    edges = sorted([(e["started"], 1) for e in exchanges] + [(e["ended"], -1) for e in exchanges])
    in_flight = peak = 0
    for _, step in edges:
        in_flight += step
        peak = max(peak, in_flight)
    assert peak == 6  # all six were at the backend at once (50 ms each)
