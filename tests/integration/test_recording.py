"""The recording placed into a run (chaosrun.engine.recording) on a real Toxiproxy and backend:
upstreams moved to the relay and back, and after a dead supervisor, back by reconcile first and
the relay stopped second."""

from __future__ import annotations

import http.client
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaosrun.engine import undo
from chaosrun.engine.reconcile import reconcile_dead_runs
from chaosrun.engine.recording import end_recording, relay_owner, start_recording
from chaosrun.engine.rundir import RunRecord, new_run_dir, read_record, write_record
from chaosrun.lab.ports import free_ports, is_listening
from chaosrun.lab.procs import ProcessRef, owned_processes, process_start_time
from chaosrun.lab.toxiproxy import ToxiproxyClient
from chaosrun.record.read import read_recording

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
def target(tmp_path: Path) -> Iterator[tuple[ToxiproxyClient, int, str]]:
    """A Toxiproxy server with one proxy, "api", in front of a real backend."""
    api_port, listen, backend_port = free_ports(3)
    server = os.environ.get("TOXIPROXY_SERVER") or str(REPO / ".tools/bin/toxiproxy-server")
    procs = [
        _start(
            [sys.executable, str(BACKEND), "--name", "api", "--port", str(backend_port)],
            backend_port,
            tmp_path / "backend.log",
        ),
        _start(
            [server, "-host", "127.0.0.1", "-port", str(api_port)],
            api_port,
            tmp_path / "toxiproxy.log",
        ),
    ]
    client = ToxiproxyClient(f"http://127.0.0.1:{api_port}")
    upstream = f"127.0.0.1:{backend_port}"
    client.create_proxy("api", f"127.0.0.1:{listen}", upstream)
    try:
        yield client, listen, upstream
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=5)


def _get(port: int, path: str, request_id: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    conn.request("GET", path, headers={"X-Chaosrun-Request": request_id})
    status = conn.getresponse().status
    conn.close()
    return status


def _run_dir(home: Path) -> Path:
    _, run_dir = new_run_dir(home)
    return run_dir


def test_a_recording_moves_every_upstream_records_and_moves_it_back(
    target: tuple[ToxiproxyClient, int, str], tmp_path: Path
) -> None:
    client, listen, upstream = target
    run_dir = _run_dir(tmp_path / "home")
    recording = start_recording(client.url, run_dir)
    assert recording is not None
    (route,) = recording.routes
    assert (route.name, route.upstream) == ("api", upstream)
    assert client.proxy("api").upstream == f"127.0.0.1:{route.port}"
    assert [_get(listen, f"/item/{i}", f"r-{i}") for i in range(3)] == [200] * 3
    assert end_recording(recording) == []
    assert client.proxy("api").upstream == upstream
    assert recording.proc.returncode == 0
    assert end_recording(recording) == []  # idempotent
    with open(recording.path) as lines:
        arrivals = read_recording(lines)["api"].arrivals
    assert [(a.path, a.request_id) for a in arrivals] == [
        (f"/item/{i}", f"r-{i}") for i in range(3)
    ]
    assert undo.pending_entries(run_dir / "undo.log") == []


def test_after_a_dead_supervisor_the_upstream_comes_back_before_the_relay_stops(
    target: tuple[ToxiproxyClient, int, str], tmp_path: Path
) -> None:
    client, listen, upstream = target
    home = tmp_path / "home"
    run_dir = _run_dir(home)
    recording = start_recording(client.url, run_dir)
    assert recording is not None
    gone = subprocess.Popen(["true"])
    started = process_start_time(gone.pid)
    gone.wait()
    dead = ProcessRef("supervisor", gone.pid, started)
    write_record(run_dir, RunRecord(run_dir.name, "x.yaml", "running", dead, relay=recording.ref))
    assert [_get(listen, "/during", "r-1")] == [200]  # the relay carries the traffic
    assert owned_processes(relay_owner(run_dir)) != []
    (result,) = reconcile_dead_runs(home, by="the test")
    assert result.pending == 0
    assert client.proxy("api").upstream == upstream
    assert recording.proc.wait(timeout=5) is not None
    assert owned_processes(relay_owner(run_dir)) == []
    assert _get(listen, "/after", "r-2") == 200  # straight to the backend again
    record = read_record(run_dir)
    assert record is not None and record.state == "reconciled"
