"""What the recording relay adds to a request's latency (issue 9's goal: <= 0.2 ms median).

    python bench/recorder.py [--requests 4000] [--rounds 5]

A real backend (bench/external/backend.py, no added latency) and the relay in front of it
(`python -m chaosrun.record.relay`), both on free ports of 127.0.0.1. One kept-alive client
sends GETs alternately in blocks of 200 directly and through the relay, so host noise falls on
both alike; per round the medians and p99 of each, and the difference. Prints a table and the
median over rounds of the added median latency.
"""

from __future__ import annotations

import argparse
import http.client
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from chaosrun.lab.ports import free_ports, is_listening  # noqa: E402
from chaosrun.record.relay import Route, relay_argv  # noqa: E402

BLOCK = 200


def _start(argv: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10.0
    while not is_listening(port):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{argv[1]} did not start; see {log}")
        time.sleep(0.02)
    return proc


def _timed(conn: http.client.HTTPConnection, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        conn.request("GET", "/bench")
        response = conn.getresponse()
        response.read()
        out.append((time.perf_counter() - start) * 1000.0)
    return out


def _round(direct_port: int, relay_port: int, requests: int) -> tuple[list[float], list[float]]:
    direct = http.client.HTTPConnection("127.0.0.1", direct_port, timeout=5)
    relayed = http.client.HTTPConnection("127.0.0.1", relay_port, timeout=5)
    a: list[float] = []
    b: list[float] = []
    _timed(direct, 50), _timed(relayed, 50)  # warm both connections up
    for _ in range(requests // BLOCK):
        a += _timed(direct, BLOCK)
        b += _timed(relayed, BLOCK)
    direct.close()
    relayed.close()
    return a, b


def _p99(values: list[float]) -> float:
    return sorted(values)[int(0.99 * (len(values) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="chaosrun-bench-recorder-"))
    relay_port, backend_port = free_ports(2)
    backend = _start(
        [
            sys.executable,
            str(REPO / "bench/external/backend.py"),
            "--name",
            "b",
            "--port",
            str(backend_port),
            "--latency-ms",
            "0",
        ],
        backend_port,
        work / "backend.log",
    )
    relay = _start(
        relay_argv([Route("b", relay_port, f"127.0.0.1:{backend_port}")], work / "exchanges.jsonl"),
        relay_port,
        work / "relay.log",
    )
    added: list[float] = []
    try:
        print(
            f"{'round':>5} {'direct p50':>11} {'relay p50':>10} {'added p50':>10} "
            f"{'direct p99':>11} {'relay p99':>10}"
        )
        for i in range(1, args.rounds + 1):
            a, b = _round(backend_port, relay_port, args.requests)
            d50, r50 = statistics.median(a), statistics.median(b)
            added.append(r50 - d50)
            print(
                f"{i:>5} {d50:>9.3f}ms {r50:>8.3f}ms {r50 - d50:>8.3f}ms "
                f"{_p99(a):>9.3f}ms {_p99(b):>8.3f}ms"
            )
    finally:
        for proc in (relay, backend):
            os.kill(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
    recorded = sum(
        1 for line in (work / "exchanges.jsonl").read_text().splitlines() if "path" in line
    )
    print(
        f"added median latency, median over {args.rounds} rounds: "
        f"{statistics.median(added):.3f} ms (goal <= 0.2 ms); {recorded} exchanges recorded"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
