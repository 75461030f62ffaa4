"""Benchmarks of the open-loop load process (printed figures, not timed tests).

1. Max open-loop rate with the lab running: rate steps of 5 s against the gateway's /health and
   against a dependency through its Toxiproxy proxy; achieved rate, scheduler lag p50/p99/max, and
   the highest step that was not short (goal: >= 2000 req/s with lag p99 <= 5 ms).
2. Event loops: uvloop vs asyncio at 2500 req/s, alternating (CPU per request, lag p99).
3. Fidelity: at 200 req/s through a proxy, the median latency added by a 100 ms latency toxic
   (goal: 100 +- 3 ms); median of the differences over 5 trials.
4. Side by side with wrk (closed loop, -c1 and -c4) at the same throughput, same endpoint.

    .venv/bin/python bench/load.py [--quick]

Every section is bounded in time; the whole takes under ~3 minutes. One lab, stopped at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaosrun.faults import latency
from chaosrun.lab.lab import LabInfo, lab_down, lab_up, listening_ports
from chaosrun.measure.timeline import RequestRecord, read_timeline
from chaosrun.names import TOXIPROXY_URL_KEY

STEPS = (500, 1000, 2000, 3000, 4000)
STEP_S = 5.0
GOAL_RATE = 2000
GOAL_P99_LAG_MS = 5.0


@dataclass(frozen=True)
class LoadRun:
    summary: dict[str, Any]
    records: list[RequestRecord]
    cpu_s: float

    @property
    def median_latency_ms(self) -> float:
        ok = [r.latency_ms for r in self.records if r.ok]
        return statistics.median(ok) if ok else float("nan")


def run_load(
    workdir: Path,
    base_url: str,
    endpoint: str,
    rate: float,
    duration_s: float,
    loop: str = "auto",
) -> LoadRun:
    out = Path(tempfile.mkdtemp(dir=workdir))
    argv = [
        sys.executable,
        "-m",
        "chaosrun.measure.load",
        "--base-url",
        base_url,
        "--endpoint",
        endpoint,
        "--rate",
        str(rate),
        "--duration-s",
        str(duration_s),
        "--timeout-s",
        "2",
        "--loop",
        loop,
        "--timeline",
        str(out / "timeline.csv"),
        "--summary",
        str(out / "summary.json"),
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 30)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise RuntimeError(f"load process failed ({proc.returncode}): {proc.stderr.strip()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    summary = json.loads((out / "summary.json").read_text())
    records = read_timeline(out / "timeline.csv")
    shutil.rmtree(out, ignore_errors=True)
    return LoadRun(summary, records, cpu)


def _step_line(rate: float, run: LoadRun) -> str:
    s = run.summary
    flag = f"SHORT ({s['short_reason']})" if s["short"] else "ok"
    return (
        f"  {rate:>6g} req/s: achieved {s['achieved_rate']:>8.1f}  lag p50 {s['p50_lag_ms']:6.2f}"
        f"  p99 {s['p99_lag_ms']:7.2f}  max {s['max_lag_ms']:7.2f} ms  errors "
        f"{sum(s['errors'].values()):>4}  cpu {1000 * run.cpu_s / max(1, s['sent']):.3f} ms/req"
        f"  waited for a CPU {s.get('cpu_wait_ms') or 0:6.0f} ms  [{s['loop']}] {flag}"
    )


def bench_max_rate(
    workdir: Path, label: str, base_url: str, endpoint: str, steps: tuple[int, ...], loop: str
) -> int | None:
    print(f"\n{label}: {base_url}{endpoint}, {STEP_S:g} s per step, loop {loop}")
    best = None
    for rate in steps:
        run = run_load(workdir, base_url, endpoint, rate, STEP_S, loop)
        print(_step_line(rate, run), flush=True)
        if not run.summary["short"]:
            best = rate
    print(f"  highest step not short: {best if best is not None else 'none'} req/s")
    return best


def bench_loops(
    workdir: Path, base_url: str, endpoint: str, rate: int, trials: int
) -> dict[str, tuple[float, float]]:
    """{loop: (median CPU ms per request net of start-up, median lag p99 ms)}."""
    print(f"\nuvloop vs asyncio: {base_url}{endpoint} at {rate} req/s, 3 s runs, alternating")
    startup = {
        loop: statistics.median(
            run_load(workdir, base_url, endpoint, 100, 0.01, loop).cpu_s for _ in range(2)
        )
        for loop in ("asyncio", "uvloop")
    }
    cpu: dict[str, list[float]] = {"asyncio": [], "uvloop": []}
    lag: dict[str, list[float]] = {"asyncio": [], "uvloop": []}
    for _ in range(trials):
        for loop in ("asyncio", "uvloop"):
            run = run_load(workdir, base_url, endpoint, rate, 3.0, loop)
            print(_step_line(rate, run), flush=True)
            cpu[loop].append(1000 * (run.cpu_s - startup[loop]) / max(1, run.summary["sent"]))
            lag[loop].append(run.summary["p99_lag_ms"])
    result = {}
    for loop in ("asyncio", "uvloop"):
        result[loop] = (statistics.median(cpu[loop]), statistics.median(lag[loop]))
        print(
            f"  {loop:>7}: start-up {startup[loop]:.2f} s CPU; per request net of start-up: "
            f"{result[loop][0]:.3f} ms CPU (median); lag p99 median {result[loop][1]:.2f} ms"
        )
    return result


def bench_fidelity(workdir: Path, info: LabInfo, trials: int) -> float:
    catalog = next(p for p in info.proxies if p.name == "catalog")
    base_url, config = f"http://{catalog.listen}", {TOXIPROXY_URL_KEY: info.toxiproxy_url}
    print(f"\nfidelity: 200 req/s, 2 s runs, {base_url}/item, latency toxic 100 ms downstream")
    diffs = []
    for trial in range(trials):
        without = run_load(workdir, base_url, "/item", 200, 2.0)
        latency.inject(proxy="catalog", latency_ms=100, configuration=config)
        try:
            with_toxic = run_load(workdir, base_url, "/item", 200, 2.0)
        finally:
            latency.revert(proxy="catalog", configuration=config)
        diff = with_toxic.median_latency_ms - without.median_latency_ms
        diffs.append(diff)
        print(
            f"  trial {trial + 1}: median {without.median_latency_ms:7.2f} ms without, "
            f"{with_toxic.median_latency_ms:7.2f} ms with -> added {diff:7.2f} ms"
        )
    added = statistics.median(diffs)
    print(f"  added median (median of {trials}): {added:.2f} ms (goal 100 +- 3 ms)")
    return added


def _ensure_wrk() -> str | None:
    """Path of wrk, installing the Debian package when root; None with a printed reason."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        print("  skip: wrk is not installed and installing it needs root (apt-get install wrk)")
        return None
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}

    def apt(*args: str) -> None:
        subprocess.run(["apt-get", *args], capture_output=True, timeout=120, env=env, check=False)

    try:
        apt("install", "-y", "-q", "wrk")
        if not shutil.which("wrk"):  # stale package lists: refresh once, then retry
            apt("update", "-q")
            apt("install", "-y", "-q", "wrk")
    except subprocess.TimeoutExpired:
        print("  skip: apt-get timed out")
        return None
    found = shutil.which("wrk")
    if not found:
        print("  skip: apt-get could not install wrk")
    return found


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk duration {text!r}")
    return float(match.group(1)) * _UNITS_MS[match.group(2)]


def bench_wrk(workdir: Path, base_url: str, endpoint: str) -> list[dict[str, float]]:
    """wrk -t1 -cN for 5 s, then our open loop at the rate wrk reached, 5 s: both medians."""
    print(f"\nside by side with wrk: {base_url}{endpoint}, 5 s each")
    wrk = _ensure_wrk()
    if wrk is None:
        return []
    print(
        "  wrk is CLOSED loop: each connection sends its next request only after the previous"
        " answer, so it never offers more than N at once; chaosrun load is OPEN loop at the rate"
        " wrk reached"
    )
    rows: list[dict[str, float]] = []
    for connections in (1, 4):
        argv = [wrk, "-t1", f"-c{connections}", "-d5s", "--latency", base_url + endpoint]
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
        p50 = re.search(r"^\s*50%\s+(\S+)", proc.stdout, re.MULTILINE)
        rps = re.search(r"^Requests/sec:\s+([\d.]+)", proc.stdout, re.MULTILINE)
        if proc.returncode != 0 or not p50 or not rps:
            print(f"  skip: wrk failed: {proc.stderr.strip() or proc.stdout.strip()}")
            return rows
        wrk_rate, wrk_p50 = float(rps.group(1)), _wrk_ms(p50.group(1))
        ours = run_load(workdir, base_url, endpoint, round(wrk_rate), 5.0)
        s = ours.summary
        print(
            f"  wrk -t1 -c{connections}: {wrk_rate:7.0f} req/s, median {wrk_p50:7.3f} ms  |  "
            f"chaosrun at {round(wrk_rate)} req/s: achieved {s['achieved_rate']:7.0f}, median "
            f"{ours.median_latency_ms:7.3f} ms, lag p99 {s['p99_lag_ms']:.2f} ms"
            f"{'  SHORT' if s['short'] else ''}"
        )
        rows.append(
            {
                "connections": connections,
                "wrk_rate": wrk_rate,
                "wrk_p50_ms": wrk_p50,
                "ours_rate": s["achieved_rate"],
                "ours_p50_ms": ours.median_latency_ms,
            }
        )
    print(
        "  (at -c1, well below capacity, the medians should agree but for the open loop's own"
        " overhead; the nearer wrk's rate is to capacity, the more a steady stream at that rate"
        " queues, which a closed loop cannot see)"
    )
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer steps and trials")
    args = parser.parse_args()
    steps = (500, 2000) if args.quick else STEPS
    trials = 2 if args.quick else 5
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="chaosrun-bench-load-") as tmp:
        workdir = Path(tmp)
        info = lab_up(workdir / "lab")
        try:
            catalog = next(p for p in info.proxies if p.name == "catalog")
            dep_url = f"http://{catalog.listen}"
            print(f"lab up ({os.cpu_count()} CPUs); load process loop: auto")
            gw_best = bench_max_rate(
                workdir, "max rate, gateway", info.service_url, "/health", steps, "auto"
            )
            dep_best = bench_max_rate(
                workdir, "max rate, dependency via proxy", dep_url, "/health", steps, "auto"
            )
            loops = bench_loops(workdir, info.service_url, "/health", 2500, 2 if args.quick else 3)
            added = bench_fidelity(workdir, info, trials)
            side = bench_wrk(workdir, info.service_url, "/api/play")
        finally:
            left = lab_down(info)
            if left:  # a process may be reaped a moment before its sockets close: look again
                time.sleep(1.0)
                left = listening_ports(left)
    print("\nsummary")
    print(
        f"  max open-loop rate not short: gateway /health {gw_best} req/s, dependency via proxy"
        f" {dep_best} req/s (goal >= {GOAL_RATE} req/s, lag p99 <= {GOAL_P99_LAG_MS:g} ms)"
    )
    print(f"  fidelity: 100 ms toxic added {added:.2f} ms to the median (goal 100 +- 3 ms)")
    a, u = loops["asyncio"], loops["uvloop"]
    print(
        f"  uvloop vs asyncio at 2500 req/s: {u[0]:.3f} vs {a[0]:.3f} ms CPU per request "
        f"({100 * (1 - u[0] / a[0]):.0f}% less), lag p99 {u[1]:.2f} vs {a[1]:.2f} ms"
    )
    for row in side:
        print(
            f"  vs wrk on /api/play, -c{row['connections']:.0f}: wrk (closed) "
            f"{row['wrk_rate']:.0f} req/s median {row['wrk_p50_ms']:.3f} ms; chaosrun (open) "
            f"{row['ours_rate']:.0f} req/s median {row['ours_p50_ms']:.3f} ms"
        )
    if not side:
        print("  vs wrk: skipped")
    print(f"  lab ports left listening: {left or 'none'}; took {time.monotonic() - started:.0f} s")
    return 0 if not left else 1


if __name__ == "__main__":
    sys.exit(main())
