"""Suite parallelism: N experiments with --parallel N against the same N serially.

Prints, per mode: the suite's wall time, each experiment's own duration, the CPU the machine
spent (busy jiffies of /proc/stat over the suite: every process, labs included), and whether
every run's measurement stayed trusted (the load process reached its rate; its worst scheduler
lag). The figure of merit is parallel wall time over the longest single experiment (measured
in the serial suite, so it ran alone): 1.0 means the suite took no longer than its longest
member (goal <= 1.25).

    python bench/suite.py [--repeat N] [EXPERIMENT ...]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from chaosrun.suite.hostcpu import busy_share, cpu_ticks

REPO = Path(__file__).resolve().parents[1]
DEFAULT = (
    "experiments/latency-injection.yaml",
    "experiments/circuit-breaker.yaml",
    "experiments/timeouts.yaml",
    "experiments/bulkhead.yaml",
)


def _suite(files: list[str], parallel: int, home: Path) -> dict[str, Any]:
    before = cpu_ticks()
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "chaosrun", "suite", *files, "--parallel", str(parallel), "--json"],
        env={**os.environ, "CHAOSRUN_HOME": str(home)},
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    wall = time.perf_counter() - start
    after = cpu_ticks()
    document = json.loads(done.stdout)
    runs = []
    for result in document["results"]:
        journal = json.loads((Path(result["run_dir"]) / "journal.json").read_text())
        load = journal["chaosrun"].get("load") or {}
        runs.append(
            {
                "file": Path(result["file"]).name,
                "state": result["state"],
                "duration_s": result["duration_s"],
                "trusted": journal["chaosrun"].get("measurement_trusted"),
                "achieved_rate": load.get("achieved_rate"),
                "target_rate": load.get("target_rate"),
                "max_lag_ms": load.get("max_lag_ms"),
                "reason": result["reason"],
                "first": (result.get("first_attempt") or {}).get("state"),
                "alongside": result.get("alongside"),
                "host_cpu_busy": result.get("host_cpu_busy"),
            }
        )
    share = busy_share(before, after) or 0.0
    return {
        "wall_s": wall,
        "exit_code": done.returncode,
        "cpu_s": share * wall * (os.cpu_count() or 1),
        "cores": os.cpu_count() or 1,
        "runs": runs,
    }


def _print(mode: str, figures: dict[str, Any]) -> None:
    cpu = figures["cpu_s"]
    share = cpu / (figures["wall_s"] * figures["cores"])
    print(
        f"{mode}: wall {figures['wall_s']:.1f} s, exit {figures['exit_code']}, CPU {cpu:.1f} s "
        f"({share:.0%} of {figures['cores']} cores)"
    )
    for run in figures["runs"]:
        print(
            f"  {run['file']:<28} {run['state']:<8} {run['duration_s']:6.1f} s  trusted "
            f"{run['trusted']}  rate {run['achieved_rate']}/{run['target_rate']}  "
            f"max lag {run['max_lag_ms']} ms"
        )
        if run["first"] is not None:
            print(f"    run again alone after a first run {run['first']} beside others")
        if run["state"] != "passed" or run["first"] is not None:
            print(f"    {run['reason'][:300]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", default=list(DEFAULT))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--also",
        type=int,
        action="append",
        default=[],
        metavar="N",
        help="also run with --parallel N (e.g. the number of cores), for comparison",
    )
    args = parser.parse_args()
    ratios, serial_walls, parallel_walls = [], [], []
    trusted_all = True
    with tempfile.TemporaryDirectory(prefix="chaosrun-bench-suite-") as tmp:
        for n in range(args.repeat):
            serial = _suite(args.files, 1, Path(tmp) / f"serial-{n}")
            parallel = _suite(args.files, len(args.files), Path(tmp) / f"parallel-{n}")
            _print(f"serial #{n + 1}", serial)
            _print(f"--parallel {len(args.files)} #{n + 1}", parallel)
            for width in args.also:
                other = _suite(args.files, width, Path(tmp) / f"parallel{width}-{n}")
                _print(f"--parallel {width} #{n + 1}", other)
                longest_serial = max(r["duration_s"] for r in serial["runs"])
                print(f"  wall / longest single: {other['wall_s'] / longest_serial:.2f}")
            longest = max(r["duration_s"] for r in serial["runs"])
            ratios.append(parallel["wall_s"] / longest)
            serial_walls.append(serial["wall_s"])
            parallel_walls.append(parallel["wall_s"])
            trusted_all &= all(r["trusted"] for r in parallel["runs"])
    print(
        f"median over {args.repeat}: serial {statistics.median(serial_walls):.1f} s, "
        f"parallel {statistics.median(parallel_walls):.1f} s, parallel / longest single "
        f"{statistics.median(ratios):.2f} (goal <= 1.25); every parallel measurement trusted: "
        f"{trusted_all}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
